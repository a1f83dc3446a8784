import FerruleCore
import FerruleDevices
import FerruleSimSpec

/// Turns an injected fault into the error a real driver would raise for that symptom.
private func fault(_ bench: SimulatedBench, _ name: String, _ op: String) async throws {
    guard let kind = await bench.checkFault(name) else { return }
    let detail: String
    switch kind {
    case .noReply: detail = "no reply within the timeout"
    case .garbage: detail = "unparseable reply \"#\\u{7}?ERR\""
    case .queueError: detail = "instrument error -222,\"Data out of range\""
    case .disconnect: detail = "instrument disconnected"
    }
    throw InstrumentError(instrument: name, operation: op, detail: detail)
}

/// A simulated 1xN switch acting on the bench model.
public actor SimulatedSwitch: OpticalSwitch {
    nonisolated public var unownedExecutor: UnownedSerialExecutor { SimulatorThread.actorExecutor }
    public nonisolated let name: String
    public nonisolated let channelCount: Int
    private let bench: SimulatedBench

    public init(name: String, channelCount: Int, bench: SimulatedBench) {
        self.name = name
        self.channelCount = channelCount
        self.bench = bench
    }

    public func identify() async throws -> InstrumentIdentity {
        try await fault(bench, name, "*IDN?")
        return InstrumentIdentity(manufacturer: "Ferrule", model: "SIM-OSW 1x\(channelCount)", serial: "SIM-\(name)", firmware: "1.0")
    }

    public func select(channel: Int) async throws {
        try await fault(bench, name, "select channel \(channel)")
        guard (1...channelCount).contains(channel) else {
            throw InstrumentError(instrument: name, operation: "select channel \(channel)",
                                  detail: "channel out of range 1...\(channelCount)")
        }
        // Asked for the channel it is on, a switch does not move (and takes no settling time).
        if await bench.switchChannel(name) == channel { return }
        await bench.setSwitch(name, channel: channel)
        try await pause(ms: bench.timing.settleMs(Self.driverName))
    }

    public func park() async throws {
        try await fault(bench, name, "park")
        await bench.parkSwitch(name)
    }
}

/// A simulated IL/RL meter: laser source, power meter and RL meter in one box (like a Santec RL1).
public actor SimulatedILRLMeter: LightSource, PowerMeter, ReturnLossMeter {
    nonisolated public var unownedExecutor: UnownedSerialExecutor { SimulatorThread.actorExecutor }
    public nonisolated let name: String
    public nonisolated let wavelengthsNm: [Int]
    private let bench: SimulatedBench
    private var lit: Int?

    public init(name: String, wavelengthsNm: [Int], bench: SimulatedBench) {
        self.name = name
        self.wavelengthsNm = wavelengthsNm
        self.bench = bench
    }

    public func identify() async throws -> InstrumentIdentity {
        try await fault(bench, name, "*IDN?")
        return InstrumentIdentity(manufacturer: "Ferrule", model: "SIM-ILRL", serial: "SIM-\(name)", firmware: "1.0")
    }

    public func enable(wavelengthNm: Int) async throws {
        try await fault(bench, name, "enable laser \(wavelengthNm) nm")
        guard wavelengthsNm.contains(wavelengthNm) else {
            throw InstrumentError(instrument: name, operation: "enable laser \(wavelengthNm) nm",
                                  detail: "no laser at \(wavelengthNm) nm (has \(wavelengthsNm))")
        }
        lit = wavelengthNm
        await bench.setSource(name, wavelengthNm: wavelengthNm)
    }

    public func disable() async throws {
        lit = nil
        await bench.setSource(name, wavelengthNm: nil)
        try await fault(bench, name, "disable laser")
    }

    /// Like a real meter with a no-light floor at -70 dBm: the noise of a dark detector below it
    /// is no light, what is above it is a (noisy) power the station must judge itself.
    public func readPower(wavelengthNm: Int) async throws -> PowerReading {
        try await fault(bench, name, "read power \(wavelengthNm) nm")
        try await pause(ms: bench.timing.meterAveragingMs)
        return await bench.readPower(meter: name, wavelengthNm: wavelengthNm).reading(floorDbm: -70)
    }

    public func readReturnLoss(wavelengthNm: Int) async throws -> ReturnLossReading {
        try await fault(bench, name, "read RL \(wavelengthNm) nm")
        try await pause(ms: bench.timing.rlMeasurementMs)
        let rl = await bench.readReturnLoss(meter: name, wavelengthNm: wavelengthNm)
        return ReturnLossReading(endA: rl?.a, endB: rl?.b)
    }
}

extension SimulatedSwitch: RegisteredDriver {
    public static let driverName = SimulatedDriverInfo.opticalSwitch.name
    public static let summary = SimulatedDriverInfo.opticalSwitch.summary
    public static let bus = DriverBus.inProcess
}

extension SimulatedILRLMeter: RegisteredDriver {
    public static let driverName = SimulatedDriverInfo.ilrlMeter.name
    public static let summary = SimulatedDriverInfo.ilrlMeter.summary
    public static let bus = DriverBus.inProcess
}
