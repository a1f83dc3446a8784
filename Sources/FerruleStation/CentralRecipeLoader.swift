import FerruleConfig
import FerruleCore
import FerruleProtocol
import FerruleRecords
import Foundation
import Logging

/// Takes the line's recipes (`centralRecipes`) into a config read from its file, at a start and at
/// each reload: each part number's newest approved revision from the line database, cached in
/// the data directory, so that a station whose database is down keeps testing with the
/// revisions it took last, and says so in status.
public enum CentralRecipeLoader {
    static let cacheName = "recipes.central.json"

    /// `config` with the line's recipes over its own, and what status says of them (nil: no
    /// `centralRecipes` in the config). Never throws: a database that cannot be read is a
    /// problem shown in status, not a station that does not start.
    public static func take(
        _ config: StationConfig, data: DataDirectory, logger: Logger, now: Date = Date()
    ) async -> (StationConfig, StationStatus.CentralRecipes?) {
        guard let spec = config.centralRecipes else { return (config, nil) }
        let source = URLComponents(string: spec.url).map { "\($0.host ?? "?"):\($0.port ?? 5432)\($0.path)" } ?? "?"
        var state = StationStatus.CentralRecipes(source: source, fetchedAt: nil, fromCache: false, problems: [], revisions: [:])
        let cache = (data.root as NSString).appendingPathComponent(cacheName)
        let rows: [CentralRecipeRow]
        do {
            let password = try spec.passwordFile.map {
                try String(contentsOfFile: $0, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            rows = try await CentralRecipes.fetch(
                url: spec.url, password: password, requireTLS: spec.requireTLS,
                timeout: .milliseconds(Int64(spec.timeoutSeconds * 1000)), logger: logger)
            state.fetchedAt = now
            do {
                try AtomicFile.makeDirectory(data.root)
                try CentralRecipes.saveCache(rows, at: cache)
            } catch {
                logger.error("central recipes: cannot cache them in \(cache): \(error); a start without the database will lack them")
            }
        } catch {
            let why = "the line database \(source) was not read: \(error)"
            let fix = "Fix: bring the database back, then reload"
            if let cached = try? CentralRecipes.loadCache(at: cache) {
                rows = cached
                state.fromCache = true
                state.problems.append("\(why); testing with the revisions cached at the last read. \(fix)")
            } else {
                rows = []
                state.problems.append("\(why); nothing is cached yet, so only the YAML's recipes apply. \(fix)")
            }
        }
        let (taken, refused) = config.taking(central: rows)
        state.problems += refused.map { "this station cannot take \($0)" }
        state.revisions = taken.recipes.compactMapValues { $0.revision?.number }
        for p in state.problems { logger.error("central recipes: \(p)") }
        logger.info("central recipes from \(source): \(state.revisions.sorted { $0.key < $1.key }.map { "\($0.key) r\($0.value)" })")
        return (taken, state)
    }
}

extension Station {
    /// What status says of the line's recipes (set by the composition root at the start).
    public func setCentralRecipes(_ state: StationStatus.CentralRecipes?) { centralRecipes = state }
}
