import FerruleCore

// The capability of an instrument that sequences a set of paths itself: it steps its own
// switches and laser through every (launch, receive) path and wavelength it was given, in one
// measurement it runs, and is read out afterwards (the VIAVI MAP-300 PCT). The station decides
// the paths, the wavelengths and the RL window; the instrument decides the order.

/// One path through a self-sequencing instrument: a launch-switch channel to a receive-switch channel.
public struct InstrumentPath: Sendable, Hashable, CustomStringConvertible {
    public var launchChannel: Int
    public var receiveChannel: Int

    public init(launchChannel: Int, receiveChannel: Int) {
        self.launchChannel = launchChannel
        self.receiveChannel = receiveChannel
    }

    public var description: String { "\(launchChannel)->\(receiveChannel)" }
}

/// What the station asks a self-sequencing instrument to measure.
public struct PathSetPlan: Sendable, Hashable {
    /// The instrument's source output (the PCT's J1 or J2).
    public var launchPort: Int
    public var paths: [InstrumentPath]
    public var wavelengthsNm: [Int]
    /// How RL is gated at each end; nil: as the instrument is set up.
    public var rlWindow: ReturnLossWindow?

    public init(launchPort: Int, paths: [InstrumentPath], wavelengthsNm: [Int], rlWindow: ReturnLossWindow? = nil) {
        self.launchPort = launchPort
        self.paths = paths
        self.wavelengthsNm = wavelengthsNm
        self.rlWindow = rlWindow
    }
}

/// A loss as the instrument reports it against its own reference of the path.
public enum LossReading: Sendable, Hashable {
    case dB(Double)
    /// Too little light to measure: no loss number, ever.
    case noLight
    /// Too much light for the detector: not a loss either.
    case overRange
}

/// One path at one wavelength, measured.
public struct PathReading: Sendable, Hashable {
    public var path: InstrumentPath
    public var wavelengthNm: Int
    public var loss: LossReading
    /// RL at end A and end B as the instrument gated them (nil ends: no value).
    public var returnLoss: ReturnLossReading
    /// The DUT's length (m) as measured on this path; nil when the instrument could not tell.
    public var lengthM: Double?

    public init(path: InstrumentPath, wavelengthNm: Int, loss: LossReading, returnLoss: ReturnLossReading, lengthM: Double?) {
        self.path = path
        self.wavelengthNm = wavelengthNm
        self.loss = loss
        self.returnLoss = returnLoss
        self.lengthM = lengthM
    }
}

/// One path at one wavelength of the instrument's own reference.
public struct PathReference: Sendable, Hashable {
    public var path: InstrumentPath
    public var wavelengthNm: Int
    /// The power the instrument measured through the reference cord.
    public var power: PowerReading
    /// The reference jumpers' length (m), where measured.
    public var lengthM: Double?

    public init(path: InstrumentPath, wavelengthNm: Int, power: PowerReading, lengthM: Double?) {
        self.path = path
        self.wavelengthNm = wavelengthNm
        self.power = power
        self.lengthM = lengthM
    }
}

/// An instrument that measures a set of paths itself. As a `LightSource`, `disable` stops any
/// measurement and leaves its laser off (the station's safe state); `enable` only checks the
/// wavelength, since the instrument lights its laser while it measures and never otherwise.
public protocol PathSetMeter: LightSource {
    /// Takes the instrument's own reference over the plan's paths (the reference cord mated) and
    /// returns what it measured on each: the station keeps these under its reference management.
    func reference(_ plan: PathSetPlan) async throws -> [PathReference]
    /// Measures the DUT over the plan's paths: IL against the instrument's reference of each
    /// path, RL at both ends in the plan's window, and length.
    func measure(_ plan: PathSetPlan) async throws -> [PathReading]
    /// Where each launch channel's light arrives among `receiveChannels` (nil: nowhere), found by
    /// the instrument (the PCT's port map).
    func locate(launchChannels: [Int], receiveChannels: [Int], launchPort: Int) async throws -> [Int: Int?]
}
