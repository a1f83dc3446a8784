import FerruleCore
import Foundation

/// Santec RL1 / RLM IL-RL meter: laser source, IL detector and RL meter in one box.
///
/// Exchanges: enable 1 (`LAS:ENAB <nm>;*OPC?;*ESR?`; 0 when the laser is already at that
/// wavelength), disable 1, a power reading 1 (`READ:IL:det1? <nm>;*ESR?`), an RL reading 1, and
/// a combined reading 1 whatever it joins (`LAS:ENAB <nm>;*OPC?;READ:IL:det1? <nm>;READ:RL? <nm>;*ESR?`,
/// answered `1;IL;RLA,RLB,RLTOTAL,length;ESR`).
///
/// The RL1 reports IL against a reference it holds (`REF:IL:det1 <nm>,<dBm>`). The station keeps
/// its own references (per fixture, path and wavelength), so at connect the driver sets the
/// meter's reference to 0 dBm at every wavelength; `READ:IL:det1?` then answers -P, the power at
/// the detector. RL comes from `READ:RL?` as `RLA,RLB,RLTOTAL,length`: both ends are kept.
///
/// Sentinels (SCPI-99 special values, as the RL1 answers an IL it cannot give): +9.9E37 is an
/// infinite loss (nothing reached the detector: no light); -9.9E37 a loss below any the detector
/// can show (the power is above its range: over range, never dark); 9.91E37 an invalid reading,
/// which is an error naming the reply. An RL of +9.9E37 is a reflection below what the meter can
/// see: it is reported as the meter's range limit (75 dB fast, 85 dB standard), a lower bound.
public actor SantecRL1: CombinedMeter {
    public nonisolated let name: String
    public nonisolated let wavelengthsNm: [Int]
    public nonisolated let session: SCPISession
    public nonisolated let conversation = Conversation()
    /// IL readings at or beyond this mean no light reached the detector (the RL1's IL range is
    /// 0-70 dB against a 0 dBm reference); configurable as `noLightFloorDbm: -70`.
    public let noLightIlDb: Double
    private let rlRangeDb: Double
    /// RL takes under 1.5 s in fast mode and under 5 s in standard mode (domain notes, section 5).
    private let rlTimeout: Duration
    /// The laser's wavelength as last set on this connection: re-sent only when it changes.
    private var laser = SentSetting<Int>()

    public init(
        name: String, address: InstrumentAddress, wavelengthsNm: [Int], rlSensitivity: String = "fast",
        dutLengthM: Int = 100, noLightFloorDbm: Double? = nil, timeout: Duration = .seconds(6)
    ) {
        self.name = name
        self.wavelengthsNm = wavelengthsNm
        self.noLightIlDb = -(noLightFloorDbm ?? -70)
        self.rlRangeDb = rlSensitivity.lowercased() == "standard" ? 85 : 75
        self.rlTimeout = max(timeout, rlSensitivity.lowercased() == "standard" ? .seconds(8) : .seconds(3))
        session = SCPISession(name: name, address: address, timeout: timeout)
        session.setup = wavelengthsNm.map { "REF:IL:det1 \($0),0" } + ["RL:SENS \(rlSensitivity)", "DUT:LENGTH \(dutLengthM)"]
    }

    public func identify() async throws -> InstrumentIdentity { try await conversation.run { try await self.locked_identify() } }
    private func locked_identify() async throws -> InstrumentIdentity { try await session.identify() }

    public func enable(wavelengthNm: Int) async throws {
        try await conversation.run { try await self.locked_enable(wavelengthNm: wavelengthNm) }
    }
    private func locked_enable(wavelengthNm: Int) async throws {
        try checkLaser(wavelengthNm)
        if laser.holds(wavelengthNm, on: session) { return }
        laser.forget()
        try await session.command("LAS:ENAB \(wavelengthNm)")
        laser.record(wavelengthNm, on: session)
    }

    /// Always sent, whatever the driver believes: switching the light off is the safe state.
    public func disable() async throws { try await conversation.run { try await self.locked_disable() } }
    private func locked_disable() async throws {
        laser.forget()
        try await session.command("LAS:DISAB")
    }

    public func readPower(wavelengthNm: Int) async throws -> PowerReading {
        try await conversation.run { try await self.locked_readPower(wavelengthNm: wavelengthNm) }
    }
    private func locked_readPower(wavelengthNm: Int) async throws -> PowerReading {
        let q = "READ:IL:det1? \(wavelengthNm)"
        return try power(try await session.query(q), operation: q)
    }

    public func readReturnLoss(wavelengthNm: Int) async throws -> ReturnLossReading {
        try await conversation.run { try await self.locked_readReturnLoss(wavelengthNm: wavelengthNm) }
    }
    private func locked_readReturnLoss(wavelengthNm: Int) async throws -> ReturnLossReading {
        let q = "READ:RL? \(wavelengthNm)"
        return try returnLoss(try await session.query(q, timeout: rlTimeout), operation: q)
    }

    public func read(
        wavelengthNm: Int, returnLoss: Bool, settingLaser: Bool
    ) async throws -> (power: PowerReading, returnLoss: ReturnLossReading?) {
        try await conversation.run {
            try await self.locked_read(wavelengthNm: wavelengthNm, returnLoss: returnLoss, settingLaser: settingLaser)
        }
    }
    private func locked_read(
        wavelengthNm wl: Int, returnLoss: Bool, settingLaser: Bool
    ) async throws -> (power: PowerReading, returnLoss: ReturnLossReading?) {
        let setsLaser = settingLaser && !laser.holds(wl, on: session)
        if setsLaser {
            try checkLaser(wl)
            laser.forget()  // unknown until the line has been answered
        }
        let q = ((setsLaser ? ["LAS:ENAB \(wl)", "*OPC?"] : []) + ["READ:IL:det1? \(wl)"] + (returnLoss ? ["READ:RL? \(wl)"] : []))
            .joined(separator: ";")
        let reply = try await session.query(q, timeout: returnLoss ? rlTimeout : nil)
        // The RL answer holds commas, never ';': one answer per query on the line.
        var answers = reply.split(separator: ";", omittingEmptySubsequences: false).map { String($0.trimmingBlanks()) }
        if setsLaser {
            guard answers.first == "1" else {
                throw InstrumentError(instrument: name, operation: q, detail: "*OPC? answered \"\(reply.prefix(40))\" instead of 1")
            }
            answers.removeFirst()
        }
        guard answers.count == (returnLoss ? 2 : 1) else {
            throw InstrumentError(
                instrument: name, operation: q, detail: "reply \"\(reply.prefix(80))\" does not answer each query of the line")
        }
        if setsLaser { laser.record(wl, on: session) }
        return (try power(answers[0], operation: q), returnLoss ? try self.returnLoss(answers[1], operation: q) : nil)
    }

    private func checkLaser(_ wl: Int) throws {
        guard wavelengthsNm.contains(wl) else {
            throw InstrumentError(instrument: name, operation: "LAS:ENAB \(wl)", detail: "no laser at \(wl) nm (has \(wavelengthsNm))")
        }
    }

    /// An IL reply as a power at the detector (the meter's reference is 0 dBm), its sentinels mapped.
    private func power(_ reply: String, operation q: String) throws -> PowerReading {
        switch SCPI.sentinel(reply) {
        case .positiveInfinity?: return .noLight
        case .negativeInfinity?: return .overRange
        case .notANumber?:
            throw InstrumentError(
                instrument: name, operation: q,
                detail: "the meter answered \"\(reply.prefix(60))\": an invalid reading")
        case nil: break
        }
        guard let il = SCPI.parseNumber(reply) else {
            throw InstrumentError(instrument: name, operation: q, detail: "reply \"\(reply.prefix(60))\" is not a number")
        }
        if il >= noLightIlDb { return .noLight }
        return .dBm(-il)
    }

    /// An RL reply, `RLA,RLB,RLTOTAL,length`: both ends.
    private func returnLoss(_ reply: String, operation q: String) throws -> ReturnLossReading {
        let parts = reply.split(separator: ",").map { String($0) }
        guard parts.count >= 3 else {
            throw InstrumentError(instrument: name, operation: q, detail: "reply \"\(reply.prefix(60))\" is not RLA,RLB,RLTOTAL,length")
        }
        func end(_ text: String) throws -> Double? {
            switch SCPI.sentinel(text) {
            case .positiveInfinity?: return rlRangeDb
            case .negativeInfinity?, .notANumber?: return nil
            case nil:
                guard let v = SCPI.parseNumber(text) else {
                    throw InstrumentError(
                        instrument: name, operation: q,
                        detail: "RL \"\(text.prefix(30))\" in reply \"\(reply.prefix(60))\" is not a number")
                }
                return v
            }
        }
        return ReturnLossReading(endA: try end(parts[0]), endB: try end(parts[1]))
    }
}
