import FerruleCore
import FerruleRecords
import Foundation
import Logging
import ServiceLifecycle

/// Keeps the station's disk from filling over the years (`station.retention`): once a period it
/// moves units past `storeDays` that every sink has into their month's archive file (or drops
/// them) and removes report files past `reportFilesDays` whose unit has left the store. A unit
/// some sink has not acknowledged stays, whatever its age, and so do its files.
public struct RetentionService: Service {
    let policy: RetentionPolicy
    let records: RecordKeeper
    let sinks: [String]
    let lineSinks: [String]
    let logger: Logger
    let now: @Sendable () -> Date

    public func run() async {
        await cancelWhenGracefulShutdown {
            // At start (a station that was off for a month catches up at once), then each period.
            while !Task.isCancelled {
                await once()
                do { try await Task.sleep(for: policy.every) } catch { return }
            }
        }
    }

    /// One pass: units, line messages, then files. A failure is logged and tried at the next period.
    func once() async {
        let store = records.store
        let day = 86_400.0
        if let storeDays = policy.storeDays {
            await retireUnits(olderThan: storeDays, store: store)
        }
        guard let days = policy.reportFilesDays else { return }
        do {
            let removed = try await removeReportFiles(olderThan: now() - days * day, store: store)
            if removed > 0 {
                logger.notice("retention: \(removed) report file(s) older than \(days) days removed from \(records.data.reports)")
            }
        } catch {
            logger.error("retention: cannot remove old report files: \(error)")
        }
    }

    private func retireUnits(olderThan storeDays: Double, store: Store) async {
        do {
            let pass = try await store.retire(
                before: now() - storeDays * 86_400, sinks: sinks, lineSinks: lineSinks, archive: policy.archive)
            if pass.retired > 0 {
                let whereTo = pass.archived ? "archived in \(pass.months.sorted().joined(separator: ", "))" : "dropped (archive: false)"
                let kept = "\(pass.kept) older unit(s) kept, owed to a sink or still without their files"
                logger.notice("retention: \(pass.retired) unit(s) older than \(storeDays) days \(whereTo); \(kept)")
            }
            if pass.lineMessagesPruned > 0 { logger.info("retention: \(pass.lineMessagesPruned) delivered line message(s) pruned") }
            await records.retentionDone(pass)
        } catch {
            logger.error("retention: \(error); the store keeps its units and retention tries again in \(policy.every)")
        }
    }

    /// Removes `<stem>.json` / `<stem>.html` files last written before `cutoff` whose unit has
    /// left the store (the stem ends with the report id). Files of another name are left alone.
    func removeReportFiles(olderThan cutoff: Date, store: Store) async throws -> Int {
        let folder = records.data.reports
        let fm = FileManager.default
        var old: [UUID: [String]] = [:]
        for name in (try? fm.contentsOfDirectory(atPath: folder)) ?? [] where name.hasSuffix(".json") || name.hasSuffix(".html") {
            let path = folder + "/" + name
            guard let id = UUID(uuidString: String(name.dropLast(5).suffix(36))),
                let written = try? fm.attributesOfItem(atPath: path)[.modificationDate] as? Date, written < cutoff
            else { continue }
            old[id, default: []].append(path)
        }
        guard !old.isEmpty else { return 0 }
        let stored = try await store.stillStored(Array(old.keys))
        var removed = 0
        for (id, paths) in old where !stored.contains(id) {
            for path in paths where (try? fm.removeItem(atPath: path)) != nil { removed += 1 }
        }
        return removed
    }
}

extension RecordKeeper {
    /// The last retention pass, for status.
    func retentionDone(_ pass: RetentionPass) {
        lastRetention = .init(at: now(), retired: pass.retired, archived: pass.archived, kept: pass.kept)
    }
}
