import FerruleConfig
import FerruleCore
import FerruleDevices
import FerruleProtocol
import FerruleRecords
import Foundation
import Logging

/// Instrument availability: who each instrument is, the fault it last showed, and for those found
/// by udev `match:`, where the port is now and whether it is unplugged. It follows udev events in
/// order and tells the drivers (replugged/unplugged) and the station (a unit lost an instrument).
public actor InstrumentAvailability {
    let specs: [InstrumentSpec]
    let instruments: InstrumentSet
    let store: Store
    let light: LightGuard
    let events: EventBus
    /// An instrument's fault is one the line is told of (CFX FaultOccurred/FaultCleared).
    let lineFaults: LineFaults
    let logger: Logger
    let now: @Sendable () -> Date
    var identities: [String: InstrumentIdentity] = [:]
    /// What instruments that report their calibration said at the last probe.
    var calibrationRecords: [String: CalibrationRecord] = [:]
    /// The fault each instrument shows now; a fault raised or cleared is told to the line.
    var instrumentErrors: [String: String] = [:] { didSet { lineFaults.reconcile(.instrument, instrumentErrors) } }
    /// Instruments whose USB port was unplugged, with why; cleared when the port comes back.
    var missing: [String: String] = [:]
    /// Where each udev-matched instrument's port currently is.
    var devnodes: [String: String] = [:]
    /// Told when an instrument goes away: (instrument, why).
    var onUnplugged: @Sendable (String, String) async -> Void = { _, _ in }

    init(
        specs: [InstrumentSpec], instruments: InstrumentSet, store: Store, light: LightGuard, events: EventBus, lineFaults: LineFaults,
        logger: Logger, now: @escaping @Sendable () -> Date
    ) {
        self.lineFaults = lineFaults
        self.specs = specs
        self.instruments = instruments
        self.store = store
        self.light = light
        self.events = events
        self.logger = logger
        self.now = now
        for spec in specs where spec.match != nil {
            devnodes[spec.name] = instruments.specs[spec.name]?.address
        }
    }

    func whenUnplugged(_ handler: @escaping @Sendable (String, String) async -> Void) { onUnplugged = handler }
    /// Asks every instrument who it is. Returns the failures by instrument name.
    @discardableResult
    public func probe() async -> [String: String] {
        var failures: [String: String] = [:]
        for (name, ins) in instruments.all.sorted(by: { $0.key < $1.key }) {
            do {
                let identity = try await ins.identify()
                identities[name] = identity
                try? await store.saw(name, identity, at: now())
                instrumentErrors[name] = nil
            } catch {
                failures[name] = "\(error)"
                instrumentErrors[name] = "\(error)"
            }
        }
        await readCalibrations()
        return failures
    }

    public func identity(of name: String) -> InstrumentIdentity? { identities[name] }

    /// The first of `names` that is unplugged, and why.
    func unplugged(among names: Set<String>) -> (name: String, why: String)? {
        names.sorted().lazy.compactMap { name in self.missing[name].map { (name, $0) } }.first
    }

    /// A unit ended on this instrument's fault: shown in status until it answers a whole unit.
    func faulted(_ name: String, _ message: String) { instrumentErrors[name] = message }

    /// Every one of `names` just answered a whole unit: a fault shown from an earlier unit is history.
    func answered(_ names: Set<String>) { for name in names { instrumentErrors[name] = nil } }

    /// The instruments' lines of `status`.
    func status() -> [StationStatus.Instrument] {
        specs.map { spec in
            let state: InstrumentState =
                missing[spec.name] != nil
                ? .missing : instrumentErrors[spec.name] != nil ? .fault : (identities[spec.name] != nil ? .ok : .unknown)
            var row = StationStatus.Instrument(
                name: spec.name, driver: spec.driver.name, address: devnodes[spec.name] ?? spec.address, state: state,
                identity: identities[spec.name], lastError: instrumentErrors[spec.name])
            let calibration = InstrumentCalibration.of(spec, record: calibrationRecords[spec.name])
            row.calibrationDue = calibration.due
            row.calibration = calibration.text
            row.calibrationOverdue = calibration.overdue(today: CalendarDay.of(now())) ? true : nil
            return row
        }
    }

    /// Follows udev for the instruments found by `match:` until the task is cancelled (see
    /// `DeviceWatchService`). Returns at once when none is, or when no monitor can run here.
    public func watchDevices() async {
        guard !devnodes.isEmpty else { return }
        let monitor = UdevMonitor()
        let events = monitor.start()
        logger.info("udev monitor \(events != nil ? "watching" : "not available"): \(devnodes.keys.sorted().joined(separator: ", "))")
        guard let events else { return }
        await follow(events)
        monitor.stop()
    }

    /// Handles port events one at a time, in the order they came, until the sequence ends or the
    /// task is cancelled: a remove followed by an add of the same port ends with the instrument
    /// back, never missing.
    public func follow(_ events: AsyncStream<DeviceEvent>) async {
        for await e in events { await deviceEvent(e.action, e.device) }
    }

    /// An instrument's port went away or came back.
    public func deviceEvent(_ action: UdevMonitor.Action, _ device: UdevCandidate) async {
        switch action {
        case .remove:
            for (name, node) in devnodes where node == device.devnode && missing[name] == nil {
                let why = "\(name) was unplugged (\(device.devnode) removed)"
                missing[name] = why
                instrumentErrors[name] = why
                logger.error("\(why)")
                await (instruments.all[name] as? any Replugging)?.unplugged()
                await events.publish(.instrumentFault(instrument: name, detail: why))
                await onUnplugged(name, why)
            }
        case .add:
            for spec in specs where missing[spec.name] != nil {
                guard let match = spec.match, device.matches(match) else { continue }
                devnodes[spec.name] = device.devnode
                await (instruments.all[spec.name] as? any Replugging)?.replugged(at: .serial(path: device.devnode, spec.serial))
                missing[spec.name] = nil
                // The event can come before the node is usable (udev rules still setting its
                // owner, a USB-serial driver still binding): try for up to 2 s before calling it
                // a fault.
                for attempt in 1...10 {
                    guard let instrument = instruments.all[spec.name] else { break }
                    do {
                        let identity = try await instrument.identify()
                        identities[spec.name] = identity
                        try? await store.saw(spec.name, identity, at: now())
                        instrumentErrors[spec.name] = nil
                        break
                    } catch {
                        instrumentErrors[spec.name] = "\(error)"
                        if attempt < 10 { try? await Task.sleep(for: .milliseconds(200)) }
                    }
                }
                logger.info("\(spec.name) is back on \(device.devnode)")
                // A source that could not be switched off while it was gone is switched off first.
                await light.sourceIsBack(spec.name)
                await events.publish(.instrumentReconnected(instrument: spec.name, address: device.devnode))
            }
        }
    }
}
