import FerruleCore

// What a station needs from its instruments. The engine speaks only to these protocols, so a
// simulated and a real driver are interchangeable by configuration. Implementations are actors:
// one conversation with an instrument at a time.

/// An instrument failed to do what was asked: no reply, a bad reply, an error in its queue,
/// or it went away. It always names the instrument; a unit it hits ends `error`, never `fail`.
public struct InstrumentError: Error, Sendable, CustomStringConvertible, Equatable {
    public var instrument: String
    public var operation: String
    public var detail: String

    public init(instrument: String, operation: String, detail: String) {
        self.instrument = instrument
        self.operation = operation
        self.detail = detail
    }

    public var description: String { "\(instrument): \(operation): \(detail)" }
}

/// Any instrument the station talks to: named, and able to say who it is.
public protocol Instrument: Actor {
    /// The configured name, used in every message.
    nonisolated var name: String { get }
    /// `*IDN?` or the driver's equivalent.
    func identify() async throws -> InstrumentIdentity
}

/// A 1xN optical switch.
public protocol OpticalSwitch: Instrument {
    nonisolated var channelCount: Int { get }
    /// Route the common port to `channel` and return once the switch has settled.
    func select(channel: Int) async throws
    /// Park the switch where no fixture is lit (used on stop).
    func park() async throws
}

/// A laser source with selectable wavelengths.
public protocol LightSource: Instrument {
    nonisolated var wavelengthsNm: [Int] { get }
    func enable(wavelengthNm: Int) async throws
    func disable() async throws
}

/// An optical power meter. Under-range and over-range come back as `PowerReading` sentinels.
public protocol PowerMeter: Instrument {
    func readPower(wavelengthNm: Int) async throws -> PowerReading
}

/// RL at both ends of the DUT, as a length-gated RL meter reports them (dB, positive). An end is
/// nil when the meter reports no valid value for it.
public struct ReturnLossReading: Sendable, Hashable {
    public var endA: Double?
    public var endB: Double?

    public init(endA: Double?, endB: Double?) {
        self.endA = endA
        self.endB = endB
    }
}

/// A return-loss meter on the launch end (the DUT's end A), gating the reflections of each end.
public protocol ReturnLossMeter: Instrument {
    func readReturnLoss(wavelengthNm: Int) async throws -> ReturnLossReading
}

/// One box that is a fixture's power meter and also its source or RL meter (the Santec RL1): a
/// reading can take the RL with it, and change the laser's wavelength before it, on its own
/// line: one exchange instead of up to three. RL is a reflection back toward the launch end, so
/// it does not depend on where the receive switch stands.
public protocol CombinedMeter: LightSource, PowerMeter, ReturnLossMeter {
    /// Reads the power at `wavelengthNm`; with `returnLoss`, the RL too; with `settingLaser`, the
    /// laser is first set to `wavelengthNm` as `enable` would (nothing sent when it is there).
    func read(wavelengthNm: Int, returnLoss: Bool, settingLaser: Bool) async throws -> (power: PowerReading, returnLoss: ReturnLossReading?)
}

/// The inputs and outputs of a fixture: start button, interlock, part sensor, stack light.
public protocol FixtureIO: Instrument {
    /// Whether the module has a start button the station should wait for.
    nonisolated var hasStartButton: Bool { get }
    func lidClosed() async throws -> Bool
    func partPresent() async throws -> Bool
    func startPressed() async throws -> Bool
    func setStackLight(_ light: StackLight) async throws
}

/// The fixture's stack light: amber testing, green pass, red fail or error.
public enum StackLight: String, Sendable, Codable {
    case off, green, amber, red
}

/// A fixed barcode scanner: every scan it reads, one line each, while its port is open. The
/// stream ends (throwing why) when the port closes or cannot be opened; the caller opens it again.
public protocol BarcodeScanner: Instrument {
    func scans() async -> AsyncThrowingStream<String, any Error>
}

/// An instrument on a port that can come and go (USB): the station drops the connection when
/// the device is unplugged and points the driver at the port it comes back on.
public protocol Replugging: Instrument {
    func unplugged() async
    func replugged(at address: InstrumentAddress) async
}

/// What an instrument says of its own calibration.
public enum CalibrationRecord: Sendable, Hashable {
    /// Calibrated on this day (`yyyy-MM-dd`).
    case calibrated(on: String)
    /// The instrument says it is not calibrated.
    case notCalibrated
}

/// An instrument that reports when it was calibrated (the MAP-300 PCT's `:FACTory:CALibration:DATe?`).
public protocol ReportsCalibration: Instrument {
    func calibration() async throws -> CalibrationRecord
}

/// A power meter with several detectors that read at once (the Keysight N7744C/N7745C): a
/// launch's every candidate receive position is read in one exchange, with no receive switch.
public protocol MultiPortMeter: PowerMeter {
    nonisolated var portCount: Int { get }
    /// Every port's reading at `wavelengthNm`, port 1 first.
    func readAll(wavelengthNm: Int) async throws -> [PowerReading]
}
