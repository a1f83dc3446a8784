import FerruleCore
import FerruleDevices
import FerruleSimulator

/// The station's instruments by name, each reachable through the protocols it implements.
public struct InstrumentSet: Sendable {
    public var specs: [String: InstrumentSpec]
    public var all: [String: any Instrument] = [:]
    public var switches: [String: any OpticalSwitch] = [:]
    public var sources: [String: any LightSource] = [:]
    public var powerMeters: [String: any PowerMeter] = [:]
    public var rlMeters: [String: any ReturnLossMeter] = [:]
    /// The simulated bench behind the simulated drivers, when any are configured.
    public var simulatedBench: SimulatedBench?

    public init(config: StationConfig) {
        specs = Dictionary(uniqueKeysWithValues: config.instruments.map { ($0.name, $0) })
        if config.instruments.contains(where: { $0.driver.isSimulated }) {
            simulatedBench = SimulatedBench(wiring: config.fixtures, settings: config.simulation?.bench ?? BenchSettings())
        }
        for spec in config.instruments {
            switch spec.driver {
            case .simSwitch:
                let s = SimulatedSwitch(name: spec.name, channelCount: spec.channels ?? 1, bench: simulatedBench!)
                all[spec.name] = s
                switches[spec.name] = s
            case .simILRL:
                let m = SimulatedILRLMeter(name: spec.name, wavelengthsNm: spec.wavelengthsNm, bench: simulatedBench!)
                all[spec.name] = m
                sources[spec.name] = m
                powerMeters[spec.name] = m
                rlMeters[spec.name] = m
            }
        }
    }
}
