import FerruleConfig
import FerruleCore
import FerruleDevices
import Foundation

/// The station's instruments by name, each reachable through the protocols it implements.
/// Built by whoever composes the station (ferruled: real drivers, or real drivers pointed at
/// simulators, or in-process simulated ones); the engine sees only the capability protocols.
public struct InstrumentSet: Sendable {
    /// The configured instruments, with the address each was found at (udev `match:`, simulator endpoint).
    public var specs: [String: InstrumentSpec]
    public var all: [String: any Instrument] = [:]
    public var switches: [String: any OpticalSwitch] = [:]
    public var sources: [String: any LightSource] = [:]
    public var powerMeters: [String: any PowerMeter] = [:]
    public var rlMeters: [String: any ReturnLossMeter] = [:]
    public var pathSetMeters: [String: any PathSetMeter] = [:]
    public var fixtureIO: [String: any FixtureIO] = [:]
    public var scanners: [String: any BarcodeScanner] = [:]

    public init(specs: [String: InstrumentSpec]) { self.specs = specs }

    /// Adds a driver under every role it implements (its protocols).
    public mutating func add(_ instrument: any Instrument, as spec: InstrumentSpec) {
        all[spec.name] = instrument
        if let s = instrument as? any OpticalSwitch { switches[spec.name] = s }
        if let s = instrument as? any LightSource, spec.canBeSource { sources[spec.name] = s }
        if let m = instrument as? any PowerMeter { powerMeters[spec.name] = m }
        if let m = instrument as? any ReturnLossMeter { rlMeters[spec.name] = m }
        if let m = instrument as? any PathSetMeter { pathSetMeters[spec.name] = m }
        if let io = instrument as? any FixtureIO { fixtureIO[spec.name] = io }
        if let s = instrument as? any BarcodeScanner { scanners[spec.name] = s }
    }
}
