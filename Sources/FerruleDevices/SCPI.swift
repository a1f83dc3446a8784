import CoreMetrics
import FerruleCore
import Foundation

/// SCPI conversation rules (IEEE 488.2) shared by the SCPI drivers.
public enum SCPI {
    /// `*IDN?` answer: maker, model, serial, firmware (comma separated, surrounding spaces ignored).
    public static func parseIdentity(_ reply: String) -> InstrumentIdentity? {
        let parts = reply.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count >= 4, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return InstrumentIdentity(manufacturer: parts[0], model: parts[1], serial: parts[2], firmware: parts[3...].joined(separator: ","))
    }

    /// `SYST:ERR?` answer: `<code>,"<text>"`; code 0 is "no error".
    public static func parseError(_ reply: String) -> (code: Int, text: String)? {
        guard let comma = reply.firstIndex(of: ","), let code = Int(reply[..<comma].trimmingCharacters(in: .whitespaces)) else {
            return nil
        }
        let text = reply[reply.index(after: comma)...].trimmingCharacters(in: .whitespaces).trimmingCharacters(
            in: CharacterSet(charactersIn: "\""))
        return (code, text)
    }

    /// The SCPI-99 special values (SCPI-99 vol. 1, 7.2.1.5; written in any exponent form, e.g.
    /// `+9.91000000E+037`): 9.9E37 is +infinity, -9.9E37 -infinity, 9.91E37 "not a number".
    /// What each means (over range, under range, invalid) is per instrument: see its driver.
    public enum Sentinel: Sendable, Equatable {
        case positiveInfinity, negativeInfinity, notANumber
    }

    public static func sentinel(_ text: String) -> Sentinel? {
        var t = text.trimmingBlanks()
        while let last = t.last, last.isLetter { t.removeLast() }
        guard let v = Double(t), abs(v) >= 9.0e37 else { return nil }
        if abs(v - 9.91e37) < 0.005e37 { return .notANumber }
        return v > 0 ? .positiveInfinity : .negativeInfinity
    }

    /// A power in watts as Keysight's meters answer it (816x, N774x): +9.91E37 / +9.9E37 over
    /// range, -9.9E37 no light, a dark detector's noise (tiny or negative watts) below
    /// `noLightFloorDbm` no light. Nil when the text is not a number.
    public static func wattsReading(_ text: String, noLightFloorDbm: Double) -> PowerReading? {
        switch sentinel(text) {
        case .positiveInfinity?, .notANumber?: return .overRange
        case .negativeInfinity?: return .noLight
        case nil: break
        }
        guard let w = parseNumber(text) else { return nil }
        let reading = PowerReading.watts(w)
        if let dbm = reading.dBmValue, dbm < noLightFloorDbm { return .noLight }
        return reading
    }

    /// A number as instruments write it (`+1.33555600E-006`, `-12.5`, `12.5dBm`).
    /// IEEE 488.2 / SCPI sentinels (9.9E37 "not a number", 9.91E37 NaN) come back as nil.
    public static func parseNumber(_ text: String) -> Double? {
        var t = text.trimmingBlanks()
        while let last = t.last, last.isLetter { t.removeLast() }
        guard let v = Double(t), v.isFinite, abs(v) < 9.0e37 else { return nil }
        return v
    }
}

/// A SCPI instrument's session: connects on demand (`*CLS` first), asks, checks the instrument's
/// event status with every exchange, and turns every failure into an `InstrumentError` that names
/// the instrument, the command and the instrument's own words.
///
/// Exchanges: a command or a query costs one exchange: `*ESR?` rides on the same line
/// (`LAS:ENAB 1310;*OPC?;*ESR?` answers `1;0`), and the error queue is read only when the event
/// status has an error bit set (then one `SYST:ERR?` per queued error, plus the one that says 0).
public final class SCPISession: @unchecked Sendable {
    // Unchecked: every use goes through its driver's `Conversation` (one exchange at a time, the
    // replug handlers included), which is what keeps its mutable state to one task.
    public let name: String
    public private(set) var address: InstrumentAddress
    public var timeout: Duration
    /// Commands sent after `*CLS` on every (re)connect, e.g. `sens1:pow:unit 1`.
    public var setup: [String] = []
    /// False for instruments without IEEE 488.2 status and error queue (DiCon).
    public var hasErrorQueue = true
    /// How many times the session has connected: a driver's cache of the instrument's settings is
    /// good only for the connection it was made on (a re-plugged instrument may have reset).
    public private(set) var connections = 0
    private var link: LineLink?

    /// Event status bits that mean an error was queued (IEEE 488.2 11.5.1): query error (2),
    /// device-dependent error (3), execution error (4), command error (5).
    static let errorBits = 4 | 8 | 16 | 32

    private let roundTrips: CoreMetrics.Timer

    public init(name: String, address: InstrumentAddress, timeout: Duration = .seconds(2)) {
        self.name = name
        self.address = address
        self.timeout = timeout
        roundTrips = DeviceMetrics.roundTripTimer(instrument: name)
    }

    public var isConnected: Bool { link?.isOpen ?? false }

    public func disconnect() {
        link?.close()
        link = nil
    }

    /// The port moved (re-plugged as another tty): the next exchange connects there.
    public func relocate(to address: InstrumentAddress) {
        disconnect()
        self.address = address
    }

    private func connected(_ operation: String) async throws -> LineLink {
        if let link, link.isOpen { return link }
        link = nil
        do {
            let l = try await LineLink.open(address, connectTimeout: timeout)
            link = l
            connections += 1
            if hasErrorQueue { try await l.send("*CLS") }
            for cmd in setup { try await command(cmd) }
            return l
        } catch let e as LinkError {
            throw InstrumentError(instrument: name, operation: operation, detail: e.detail)
        }
    }

    /// Sends a command and checks that the instrument took it: one exchange. With
    /// `waitForCompletion` (the default) the line is `<cmd>;*OPC?;*ESR?`, which answers once the
    /// command is done; without it `<cmd>;*ESR?`, for an operation the driver polls itself (a
    /// switch move). Either way a command lost on the line is a timeout, never a silent no-op (a
    /// laser that never came on would read as dark fibers: a false `fail`).
    public func command(_ cmd: String, waitForCompletion: Bool = true) async throws {
        guard hasErrorQueue else {
            let l = try await connected(cmd)
            do { try await l.send(cmd) } catch let e as LinkError {
                disconnect()
                throw InstrumentError(instrument: name, operation: cmd, detail: e.detail)
            }
            return
        }
        guard waitForCompletion else {
            _ = try await exchange(cmd, operation: cmd, replies: false)
            return
        }
        let done = try await exchange("\(cmd);*OPC?", operation: cmd)
        guard done == "1" else {
            disconnect()
            throw InstrumentError(instrument: name, operation: cmd, detail: "*OPC? answered \"\(done.prefix(40))\" instead of 1")
        }
    }

    /// Sends a query and returns its reply: one exchange (`<query>;*ESR?`). An error names
    /// `operation` when given (a line that joins a command to its first query), else the query.
    public func query(_ q: String, operation: String? = nil, timeout: Duration? = nil) async throws -> String {
        try await exchange(q, operation: operation ?? q, timeout: timeout)
    }

    /// One line out, one reply back, with the event status joined where the instrument has one.
    private func exchange(_ line: String, operation: String, timeout: Duration? = nil, replies: Bool = true) async throws -> String {
        let l = try await connected(operation)
        guard hasErrorQueue else { return try await ask(l, line, operation: operation, timeout: timeout ?? self.timeout) }
        let reply = try await ask(l, line + ";*ESR?", operation: operation, timeout: timeout ?? self.timeout)
        let parts = reply.split(separator: ";", omittingEmptySubsequences: false)
        // A reply is `<answer>;<esr>` (the answer may itself hold ';'), a bare command's `<esr>`;
        // a query the instrument refused has no answer, and its error is in the queue.
        let esr = parts.last.flatMap { Int($0.trimmingBlanks()) }
        if let esr, esr & Self.errorBits != 0 { try await checkErrors(after: operation) }
        guard esr != nil, replies ? parts.count >= 2 : parts.count == 1 else {
            disconnect()
            throw InstrumentError(
                instrument: name, operation: operation, detail: "reply \"\(reply.prefix(60))\" does not end in the event status (*ESR?)")
        }
        return String(parts.dropLast().joined(separator: ";").trimmingBlanks())
    }

    private func ask(_ l: LineLink, _ line: String, operation: String, timeout: Duration) async throws -> String {
        do {
            let started = ContinuousClock.now
            let reply = try await l.query(line, timeout: timeout)
            roundTrips.recordInterval(since: started)
            return String(reply.trimmingBlanks())
        } catch let e as LinkError {
            disconnect()
            throw InstrumentError(
                instrument: name, operation: operation, detail: e.kind == .timeout ? "no reply within \(timeout)" : e.detail)
        }
    }

    /// A query whose reply must be a number.
    public func number(_ q: String) async throws -> Double {
        let reply = try await query(q)
        guard let v = SCPI.parseNumber(reply) else {
            throw InstrumentError(instrument: name, operation: q, detail: "reply \"\(reply.prefix(60))\" is not a number")
        }
        return v
    }

    public func identify() async throws -> InstrumentIdentity {
        let reply = try await query("*IDN?")
        guard let id = SCPI.parseIdentity(reply) else {
            throw InstrumentError(
                instrument: name, operation: "*IDN?", detail: "reply \"\(reply.prefix(80))\" is not maker,model,serial,firmware")
        }
        return id
    }

    /// Reads the error queue until it is empty (the event status said an error was queued) and
    /// throws what it held.
    private func checkErrors(after cmd: String) async throws {
        guard let l = link else { return }
        var errors: [String] = []
        for _ in 0..<32 {  // the queue is about 30 deep; a queue that never empties is a fault too
            let reply = try await ask(l, "SYST:ERR?", operation: "\(cmd) (SYST:ERR?)", timeout: timeout)
            guard let (code, text) = SCPI.parseError(reply) else {
                disconnect()
                throw InstrumentError(
                    instrument: name, operation: "\(cmd) (SYST:ERR?)", detail: "reply \"\(reply.prefix(60))\" is not code,\"text\"")
            }
            if code == 0 { break }
            errors.append("\(code),\"\(text)\"")
        }
        if !errors.isEmpty {
            throw InstrumentError(instrument: name, operation: cmd, detail: "instrument error \(errors.joined(separator: "; "))")
        }
    }
}

/// A setting as a driver last sent it on one connection of its session. It holds only while that
/// connection lasts: a re-plugged (or power-cycled) instrument may have reset, so it is sent again.
struct SentSetting<Value: Equatable & Sendable>: Sendable {
    private var sent: (value: Value, connection: Int)?

    /// Whether `value` is what the session's current connection was last given.
    func holds(_ value: Value, on session: SCPISession) -> Bool {
        guard let sent, session.isConnected else { return false }
        return sent.value == value && sent.connection == session.connections
    }

    mutating func record(_ value: Value, on session: SCPISession) { sent = (value, session.connections) }
    mutating func forget() { sent = nil }
}
