import FerruleCore
import Foundation

// What a station's config may ask of the simulated bench, as plain values: how a simulated
// instrument is reached, the faults it or a unit may be given, and the bench's optical
// settings. The simulator (FerruleSimulator) implements them; the engine only carries them.

/// How a simulated instrument is reached.
public enum WireTransport: String, Sendable, Codable, CaseIterable {
    case tcp, pty
}

/// A fault a wire-level simulated instrument can be told to have, from config or at run time.
public enum WireFault: String, Sendable, Codable, CaseIterable {
    case none
    /// Reads commands but never answers.
    case noReply
    /// Answers with bytes that are not a reply.
    case garbage
    /// Puts -222,"Data out of range" in the error queue after every command.
    case queueError
    /// Closes the connection on the next line.
    case disconnect
    /// The switch takes 2 s to settle.
    case slowSwitch
    /// The instrument vanishes: connections drop, new ones are refused, a pty's device link is
    /// removed. Injecting `none` plugs it back in.
    case unplug
    /// A power meter answers its over-range sentinel to power readings.
    case overRange
    /// A self-sequencing instrument's measurement ends in fault (the MAP-300 PCT's state 3, with
    /// a warning queued that says why).
    case measurementFault
}

/// Where an injected fault strikes: only on lines whose command starts with `command` (e.g.
/// `READ:RL?`), and only while the launch position `fiber` is lit. Nil: everywhere.
public struct FaultScope: Sendable, Hashable, Codable {
    public var command: String?
    public var fiber: Int?

    public init(command: String? = nil, fiber: Int? = nil) {
        self.command = command
        self.fiber = fiber
    }

    public var isEverywhere: Bool { command == nil && fiber == nil }

    public var description: String {
        [command.map { "on \($0)" }, fiber.map { "on fiber \($0)" }].compactMap { $0 }.joined(separator: " ")
    }
}

/// A fault built into a simulated assembly. Deterministic: the same faults and seed give the same unit.
public enum AssemblyFault: Sendable, Hashable, Codable {
    /// One fiber with extra loss at every wavelength.
    case highLoss(fiber: Int, extraDb: Double)
    /// A broken fiber: its light arrives nowhere.
    case darkFiber(fiber: Int)
    /// Two fibers exchanged in the ferrule.
    case swappedPair(Int, Int)
    /// The whole unit built with another polarity type.
    case wrongPolarity(PolarityType)
    /// Dust on one end face: extra loss on adjacent fibers; at end A it also lowers the RL measured there.
    case dirtyEndFace(end: End, fibers: [Int], extraDb: Double)
    /// A gender mismatch (pinned to pinned): nothing mates, every fiber dark.
    case genderMismatch
    /// A macrobend: the fiber is lit at the shorter wavelengths and dark at this one.
    case darkAtWavelength(fiber: Int, wavelengthNm: Int)
    /// Cut to the wrong length: `deltaM` metres longer (negative: shorter) than the recipe says.
    case wrongLength(deltaM: Double)

    private enum Kind: String, Codable {
        case highLoss, darkFiber, swappedPair, wrongPolarity, dirtyEndFace, genderMismatch, darkAtWavelength, wrongLength
    }
    private enum Keys: String, CodingKey { case kind, fiber, fibers, extraDb, type, end, wavelengthNm, deltaM }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        switch try c.decode(Kind.self, forKey: .kind) {
        case .highLoss:
            self = .highLoss(
                fiber: try c.decode(Int.self, forKey: .fiber),
                extraDb: try c.decodeIfPresent(Double.self, forKey: .extraDb) ?? 0.8)
        case .darkFiber:
            self = .darkFiber(fiber: try c.decode(Int.self, forKey: .fiber))
        case .swappedPair:
            let f = try c.decode([Int].self, forKey: .fibers)
            guard f.count == 2 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .fibers, in: c, debugDescription: "a swapped pair names exactly 2 fibers, got \(f.count)")
            }
            self = .swappedPair(f[0], f[1])
        case .wrongPolarity:
            self = .wrongPolarity(try c.decode(PolarityType.self, forKey: .type))
        case .dirtyEndFace:
            self = .dirtyEndFace(
                end: try c.decode(End.self, forKey: .end), fibers: try c.decode([Int].self, forKey: .fibers),
                extraDb: try c.decodeIfPresent(Double.self, forKey: .extraDb) ?? 0.8)
        case .genderMismatch:
            self = .genderMismatch
        case .darkAtWavelength:
            self = .darkAtWavelength(
                fiber: try c.decode(Int.self, forKey: .fiber),
                wavelengthNm: try c.decodeIfPresent(Int.self, forKey: .wavelengthNm) ?? 1550)
        case .wrongLength:
            self = .wrongLength(deltaM: try c.decode(Double.self, forKey: .deltaM))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        switch self {
        case .highLoss(let f, let x):
            try c.encode(Kind.highLoss, forKey: .kind)
            try c.encode(f, forKey: .fiber)
            try c.encode(x, forKey: .extraDb)
        case .darkFiber(let f):
            try c.encode(Kind.darkFiber, forKey: .kind)
            try c.encode(f, forKey: .fiber)
        case .swappedPair(let a, let b):
            try c.encode(Kind.swappedPair, forKey: .kind)
            try c.encode([a, b], forKey: .fibers)
        case .wrongPolarity(let t):
            try c.encode(Kind.wrongPolarity, forKey: .kind)
            try c.encode(t, forKey: .type)
        case .dirtyEndFace(let e, let f, let x):
            try c.encode(Kind.dirtyEndFace, forKey: .kind)
            try c.encode(e, forKey: .end)
            try c.encode(f, forKey: .fibers)
            try c.encode(x, forKey: .extraDb)
        case .genderMismatch: try c.encode(Kind.genderMismatch, forKey: .kind)
        case .darkAtWavelength(let f, let wl):
            try c.encode(Kind.darkAtWavelength, forKey: .kind)
            try c.encode(f, forKey: .fiber)
            try c.encode(wl, forKey: .wavelengthNm)
        case .wrongLength(let d):
            try c.encode(Kind.wrongLength, forKey: .kind)
            try c.encode(d, forKey: .deltaM)
        }
    }
}

/// The simulated bench's source, noise, path losses and timing.
public struct BenchSettings: Sendable, Codable, Hashable {
    public var seed: UInt64 = 1
    public var sourcePowerDbm: Double = -3
    /// Standard deviation of the power meter's noise (dB).
    public var noiseDb: Double = 0.003
    /// Source drift added per power reading (dB); a drifting source makes the reference go stale.
    public var driftDbPerReading: Double = 0
    /// Every launch and receive path (switch channel plus its harness) has its own loss per
    /// wavelength, fixed per seed, drawn from this range: a real harness is never equal.
    public var pathLossMinDb: Double = 0.3
    public var pathLossMaxDb: Double = 0.9
    /// A dark detector reads its noise: a small power that varies around zero (watts, one sigma).
    public var darkNoiseWatts: Double = 2e-12
    /// Above this a detector is over range.
    public var meterCeilingDbm: Double = 10
    /// Test cords that wear: every fixture's light path on `cordWearPositions` loses this much
    /// more (dB) with each mating (each unit or reference cord loaded mates the test cords once).
    public var cordWearDbPerMating: Double = 0
    public var cordWearPositions: [Int] = []
    /// How long each simulated instrument takes (instant unless the config says otherwise).
    public var timing = SimulationTiming.instant

    public init() {}
}

/// How long the simulated instruments take, per model: `simulation.timing:` in the config.
/// `instant` keeps CI fast; `realistic` is the domain notes' figures, so that the station can be
/// timed on the simulated bench as it would run on the real one.
public struct SimulationTiming: Sendable, Codable, Hashable {
    /// Settling time of one switch move, by driver name (one of `switchDrivers`); a model not
    /// listed takes `otherSwitchSettleMs`.
    public var switchSettleMs: [String: Double] = [:]
    public var otherSwitchSettleMs: Double = 0
    /// One power reading: the meter's averaging time.
    public var meterAveragingMs: Double = 0
    /// One RL measurement at one wavelength.
    public var rlMeasurementMs: Double = 0
    /// What any instrument takes to answer a line, on top of the above.
    public var answerMs: Double = 0
    /// MAP-300: the PCT application's launch after `:SUPer:LAUNch PCT` (about 7 s, guide 1-1).
    public var pctLaunchMs: Double = 0
    /// MAP-300 PCT: one path at one wavelength of a measurement (IL, RL and length).
    public var pctPathMs: Double = 0
    /// MAP-300 PCT: the port map's search of one launch channel.
    public var pctPortMapMs: Double = 0
    /// Serial lines (pty instruments): bytes per second on the wire (115200 baud 8N1 is 11520).
    /// Nil: as fast as the pty.
    public var serialBytesPerSecond: Double?

    public init() {}

    /// The settling time of a switch of this driver.
    public func settleMs(_ driver: String) -> Double { switchSettleMs[driver] ?? otherSwitchSettleMs }

    /// The simulated switch models whose settling a timing can set.
    public static let switchDrivers = ["dicon-mems", "modbus-switch", "santec-osx", "sim-switch"]

    public static let instant = SimulationTiming()

    /// Domain notes, section 5: a Santec OSX settles in about 300 ms, a MEMS switch in 10-25 ms;
    /// a power meter reads in its averaging time (typically 100 ms); the RL1 measures RL in under
    /// 1.5 s per wavelength in fast mode; an instrument needs a few ms to answer; a 115200-baud
    /// line moves about 11.5 bytes per ms.
    public static let realistic: SimulationTiming = {
        var t = SimulationTiming()
        t.switchSettleMs = ["santec-osx": 300, "dicon-mems": 15, "modbus-switch": 300, "sim-switch": 300]
        t.otherSwitchSettleMs = 300
        t.meterAveragingMs = 100
        t.rlMeasurementMs = 1000
        t.answerMs = 3
        t.serialBytesPerSecond = 11520
        // mORL data sheet: a 12-fiber cassette's port map in under 15 s; two wavelengths of IL
        // and RL in about 6 s for a jumper; taken here as 250 ms per path and wavelength.
        t.pctLaunchMs = 7000
        t.pctPathMs = 250
        t.pctPortMapMs = 1000
        return t
    }()

    public static let presets: [String: SimulationTiming] = ["instant": .instant, "realistic": .realistic]
}

/// The two drivers simulated in-process, as a config names them. FerruleSimulator's
/// `SimulatedSwitch` and `SimulatedILRLMeter` register under these names; a test checks that
/// the roles given here are the ones their conformances declare.
public enum SimulatedDriverInfo {
    public static let opticalSwitch = DriverInfo(
        name: "sim-switch", summary: "in-process simulated 1xN switch on the simulated bench (no wire; fastest for engine tests)",
        roles: [.opticalSwitch], bus: .inProcess)
    public static let ilrlMeter = DriverInfo(
        name: "sim-ilrl", summary: "in-process simulated IL/RL meter: source, power meter and RL meter (no wire)",
        roles: [.lightSource, .powerMeter, .rlMeter], bus: .inProcess)
}
