import FerruleProtocol
import FerruleRecords
import Foundation
import Logging
import ServiceLifecycle

/// The full integrity check of the store, after a start that looked only at what it needs
/// (`Store.quickLook`): SQLite's `quick_check` over every page, at low priority while the
/// station tests. Damage found deep in an old page is said in status (`storage.integrity`), the
/// log and a `storageProblem` event, with the fix; the station keeps testing, since the pages it
/// writes now are sound, and the store is rebuilt from the reports at the next stop.
public struct StoreCheckService: Service {
    let records: RecordKeeper

    public func run() async {
        await cancelWhenGracefulShutdown {
            do { try await Task.sleep(for: await records.integrityCheckAfter) } catch { return }
            await records.integrityCheckBegins()
            guard let health = await Store.checkInBackground(path: records.store.path) else { return }  // shut down meanwhile
            await records.integrityChecked(health)
            // Done: stay until shutdown, as the other services do (one that returns ends the group).
            try? await gracefulShutdown()
        }
    }
}

extension RecordKeeper {
    /// When the background check starts after a start (the composition root's choice; tests: at once).
    func checkStoreAfter(_ delay: Duration) { integrityCheckAfter = delay }

    func integrityCheckBegins() {
        integrity = .init(state: .running, at: now())
        logger.info("checking every page of the results store in the background (quick_check)")
    }

    func integrityChecked(_ health: StoreHealth) async {
        switch health.state {
        case .ok, .absent:
            integrity = .init(state: .ok, at: now())
            logger.info("results store checked: \(health.description)")
        case .damaged(let why):
            let fix = "the station keeps testing into the store's sound pages; at the end of the shift stop it and run "
                + "'ferruled store recover --data-dir \(data.root)', which moves the damaged file aside and rebuilds every unit "
                + "from its report"
            let detail = "the results store \(store.path) is damaged in an old page (\(why)). Fix: \(fix)"
            integrity = .init(state: .damaged, at: now(), detail: detail)
            logger.critical("\(detail)")
            await events.publish(.storageProblem(detail: detail))
        }
    }
}
