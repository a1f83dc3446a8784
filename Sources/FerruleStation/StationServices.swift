import FerruleConfig
import FerruleCore
import FerruleRecords
import Logging
import ServiceLifecycle

/// Switches off, every second, each light source that may still be on (see `LightGuard.keepSwitchingLightOff`).
public struct LightRetryService: Service {
    let light: LightGuard
    public func run() async { await cancelWhenGracefulShutdown { await light.keepSwitchingLightOff() } }
}

/// Stores, every 5 s, the units kept in memory while the store failed and writes late report
/// files (see `RecordKeeper.keepRetryingStorage`).
public struct StorageRetryService: Service {
    let records: RecordKeeper
    public func run() async { await cancelWhenGracefulShutdown { await records.keepRetryingStorage() } }
}

/// Follows udev for instruments found by `match:` (see `InstrumentAvailability.watchDevices`).
public struct DeviceWatchService: Service {
    let availability: InstrumentAvailability
    public func run() async {
        await cancelWhenGracefulShutdown {
            await availability.watchDevices()
            // Nothing to watch here: stay until shutdown, as the other services do.
            try? await gracefulShutdown()
        }
    }
}

extension Station {
    /// The station's long-lived loops, for the composition root's service group: the light and
    /// storage retries, the device watch and one runner per sink. They come before the station's
    /// own service in the group, so that they stop after it (a unit aborted at shutdown is still
    /// stored and offered to the sinks).
    public nonisolated var services: [any Service] {
        [
            LightRetryService(light: light), StorageRetryService(records: records), DeviceWatchService(availability: availability),
            StoreCheckService(records: records), retention,
        ] + delivery.runners + scannerServices
    }

    nonisolated var retention: RetentionService {
        RetentionService(
            policy: config.retention, records: records, sinks: delivery.runners.map(\.sink.name),
            lineSinks: delivery.runners.filter(\.sink.carriesLineMessages).map(\.sink.name), logger: logger, now: now)
    }
}

extension Station {
    /// One reader per fixed scanner (`fixtures[].scanner`), all handing scans to one desk.
    nonisolated var scannerServices: [any Service] {
        let desk = ScanDesk(station: self)
        return config.scanners.compactMap { s in
            instruments.scanners[s.instrument].map {
                ScannerService(scanner: s, device: $0, desk: desk, events: events, logger: logger)
            }
        }
    }
}
