import FerruleConfig
import FerruleCore
import FerruleDevices
import FerruleProtocol

/// A fixture's instruments in the parts its wiring names, found once per unit before any light.
/// The engine then holds each by the capability it needs; no name is looked up mid-unit.
enum FixtureRig: Sendable {
    /// Switches, a source and a meter that Ferrule steps path by path.
    case stepped(SteppedRig)
    /// One instrument that sequences the paths itself (the MAP-300 PCT).
    case sequenced(any PathSetMeter)

    /// The wiring's instruments from `set`; a name without the capability it is wired for (a
    /// driver that failed to build, a config reloaded under a running station) refuses the unit.
    init(_ w: FixtureWiring, in set: InstrumentSet) throws(UnitRefused) {
        func missing(_ name: String, _ part: String) -> UnitRefused {
            UnitRefused(
                message: "fixture \(w.id)'s \(part) '\(Escaped.text(name))' is not an instrument that can do that here",
                fix: "check the instrument's driver in the config and the start-up log ('ferruled check-config' names the roles)",
                Refusal(.instrumentMissing, fixture: w.id))
        }
        if let name = w.sequencer {
            guard let meter = set.pathSetMeters[name] else { throw missing(name, "sequencer") }
            self = .sequenced(meter)
            return
        }
        guard let launch = set.switches[w.launchSwitch] else { throw missing(w.launchSwitch, "launch switch") }
        guard let receive = set.switches[w.receiveSwitch] else { throw missing(w.receiveSwitch, "receive switch") }
        guard let source = set.sources[w.source] else { throw missing(w.source, "light source") }
        guard let meter = set.powerMeters[w.powerMeter] else { throw missing(w.powerMeter, "power meter") }
        var rlMeter: (any ReturnLossMeter)?
        if let name = w.rlMeter {
            guard let m = set.rlMeters[name] else { throw missing(name, "RL meter") }
            rlMeter = m
        }
        self = .stepped(SteppedRig(launch: launch, receive: receive, source: source, meter: meter, rlMeter: rlMeter))
    }
}

/// A stepped fixture's instruments by the part each plays.
struct SteppedRig: Sendable {
    let launch: any OpticalSwitch
    let receive: any OpticalSwitch
    let source: any LightSource
    let meter: any PowerMeter
    let rlMeter: (any ReturnLossMeter)?
}
