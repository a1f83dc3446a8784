import FerruleCore
import FerruleSimSpec
import FerruleDevices
import Foundation
import NIOConcurrencyHelpers

/// What sits in a fixture.
public enum Mounted: Sendable {
    case empty
    /// A reference cord: launch position p lands on receive position `map[p]`, with no loss of
    /// its own except `dirtDb[p]` (a dirty or damaged end face on that fiber).
    case cord(PolarityMap, dirtDb: [Int: Double] = [:])
    case assembly(SimulatedAssembly)

    /// A straight (Type A) reference cord as wide as any fixture: p lands on p.
    public static var referenceCord: Mounted { .cord(PolarityMap(Dictionary(uniqueKeysWithValues: (1...96).map { ($0, $0) }))) }
}

/// An instrument fault to inject: after `afterCalls` more calls the instrument fails this way.
public enum InstrumentFaultKind: String, Sendable, Codable {
    /// The instrument stops answering (a read times out).
    case noReply
    /// The instrument answers something that is not a number.
    case garbage
    /// The instrument puts an error in its queue.
    case queueError
    /// The instrument vanishes (unplugged).
    case disconnect
}

/// The optical model of a whole bench: switches, source, meters and what is mounted in each
/// fixture. Simulated instruments (in-process or on the wire) all act on one bench.
public actor SimulatedBench {
    nonisolated public var unownedExecutor: UnownedSerialExecutor { SimulatorThread.actorExecutor }
    public let wiring: [FixtureWiring]
    public nonisolated let settings: BenchSettings
    var rng: SplitMix64
    var switchPosition: [String: Int] = [:]
    /// How often each switch moved to another channel.
    private var switchMoves: [String: Int] = [:]
    private var sourceWavelength: [String: Int] = [:]  // enabled sources only
    /// How often each source's laser went from one wavelength straight to another.
    private var wavelengthChanges: [String: Int] = [:]
    var mounted: [Int: Mounted] = [:]
    /// How often each fixture's test cords were mated (for `cordWearDbPerMating`).
    var matings: [Int: Int] = [:]
    var sourceOffsetDb = 0.0
    private var faults: [String: (after: Int, kind: InstrumentFaultKind)] = [:]
    var unplugged: Set<String> = []
    public internal(set) var readings = 0
    private var fixtureInputs: [Int: FixtureInputs] = [:]
    private var lidOpenedAt: [Int: ContinuousClock.Instant] = [:]
    public private(set) var stackLights: [Int: [StackLight]] = [:]
    /// Every time the station put light into a fixture whose lid had been open for longer than
    /// the interlock's reaction time (`interlockGrace`). Must stay empty.
    public private(set) var interlockViolations: [String] = []
    /// How long a software interlock may take to see the lid open (one I/O poll and one command).
    public var interlockGrace: Duration = .milliseconds(250)

    public init(wiring: [FixtureWiring], settings: BenchSettings = BenchSettings()) {
        self.wiring = wiring
        self.settings = settings
        self.timingBox = NIOLockedValueBox(settings.timing)
        self.rng = SplitMix64(seed: settings.seed)
    }

    /// The loss of one switch channel and its harness at one wavelength: fixed for a seed, and
    /// different for every channel and wavelength (so an IL read on one path but computed
    /// against another path's reference is wrong by up to 0.6 dB).
    public nonisolated func pathLoss(switch name: String, channel: Int, wavelengthNm: Int) -> Double {
        var r = SplitMix64(seed: SplitMix64.seed("\(name)#\(channel)@\(wavelengthNm)", settings.seed))
        return settings.pathLossMinDb + (settings.pathLossMaxDb - settings.pathLossMinDb) * Double.random(in: 0..<1, using: &r)
    }

    // MARK: What the operator (or a test) does to the bench

    /// Puts something in a fixture as an operator does: mated, the lid closed and the start
    /// button pressed; `.empty` takes it out with the lid open. Tests change single inputs
    /// (a lid opened mid-unit) with `setInputs`.
    public func mount(_ item: Mounted, fixture: Int) {
        mounted[fixture] = item
        let loaded: Bool
        if case .empty = item { loaded = false } else { loaded = true }
        if loaded { matings[fixture, default: 0] += 1 }
        setInputs(fixture: fixture) { $0.partPresent = loaded; $0.startPressed = loaded; $0.lidClosed = loaded }
    }
    public func mounted(fixture: Int) -> Mounted { mounted[fixture] ?? .empty }

    /// The operator's side of a fixture's I/O module.
    public func setInputs(fixture: Int, _ change: (inout FixtureInputs) -> Void) {
        var i = fixtureInputs[fixture] ?? FixtureInputs()
        let wasClosed = i.lidClosed
        change(&i)
        fixtureInputs[fixture] = i
        if wasClosed && !i.lidClosed { lidOpenedAt[fixture] = .now }
        if i.lidClosed { lidOpenedAt[fixture] = nil }
    }
    public func inputs(fixture: Int) -> FixtureInputs { fixtureInputs[fixture] ?? FixtureInputs() }
    func setStackLight(fixture: Int, _ lit: [StackLight]) { stackLights[fixture] = lit }

    /// Whether light from a source currently enters a fixture (its source on and its launch
    /// switch on one of its channels).
    public func lightInFixture(_ id: Int) -> Bool {
        guard let w = wiring.first(where: { $0.id == id }), sourceWavelength[w.source] != nil,
              let ch = switchPosition[w.launchSwitch] else { return false }
        return w.launchChannels.values.contains(ch)
    }

    private func checkInterlock(_ action: String) {
        for w in wiring where w.io != nil && lightInFixture(w.id) && !inputs(fixture: w.id).lidClosed {
            // A lid that was never closed has been open for as long as anyone can tell.
            if lidOpenedAt[w.id].map({ ContinuousClock.now - $0 > interlockGrace }) ?? true {
                interlockViolations.append("\(action): light into fixture \(w.id) with its lid open")
            }
        }
    }

    /// Whether a source's light is on: the last laser command it acted on switched it on.
    public func lightOn(source: String) -> Bool { sourceWavelength[source] != nil }
    /// The wavelength a source's laser is on at (nil: off).
    public func wavelength(source: String) -> Int? { sourceWavelength[source] }
    /// How often a source's laser changed from one wavelength to another (each change settles
    /// for a while on a real laser).
    public func laserChanges(source: String) -> Int { wavelengthChanges[source] ?? 0 }

    /// A step change of the source power since the reference (drift, a cleaned cord...).
    public func shiftSource(byDb delta: Double) { sourceOffsetDb += delta }

    public func injectFault(instrument: String, kind: InstrumentFaultKind, afterCalls: Int = 0) {
        faults[instrument] = (afterCalls, kind)
    }
    public func clearFaults() { faults = [:]; unplugged = [] }
    public func unplug(_ instrument: String) { unplugged.insert(instrument) }
    public func plugIn(_ instrument: String) { unplugged.remove(instrument) }

    /// Called by every simulated instrument before it acts: throws the injected fault when due.
    /// Returns the fault kind for faults that the instrument turns into a wire symptom itself.
    func checkFault(_ instrument: String) -> InstrumentFaultKind? {
        if unplugged.contains(instrument) { return .disconnect }
        guard let f = faults[instrument] else { return nil }
        if f.after > 0 { faults[instrument] = (f.after - 1, f.kind); return nil }
        if f.kind == .disconnect { unplugged.insert(instrument) }
        return f.kind
    }

    // MARK: What the instruments do

    func setSwitch(_ name: String, channel: Int) {
        if switchPosition[name] != channel { switchMoves[name, default: 0] += 1 }
        switchPosition[name] = channel
        checkInterlock("\(name) to channel \(channel)")
    }
    /// How long each simulated instrument takes: the settings' timing until `setTiming` changes it
    /// (a benchmark takes its references instantly, then times units at real speed).
    public nonisolated var timing: SimulationTiming { timingBox.withLockedValue { $0 } }
    public nonisolated func setTiming(_ timing: SimulationTiming) { timingBox.withLockedValue { $0 = timing } }
    private nonisolated let timingBox: NIOLockedValueBox<SimulationTiming>
    func parkSwitch(_ name: String) { switchPosition[name] = nil }
    public func switchChannel(_ name: String) -> Int? { switchPosition[name] }
    /// How often a switch moved to another channel since the bench started.
    public func moves(switch name: String) -> Int { switchMoves[name] ?? 0 }
    func setSource(_ name: String, wavelengthNm: Int?) {
        if let from = sourceWavelength[name], let to = wavelengthNm, from != to { wavelengthChanges[name, default: 0] += 1 }
        sourceWavelength[name] = wavelengthNm
        if let wl = wavelengthNm { checkInterlock("\(name) on at \(wl) nm") }
    }

    /// What the detector of `meter` sees: the light from the lit source through the launch path,
    /// the fixture's DUT (or reference cord) and the receive path, or its own noise when no light
    /// arrives (a small power around zero, negative as often as not: never exactly 0 W).
    func readPower(meter: String, wavelengthNm: Int) -> DetectorReading {
        readings += 1
        sourceOffsetDb += settings.driftDbPerReading
        for w in wiring where w.powerMeter == meter {
            guard let wl = sourceWavelength[w.source],
                  let lch = switchPosition[w.launchSwitch], let rch = switchPosition[w.receiveSwitch],
                  let p = w.launchChannels.first(where: { $0.value == lch })?.key,
                  let q = w.receiveChannels.first(where: { $0.value == rch })?.key else { continue }
            var dut: Double
            switch mounted[w.id] ?? .empty {
            case .empty:
                continue
            case .cord(let map, let dirt):
                guard map[p] == q else { continue }
                dut = dirt[p] ?? 0
            case .assembly(let a):
                guard a.arrival[p] == q, !(a.darkAt[p]?.contains(wl) ?? false), let il = a.loss[p]?[wl] else { continue }
                dut = il
            }
            let wear = settings.cordWearPositions.contains(p) ? settings.cordWearDbPerMating * Double(matings[w.id] ?? 0) : 0
            let paths = pathLoss(switch: w.launchSwitch, channel: lch, wavelengthNm: wl)
                + pathLoss(switch: w.receiveSwitch, channel: rch, wavelengthNm: wl) + wear
            let power = settings.sourcePowerDbm + sourceOffsetDb - paths - dut + settings.noiseDb * rng.gaussian()
            if power > settings.meterCeilingDbm { return .overRange }
            return .watts(Optics.dBmToWatts(power) + settings.darkNoiseWatts * rng.gaussian())
        }
        return .watts(settings.darkNoiseWatts * rng.gaussian())
    }

    /// The launch position lit on the fixture `instrument` serves (for faults scoped to a fiber).
    public func litFiber(instrument: String) -> Int? {
        for w in wiring where [w.source, w.powerMeter, w.rlMeter, w.launchSwitch, w.receiveSwitch].contains(instrument) {
            if let ch = switchPosition[w.launchSwitch], let p = w.launchChannels.first(where: { $0.value == ch })?.key { return p }
        }
        return nil
    }

    /// The fiber a switch's channel serves: a launch channel the fiber it lights, a receive
    /// channel the fiber whose light arrives there in the mounted assembly (nil: none).
    func fiber(servedBy instrument: String, channel: Int) -> Int? {
        for w in wiring {
            if w.launchSwitch == instrument, let p = w.launchChannels.first(where: { $0.value == channel })?.key { return p }
            guard w.receiveSwitch == instrument, let q = w.receiveChannels.first(where: { $0.value == channel })?.key else { continue }
            guard case .assembly(let a)? = mounted[w.id] else { return nil }
            return a.arrival.first { $0.value == q }?.key
        }
        return nil
    }

    /// RL at both ends of what is mounted on the fixture whose launch switch routes `meter`'s light.
    func readReturnLoss(meter: String, wavelengthNm: Int) -> (a: Double, b: Double)? {
        for w in wiring where w.rlMeter == meter {
            guard let lch = switchPosition[w.launchSwitch],
                  let p = w.launchChannels.first(where: { $0.value == lch })?.key else { continue }
            switch mounted[w.id] ?? .empty {
            case .empty: return (14.7 + 0.2 * rng.gaussian(), 14.7 + 0.2 * rng.gaussian())  // open PC end: Fresnel reflection
            case .cord: return (55 + 0.3 * rng.gaussian(), 55 + 0.3 * rng.gaussian())
            case .assembly(let a):
                guard let rla = a.returnLoss[p], let rlb = a.returnLossB[p] else { return (14.7, 14.7) }
                return (rla + 0.3 * rng.gaussian(), rlb + 0.3 * rng.gaussian())
            }
        }
        return nil
    }
}

/// Waits as long as a simulated instrument takes (cancellable, as a real wait is).
func pause(ms: Double) async throws {
    if ms > 0 { try await Task.sleep(for: .microseconds(Int(ms * 1000))) }
}

/// What a simulated detector answers: a power in watts (noise included, so possibly negative
/// when dark) or over range.
public enum DetectorReading: Sendable, Hashable {
    case watts(Double)
    case overRange

    /// As a meter with a no-light floor reports it.
    public func reading(floorDbm: Double) -> PowerReading {
        switch self {
        case .overRange: return .overRange
        case .watts(let w):
            let r = PowerReading.watts(w)
            if let dbm = r.dBmValue, dbm < floorDbm { return .noLight }
            return r
        }
    }
}

/// The inputs of a fixture's I/O module as the operator sets them. A fixture starts open and empty.
public struct FixtureInputs: Sendable, Hashable, Codable {
    public var lidClosed = false
    public var partPresent = false
    public var startPressed = false
    public init() {}
}
