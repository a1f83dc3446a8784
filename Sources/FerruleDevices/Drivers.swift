import FerruleCore
import Foundation

// Drivers for real instrument command sets (domain notes, section 5). Each is an actor: one
// conversation with its instrument at a time.

/// Santec RL1 / RLM IL-RL meter: laser source, IL detector and RL meter in one box.
///
/// The RL1 reports IL against a reference it holds (`REF:IL:det1 <nm>,<dBm>`). The station keeps
/// its own references (per fixture, channel and wavelength), so at connect the driver sets the
/// meter's reference to 0 dBm at every wavelength; `READ:IL:det1?` then answers -P, the power at
/// the detector. RL comes from `READ:RL?` as `RLA,RLB,RLTOTAL,length`; the station uses RL at A.
public actor SantecRL1: LightSource, PowerMeter, ReturnLossMeter {
    public nonisolated let name: String
    public nonisolated let wavelengthsNm: [Int]
    public nonisolated let session: SCPISession
    public nonisolated let conversation = Conversation()
    /// IL readings beyond this mean no light reached the detector.
    public var noLightIlDb: Double = 70

    public init(name: String, address: InstrumentAddress, wavelengthsNm: [Int], rlSensitivity: String = "fast",
                dutLengthM: Int = 100, timeout: Duration = .seconds(6)) {
        self.name = name
        self.wavelengthsNm = wavelengthsNm
        session = SCPISession(name: name, address: address, timeout: timeout)
        session.setup = wavelengthsNm.map { "REF:IL:det1 \($0),0" } + ["RL:SENS \(rlSensitivity)", "DUT:LENGTH \(dutLengthM)"]
    }

    public func identify() async throws -> InstrumentIdentity { try await conversation.run { try await self.locked_identify() } }
    private func locked_identify() async throws -> InstrumentIdentity { try await session.identify() }

    public func enable(wavelengthNm: Int) async throws { try await conversation.run { try await self.locked_enable(wavelengthNm: wavelengthNm) } }
    private func locked_enable(wavelengthNm: Int) async throws {
        guard wavelengthsNm.contains(wavelengthNm) else {
            throw InstrumentError(instrument: name, operation: "LAS:ENAB \(wavelengthNm)", detail: "no laser at \(wavelengthNm) nm (has \(wavelengthsNm))")
        }
        try await session.command("LAS:ENAB \(wavelengthNm)")
    }

    public func disable() async throws { try await conversation.run { try await self.locked_disable() } }
    private func locked_disable() async throws { try await session.command("LAS:DISAB") }

    public func readPower(wavelengthNm: Int) async throws -> PowerReading { try await conversation.run { try await self.locked_readPower(wavelengthNm: wavelengthNm) } }
    private func locked_readPower(wavelengthNm: Int) async throws -> PowerReading {
        let reply = try await session.query("READ:IL:det1? \(wavelengthNm)")
        guard let il = SCPI.parseNumber(reply) else {
            // Sentinel or under range: nothing arrived.
            if reply.uppercased().contains("E+37") || reply.uppercased().contains("E37") { return .noLight }
            throw InstrumentError(instrument: name, operation: "READ:IL:det1? \(wavelengthNm)", detail: "reply \"\(reply.prefix(60))\" is not a number")
        }
        if il >= noLightIlDb { return .noLight }
        if il < -20 { return .overRange }  // more than +20 dBm at the detector is not a measurement
        return .dBm(-il)
    }

    public func readReturnLoss(wavelengthNm: Int) async throws -> Double? { try await conversation.run { try await self.locked_readReturnLoss(wavelengthNm: wavelengthNm) } }
    private func locked_readReturnLoss(wavelengthNm: Int) async throws -> Double? {
        let q = "READ:RL? \(wavelengthNm)"
        let reply = try await session.query(q, timeout: .seconds(8))  // standard sensitivity takes up to 5 s
        let parts = reply.split(separator: ",").map { String($0) }
        guard parts.count >= 3 else {
            throw InstrumentError(instrument: name, operation: q, detail: "reply \"\(reply.prefix(60))\" is not RLA,RLB,RLTOTAL,length")
        }
        return SCPI.parseNumber(parts[0])
    }
}

/// Santec OSX optical switch (TCP 5025). Switching is asynchronous: after `CLOSe <ch>` the driver
/// polls `:STAT:OPER:COND?` until it reads 0 (every 10 ms, at most 300 polls, as the vendor's
/// example does), then checks `CLOSe?`.
public actor SantecOSX: OpticalSwitch {
    public nonisolated let name: String
    public nonisolated let channelCount: Int
    public nonisolated let session: SCPISession
    public nonisolated let conversation = Conversation()
    public var pollInterval: Duration = .milliseconds(10)
    public var maxPolls = 300
    private var current: Int?

    public init(name: String, address: InstrumentAddress, channelCount: Int, timeout: Duration = .seconds(2)) {
        self.name = name
        self.channelCount = channelCount
        session = SCPISession(name: name, address: address, timeout: timeout)
    }

    public func identify() async throws -> InstrumentIdentity { try await conversation.run { try await self.locked_identify() } }
    private func locked_identify() async throws -> InstrumentIdentity {
        let id = try await session.identify()
        // "SX 1Ax24": the module must have at least the configured channels.
        let cat = try await session.query("MODule:CATalog?")
        if let n = cat.split(whereSeparator: { !$0.isNumber }).last.flatMap({ Int($0) }), n < channelCount {
            throw InstrumentError(instrument: name, operation: "MODule:CATalog?", detail: "module \(cat) has \(n) channels, the config says \(channelCount)")
        }
        return id
    }

    public func select(channel: Int) async throws { try await conversation.run { try await self.locked_select(channel: channel) } }
    private func locked_select(channel: Int) async throws {
        guard (1...channelCount).contains(channel) else {
            throw InstrumentError(instrument: name, operation: "CLOSe \(channel)", detail: "channel out of range 1...\(channelCount)")
        }
        if current == channel { return }
        current = nil
        try await session.command("CLOSe \(channel)")
        var polls = 0
        while true {
            let cond = try await session.query(":STAT:OPER:COND?")
            if Int(cond) == 0 { break }
            polls += 1
            if polls >= maxPolls {
                throw InstrumentError(instrument: name, operation: "CLOSe \(channel)", detail: "still switching after \(maxPolls) polls of :STAT:OPER:COND?")
            }
            try await Task.sleep(for: pollInterval)
        }
        let now = try await session.query("CLOSe?")
        guard Int(now) == channel else {
            throw InstrumentError(instrument: name, operation: "CLOSe \(channel)", detail: "switch reports channel \(now) after switching")
        }
        current = channel
    }

    /// The OSX has no park position; the station's safe state is the source being off.
    public func park() async throws { try await conversation.run { try await self.locked_park() } }
    private func locked_park() async throws { current = nil }
}

/// Keysight 816x power meter, read in watts (`read1:pow?` -> `+1.33555600E-006`).
public actor Keysight816x: PowerMeter {
    public nonisolated let name: String
    public nonisolated let session: SCPISession
    public nonisolated let conversation = Conversation()
    private var wavelength: Int?

    public init(name: String, address: InstrumentAddress, averagingTime: String = "100ms", timeout: Duration = .seconds(3)) {
        self.name = name
        session = SCPISession(name: name, address: address, timeout: timeout)
        session.setup = ["sens1:pow:unit 1", "sens1:pow:atim \(averagingTime)"]
    }

    public func identify() async throws -> InstrumentIdentity { try await conversation.run { try await self.locked_identify() } }
    private func locked_identify() async throws -> InstrumentIdentity { try await session.identify() }

    public func readPower(wavelengthNm: Int) async throws -> PowerReading { try await conversation.run { try await self.locked_readPower(wavelengthNm: wavelengthNm) } }
    private func locked_readPower(wavelengthNm: Int) async throws -> PowerReading {
        if wavelength != wavelengthNm {
            try await session.command("sens1:pow:wav \(wavelengthNm)nm")
            wavelength = wavelengthNm
        }
        let reply = try await session.query("read1:pow?")
        guard let w = SCPI.parseNumber(reply) else {
            if reply.uppercased().contains("E+37") || reply.uppercased().contains("E+38") { return .overRange }
            throw InstrumentError(instrument: name, operation: "read1:pow?", detail: "reply \"\(reply.prefix(60))\" is not a number")
        }
        return .watts(w)
    }
}

/// DiCon MEMS 1xN switch on a serial line (115200 8N1): `I1 <ch>`, `I1?`, `PK`, `ID?`. Not SCPI:
/// no error queue, so every move is read back.
public actor DiConSwitch: OpticalSwitch {
    public nonisolated let name: String
    public nonisolated let channelCount: Int
    public nonisolated let session: SCPISession
    public nonisolated let conversation = Conversation()
    private var current: Int?

    public init(name: String, address: InstrumentAddress, channelCount: Int, timeout: Duration = .seconds(1)) {
        self.name = name
        self.channelCount = channelCount
        session = SCPISession(name: name, address: address, timeout: timeout)
        session.hasErrorQueue = false
    }

    public func identify() async throws -> InstrumentIdentity { try await conversation.run { try await self.locked_identify() } }
    private func locked_identify() async throws -> InstrumentIdentity {
        let reply = try await session.query("ID?")
        // e.g. "DiCon,MEMS 1x24,SN12345,FW2.1"; a bare model string is accepted too.
        return SCPI.parseIdentity(reply) ?? InstrumentIdentity(manufacturer: "DiCon", model: reply, serial: "", firmware: "")
    }

    public func select(channel: Int) async throws { try await conversation.run { try await self.locked_select(channel: channel) } }
    private func locked_select(channel: Int) async throws {
        guard (1...channelCount).contains(channel) else {
            throw InstrumentError(instrument: name, operation: "I1 \(channel)", detail: "channel out of range 1...\(channelCount)")
        }
        if current == channel { return }
        current = nil
        try await session.command("I1 \(channel)")
        let now = try await session.query("I1?")
        guard Int(now) == channel else {
            throw InstrumentError(instrument: name, operation: "I1 \(channel)", detail: "switch reports \"\(now)\" after the move")
        }
        current = channel
    }

    public func park() async throws { try await conversation.run { try await self.locked_park() } }
    private func locked_park() async throws {
        try await session.command("PK")
        current = nil
    }
}

/// A driver whose every exchange goes through one SCPI session.
public protocol SCPIBacked: Instrument {
    nonisolated var session: SCPISession { get }
    nonisolated var conversation: Conversation { get }
}

// Every SCPI driver follows its port through unplug and re-plug, one conversation at a time.
extension SCPIBacked {
    public func unplugged() async { _ = try? await conversation.run { self.session.disconnect() } }
    public func replugged(at address: InstrumentAddress) async { _ = try? await conversation.run { self.session.relocate(to: address) } }
}
extension SantecRL1: SCPIBacked, Replugging {}
extension SantecOSX: SCPIBacked, Replugging {}
extension Keysight816x: SCPIBacked, Replugging {}
extension DiConSwitch: SCPIBacked, Replugging {}
