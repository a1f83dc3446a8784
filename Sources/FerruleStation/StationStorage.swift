import FerruleRecords
import Foundation
import Logging

/// Where a station keeps what it must not lose, opened by the composition root (FerruleSetup)
/// before the engine is built, so the engine is handed a checked store rather than opening one:
/// the data directory held for this station alone, the store verified and open, the spill file
/// reserved for a disk that fills.
public struct StationStorage: Sendable {
    public let data: DataDirectory
    let lock: ExclusiveLock
    let store: Store
    let spill: SpillFile
    /// How long after the start the full integrity check begins in the background.
    public var integrityCheckAfter: Duration = .seconds(30)

    /// Claims `data` (one station per data directory, before anything is written there), checks
    /// the store and opens it; refuses a damaged store with the fix named (`DataDirectoryDamaged`).
    public static func open(_ data: DataDirectory, spillFile: String?, logger: Logger) throws -> StationStorage {
        let lock = try data.claim()
        try data.prepare()
        try data.verifyStore(full: false)  // bounded; the full check runs in the background (StoreCheckService)
        let store = try Store(path: data.storePath)
        let spill = try SpillFile(path: data.spillPath(configured: spillFile), reserveBytes: spillReserveBytes)
        if !spill.reserved {
            logger.warning(
                """
                the spill file \(spill.path) could not reserve \(spillReserveBytes >> 20) MiB: a unit held while the disk is full \
                may not fit
                """)
        }
        data.tightenModes()
        return StationStorage(data: data, lock: lock, store: store, spill: spill)
    }
}
