import FerruleCore
import Foundation

// Drivers for real instrument command sets (domain notes, section 5). Each is an actor: one
// conversation with its instrument at a time.

/// Santec OSX optical switch (TCP 5025). Switching is asynchronous: after `CLOSe <ch>` the driver
/// polls `:STAT:OPER:COND?` until it reads 0 (every 10 ms, at most 300 polls, as the vendor's
/// example does), with `CLOSe?` on the same line so that the last poll also checks the channel.
///
/// Exchanges per move: one per poll, the first riding on the move's own line
/// (`CLOSe <ch>;:STAT:OPER:COND?;CLOSe?;*ESR?`, then `:STAT:OPER:COND?;CLOSe?;*ESR?` every 10 ms;
/// the error queue read only if the event status has an error): 1 for a switch that is done at
/// once, about 30 for a 300 ms move. None when the switch is already on that channel.
public actor SantecOSX: OpticalSwitch {
    public nonisolated let name: String
    public nonisolated let channelCount: Int
    public nonisolated let session: SCPISession
    public nonisolated let conversation = Conversation()
    public var pollInterval: Duration = .milliseconds(10)
    public var maxPolls = 300
    /// The channel as last set on this connection.
    private var current = SentSetting<Int>()

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
            throw InstrumentError(
                instrument: name, operation: "MODule:CATalog?", detail: "module \(cat) has \(n) channels, the config says \(channelCount)")
        }
        return id
    }

    public func select(channel: Int) async throws { try await conversation.run { try await self.locked_select(channel: channel) } }
    private func locked_select(channel: Int) async throws {
        guard (1...channelCount).contains(channel) else {
            throw InstrumentError(instrument: name, operation: "CLOSe \(channel)", detail: "channel out of range 1...\(channelCount)")
        }
        if current.holds(channel, on: session) { return }
        current.forget()
        let move = "CLOSe \(channel)"
        let poll = ":STAT:OPER:COND?;CLOSe?"
        var polls = 0
        while true {
            let q = polls == 0 ? "\(move);\(poll)" : poll
            let reply = try await session.query(q, operation: polls == 0 ? move : poll)
            let parts = reply.split(separator: ";").map { Int($0.trimmingBlanks()) }
            guard parts.count == 2, let cond = parts[0] else {
                throw InstrumentError(instrument: name, operation: q, detail: "reply \"\(reply.prefix(40))\" is not condition;channel")
            }
            if cond == 0 {
                guard parts[1] == channel else {
                    throw InstrumentError(
                        instrument: name, operation: "CLOSe \(channel)",
                        detail: "switch reports channel \(parts[1].map(String.init) ?? "?") after switching")
                }
                break
            }
            polls += 1
            if polls >= maxPolls {
                throw InstrumentError(
                    instrument: name, operation: "CLOSe \(channel)", detail: "still switching after \(maxPolls) polls of :STAT:OPER:COND?")
            }
            try await Task.sleep(for: pollInterval)
        }
        current.record(channel, on: session)
    }

    /// The OSX has no park position; the station's safe state is the source being off.
    public func park() async throws { try await conversation.run { try await self.locked_park() } }
    private func locked_park() async throws { current.forget() }
}

/// Keysight 8163B/8164B/8166B mainframe (and N77xx): a laser module as the source and a power
/// meter module, each addressed by slot (and channel), in one instrument that fixtures share.
///
/// Commands (Keysight 8163A/B, 8164A/B & 8166A/B Mainframes Programming Guide):
/// `:SOURce<n>:WAVelength <nm>NM`, `:SOURce<n>:POWer:STATe 0|1`, `:SENSe<n>:CHANnel<m>:POWer:WAVelength`,
/// `...:POWer:UNIT 1` (watts), `...:POWer:ATIMe <s>`, `:READ<n>:CHANnel<m>:POWer?`.
///
/// Readings: watts. A dark detector reads its noise (a tiny, varying power, not 0 W): below
/// `noLightFloorDbm` (default -80 dBm: the N7744C/81634B sensors' noise at 100 ms averaging is
/// tens of fW to pW, well under it; the data sheets give -80 to -110 dBm as the lowest power) a
/// reading is no light. Sentinels: the mainframe answers a reading it cannot make (the display's
/// "+1.--- dBm", power above the range's upper limit) with SCPI's "not a number" +9.91E37, and
/// +9.9E37 likewise: over range, never dark. -9.9E37 (under range) is no light.
///
/// Exchanges: enable 1 (`:SOUR<n>:WAV <nm>NM;:SOUR<n>:POW:STAT 1;*OPC?;*ESR?`; 0 when already on
/// at that wavelength), disable 1, a reading 1 (the meter's wavelength joined to `:READ?` when it
/// changes). Settings are remembered per connection only: a re-plugged mainframe gets them again.
public actor Keysight816x: LightSource, PowerMeter {
    /// Where the laser module and the power meter sit in the mainframe.
    public struct Slots: Sendable, Hashable {
        public var sourceSlot: Int?
        public var meterSlot: Int
        public var meterChannel: Int
        /// Averaging time in seconds.
        public var averagingTime: Double

        public init(sourceSlot: Int? = nil, meterSlot: Int = 1, meterChannel: Int = 1, averagingTime: Double = 0.1) {
            self.sourceSlot = sourceSlot
            self.meterSlot = meterSlot
            self.meterChannel = meterChannel
            self.averagingTime = averagingTime
        }
    }
    public nonisolated let name: String
    public nonisolated let wavelengthsNm: [Int]
    public nonisolated let slots: Slots
    public nonisolated let session: SCPISession
    public nonisolated let conversation = Conversation()
    public let noLightFloorDbm: Double
    /// What this connection has set: the meter's wavelength, and the laser's while it is on.
    private var wavelength = SentSetting<Int>()
    private var sourceOn = SentSetting<Int>()

    public init(
        name: String, address: InstrumentAddress, slots: Slots = Slots(), wavelengthsNm: [Int] = [],
        noLightFloorDbm: Double? = nil, timeout: Duration = .seconds(3)
    ) {
        self.name = name
        self.slots = slots
        self.wavelengthsNm = wavelengthsNm
        self.noLightFloorDbm = noLightFloorDbm ?? -80
        session = SCPISession(name: name, address: address, timeout: timeout)
        let sense = ":SENS\(slots.meterSlot):CHAN\(slots.meterChannel):POW"
        session.setup = ["\(sense):UNIT 1", "\(sense):ATIM \(slots.averagingTime)S"]
    }

    public func identify() async throws -> InstrumentIdentity { try await conversation.run { try await self.locked_identify() } }
    private func locked_identify() async throws -> InstrumentIdentity { try await session.identify() }

    public func enable(wavelengthNm: Int) async throws { try await conversation.run { try await self.locked_enable(wavelengthNm) } }
    private func locked_enable(_ wl: Int) async throws {
        guard let slot = slots.sourceSlot else {
            throw InstrumentError(
                instrument: name, operation: "enable the source",
                detail: "no laser module configured (add 'source: { slot: N }')")
        }
        guard wavelengthsNm.contains(wl) else {
            throw InstrumentError(
                instrument: name, operation: ":SOUR\(slot):WAV \(wl)NM",
                detail: "no laser at \(wl) nm (has \(wavelengthsNm))")
        }
        if sourceOn.holds(wl, on: session) { return }
        sourceOn.forget()
        try await session.command(":SOUR\(slot):WAV \(wl)NM;:SOUR\(slot):POW:STAT 1")
        sourceOn.record(wl, on: session)
    }

    public func disable() async throws { try await conversation.run { try await self.locked_disable() } }
    private func locked_disable() async throws {
        guard let slot = slots.sourceSlot else { return }
        sourceOn.forget()  // always sent: switching the light off is the safe state
        try await session.command(":SOUR\(slot):POW:STAT 0")
    }

    public func readPower(wavelengthNm: Int) async throws -> PowerReading {
        try await conversation.run { try await self.locked_readPower(wavelengthNm: wavelengthNm) }
    }
    private func locked_readPower(wavelengthNm: Int) async throws -> PowerReading {
        let n = slots.meterSlot
        let m = slots.meterChannel
        var q = ":READ\(n):CHAN\(m):POW?"
        if !wavelength.holds(wavelengthNm, on: session) {
            q = ":SENS\(n):CHAN\(m):POW:WAV \(wavelengthNm)NM;" + q
            wavelength.forget()
        }
        let reply = try await session.query(q)
        wavelength.record(wavelengthNm, on: session)
        guard let reading = SCPI.wattsReading(reply, noLightFloorDbm: noLightFloorDbm) else {
            throw InstrumentError(instrument: name, operation: q, detail: "reply \"\(reply.prefix(60))\" is not a number")
        }
        return reading
    }
}

/// DiCon MEMS 1xN switch on a serial line (115200 8N1): `I1 <ch>`, `I1?`, `PK`, `ID?`. Not SCPI:
/// no error queue, so every move is read back.
///
/// Exchanges per move: 2 (`I1 <ch>`, which has no reply, and the read-back `I1?`, its only
/// check; the protocol does not promise that two commands may share a line). None when the
/// switch is already on that channel.
public actor DiConSwitch: OpticalSwitch {
    public nonisolated let name: String
    public nonisolated let channelCount: Int
    public nonisolated let session: SCPISession
    public nonisolated let conversation = Conversation()
    /// The channel as last set on this connection.
    private var current = SentSetting<Int>()

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
        if current.holds(channel, on: session) { return }
        current.forget()
        try await session.command("I1 \(channel)")
        let now = try await session.query("I1?")
        guard Int(now) == channel else {
            throw InstrumentError(instrument: name, operation: "I1 \(channel)", detail: "switch reports \"\(now)\" after the move")
        }
        current.record(channel, on: session)
    }

    public func park() async throws { try await conversation.run { try await self.locked_park() } }
    private func locked_park() async throws {
        try await session.command("PK")
        current.forget()
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
