import FerruleConfig
import FerruleCore
import Foundation

/// What a reloaded config changes against the running one: what applies to each fixture's next
/// unit, and what only a restart can apply (instruments, fixtures, sinks, the socket, the data
/// directory, the simulated bench). A reload that changes any of the latter is refused whole, so
/// the station never says it runs a config it does not.
struct ConfigChanges: Sendable {
    var applied: [String] = []
    var needRestart: [String] = []

    init(from old: StationConfig, to new: StationConfig) {
        func check<T: Equatable>(_ name: String, _ a: T, _ b: T, restart: Bool) {
            guard a != b else { return }
            if restart { needRestart.append(name) } else { applied.append(name) }
        }
        check("instruments", old.instruments, new.instruments, restart: true)
        check("fixtures", old.fixtures, new.fixtures, restart: true)
        check("sinks", old.sinks, new.sinks, restart: true)
        check("station.dataDir", old.dataDir, new.dataDir, restart: true)
        check("station.spillFile", old.spillFile, new.spillFile, restart: true)
        check("control.socket", old.control.socket, new.control.socket, restart: true)
        check("control.group", old.control.group, new.control.group, restart: true)
        check("control.idleTimeout", old.control.idleTimeoutSeconds, new.control.idleTimeoutSeconds, restart: true)
        check("simulation.bench", old.simulation?.bench, new.simulation?.bench, restart: true)
        check("station.certificateTemplate", old.certificate.text, new.certificate.text, restart: true)
        check("http", old.http, new.http, restart: true)
        check("mes.routeCheck", old.routeCheck, new.routeCheck, restart: true)
        check("station.retention", old.retention, new.retention, restart: true)
        check("station.id", old.stationId, new.stationId, restart: false)
        check("station.calibration", old.calibration, new.calibration, restart: false)
        // The web app looks users up on every request: a removed user is signed out at once.
        check("users", old.users, new.users, restart: false)
        check("referenceCords", old.referenceCords, new.referenceCords, restart: false)
        check("rules", old.rules, new.rules, restart: false)
        check("centralRecipes", old.centralRecipes, new.centralRecipes, restart: false)
        check("control.promptTimeout", old.control.promptTimeoutSeconds, new.control.promptTimeoutSeconds, restart: false)
        let names = Set(old.recipes.keys).union(new.recipes.keys).sorted()
        for name in names where old.recipes[name] != new.recipes[name] {
            let what = old.recipes[name] == nil ? "added" : (new.recipes[name] == nil ? "removed" : "changed")
            applied.append("recipe \(name) \(what)")
        }
    }
}

extension Station {
    /// Takes a new config for each fixture's next unit (running units finish on the old one).
    /// Returns what changed; refuses, keeping the running config, if something needs a restart.
    @discardableResult
    public func reload(_ new: StationConfig) async throws(UnitRefused) -> [String] {
        let changes = ConfigChanges(from: active, to: new)
        guard changes.needRestart.isEmpty else {
            throw UnitRefused(
                message: "\(new.sourcePath): \(changes.needRestart.joined(separator: ", ")) changed, which only a restart "
                    + "applies; the running config is kept and nothing was applied",
                fix: "restart ferruled (systemctl restart ferruled) to apply them, or undo them and reload again")
        }
        await referenceKeeper.use(referenceCords: new.referenceCords)
        active = new
        logger.info("config reloaded", metadata: ["hash": "\(new.hash)", "applied": "\(changes.applied.joined(separator: "; "))"])
        return changes.applied
    }
}

/// What a reload from the config file did: what it applied, or why the running config was kept.
public enum ReloadOutcome: Sendable {
    case applied([String])
    case refused(String)
}

extension Station {
    /// Reads the config file again and applies it (SIGHUP, and an engineer on the web app), telling
    /// every client either way.
    public func reload(fromFile path: String) async -> ReloadOutcome {
        do {
            let (new, central) = await CentralRecipeLoader.take(try StationConfig.load(path: path), data: data, logger: logger)
            let applied = try await reload(new)
            centralRecipes = central
            await events.publish(.configReloaded(path: path, hash: new.hash, applied: applied))
            return .applied(applied)
        } catch {
            logger.error("config reload refused, keeping the running config: \(error)")
            await events.publish(.configRejected(path: path, reason: "\(error)"))
            return .refused("\(error)")
        }
    }
}
