import CoreMetrics
import CModbus
import FerruleCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One Modbus data point as a register map names it: the table, the 0-based protocol address
/// (as on the wire: `hr:0` is 40001 in Modicon notation), an optional bit of a register, and
/// whether the signal is active low. Written `di:3`, `coil:0`, `ir:5.2`, `hr:100`, `!di:1`.
public struct ModbusPoint: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The Modbus table a point lives in.
    public enum Table: String, Sendable, Codable, CaseIterable {
        /// Coils (read/write bits, function 1/5).
        case coil
        /// Discrete inputs (read-only bits, function 2).
        case di
        /// Holding registers (read/write words, function 3/6).
        case hr
        /// Input registers (read-only words, function 4).
        case ir

        public var title: String {
            switch self {
            case .coil: "coil"
            case .di: "discrete input"
            case .hr: "holding register"
            case .ir: "input register"
            }
        }
        public var writable: Bool { self == .coil || self == .hr }
        public var isBit: Bool { self == .coil || self == .di }
    }

    public var table: Table
    public var address: Int
    /// A bit (0...15) of a register; nil for a whole register or a bit table.
    public var bit: Int?
    public var inverted: Bool

    public init(_ table: Table, _ address: Int, bit: Int? = nil, inverted: Bool = false) {
        self.table = table
        self.address = address
        self.bit = bit
        self.inverted = inverted
    }

    /// Parses `[!]table:address[.bit]`; nil with the reason when malformed.
    public static func parse(_ text: String) -> Result<ModbusPoint, ModbusPointError> {
        var t = Substring(text.trimmingCharacters(in: .whitespaces))
        let inverted = t.hasPrefix("!")
        if inverted { t = t.dropFirst() }
        let parts = t.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let table = Table(rawValue: parts[0].lowercased()) else {
            return .failure(
                .init(
                    text: text, reason: "expected TABLE:ADDRESS with TABLE one of \(Table.allCases.map(\.rawValue).joined(separator: ", "))"
                ))
        }
        let addrBit = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        guard let address = Int(addrBit[0]), (0...65535).contains(address) else {
            return .failure(.init(text: text, reason: "the address must be a whole number 0...65535 (the protocol address, not 4xxxx)"))
        }
        var bit: Int?
        if addrBit.count == 2 {
            guard !table.isBit, let b = Int(addrBit[1]), (0...15).contains(b) else {
                return .failure(.init(text: text, reason: table.isBit ? "a \(table.title) has no bits to pick" : "the bit must be 0...15"))
            }
            bit = b
        } else if addrBit.count > 2 {
            return .failure(.init(text: text, reason: "write at most one '.BIT'"))
        }
        return .success(ModbusPoint(table, address, bit: bit, inverted: inverted))
    }

    public var description: String {
        (inverted ? "!" : "") + "\(table.rawValue):\(address)" + (bit.map { ".\($0)" } ?? "")
    }

    /// Whether this point reads as a signal (a bit, or a register bit) rather than a whole word.
    public var isSignal: Bool { table.isBit || bit != nil }

    public init(from decoder: any Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        switch Self.parse(s) {
        case .success(let p): self = p
        case .failure(let e): throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: e.reason))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// A register point written wrong in a config, with what was expected.
public struct ModbusPointError: Error, Sendable, Hashable {
    public var text: String
    public var reason: String
}

/// A Modbus RTU or TCP master over libmodbus, for one unit id on one link. libmodbus is
/// blocking, so every request runs on this link's own serial queue, never on Swift's
/// cooperative pool. Every wait is bounded: the response timeout times (1 + retries).
///
/// Errors name the instrument, the unit id, the register and what happened (timeout, bad CRC,
/// the device's exception, the connection lost) and are `InstrumentError`s, so a unit hit by
/// one ends `error`.
public actor ModbusLink {
    public nonisolated let name: String
    public nonisolated let address: InstrumentAddress
    public nonisolated let unitId: Int
    public nonisolated let timeout: Duration
    public nonisolated let retries: Int
    private let queue: DispatchQueue
    private let context: ModbusContext
    private let roundTrips: CoreMetrics.Timer

    public init(name: String, address: InstrumentAddress, unitId: Int, timeout: Duration = .milliseconds(500), retries: Int = 2) {
        self.name = name
        self.address = address
        self.unitId = unitId
        self.timeout = timeout
        self.retries = max(0, retries)
        self.queue = DispatchQueue(label: "ferrule.modbus.\(name)")
        self.context = ModbusContext(address: address, unitId: unitId, timeout: timeout)
        roundTrips = DeviceMetrics.roundTripTimer(instrument: name)
    }

    // MARK: Requests

    public func readBits(_ table: ModbusPoint.Table, address: Int, count: Int) async throws -> [Bool] {
        precondition(table.isBit)
        let what = "read \(count) \(table.title)\(count == 1 ? "" : "s") at \(address)"
        return try await perform(what) { ctx in
            var buf = [UInt8](repeating: 0, count: count)
            let rc =
                table == .coil
                ? modbus_read_bits(ctx, Int32(address), Int32(count), &buf)
                : modbus_read_input_bits(ctx, Int32(address), Int32(count), &buf)
            return (rc, buf.map { $0 != 0 })
        }
    }

    public func readRegisters(_ table: ModbusPoint.Table, address: Int, count: Int) async throws -> [UInt16] {
        precondition(!table.isBit)
        let what = "read \(count) \(table.title)\(count == 1 ? "" : "s") at \(address)"
        return try await perform(what) { ctx in
            var buf = [UInt16](repeating: 0, count: count)
            let rc =
                table == .hr
                ? modbus_read_registers(ctx, Int32(address), Int32(count), &buf)
                : modbus_read_input_registers(ctx, Int32(address), Int32(count), &buf)
            return (rc, buf)
        }
    }

    public func writeRegister(address: Int, value: UInt16) async throws {
        try await perform("write holding register \(address) = \(value)") { ctx in (modbus_write_register(ctx, Int32(address), value), ()) }
    }

    public func writeCoil(address: Int, on: Bool) async throws {
        try await perform("write coil \(address) = \(on ? 1 : 0)") { ctx in (modbus_write_bit(ctx, Int32(address), on ? 1 : 0), ()) }
    }

    /// Reads a point as a signal: a bit, or one bit of a register; inversion applied.
    public func read(_ p: ModbusPoint) async throws -> Bool {
        let raw: Bool
        if p.table.isBit {
            raw = try await readBits(p.table, address: p.address, count: 1)[0]
        } else {
            let v = try await readRegisters(p.table, address: p.address, count: 1)[0]
            raw = p.bit.map { v & (1 << UInt16($0)) != 0 } ?? (v != 0)
        }
        return raw != p.inverted
    }

    /// Reads a whole register.
    public func readWord(_ p: ModbusPoint) async throws -> UInt16 {
        try await readRegisters(p.table, address: p.address, count: 1)[0]
    }

    /// Drives an output point (a coil, or a bit of a holding register by read-modify-write).
    public func write(_ p: ModbusPoint, _ on: Bool) async throws {
        let level = on != p.inverted
        switch p.table {
        case .coil: try await writeCoil(address: p.address, on: level)
        case .hr:
            if let bit = p.bit {
                let v = try await readRegisters(.hr, address: p.address, count: 1)[0]
                let nv = level ? v | (1 << UInt16(bit)) : v & ~(1 << UInt16(bit))
                try await writeRegister(address: p.address, value: nv)
            } else {
                try await writeRegister(address: p.address, value: level ? 1 : 0)
            }
        case .di, .ir:
            throw InstrumentError(
                instrument: name, operation: "write \(p)",
                detail: "a \(p.table.title) is read-only; map this output to a coil or holding register")
        }
    }

    public func close() async {
        let ctx = context
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            queue.async {
                ctx.close()
                c.resume()
            }
        }
    }

    // MARK: Engine

    private func perform<T: Sendable>(_ what: String, _ op: @escaping @Sendable (OpaquePointer) -> (Int32, T)) async throws -> T {
        let ctx = context
        let retries = retries
        let name = name
        let unitId = unitId
        let timeout = timeout
        let address = address
        let roundTrips = roundTrips
        let outcome: Result<T, InstrumentError> = await withCheckedContinuation { cont in
            queue.async {
                var lastFailure = ""
                for attempt in 0...retries {
                    if let failure = ctx.connectIfNeeded() {
                        lastFailure = failure
                        // Nothing answers at all: a retry right away would fail the same way.
                        if attempt < retries { usleep(50_000) }
                        continue
                    }
                    errno = 0
                    let started = ContinuousClock.now
                    let (rc, value) = op(ctx.handle!)
                    if rc >= 0 {
                        roundTrips.recordInterval(since: started)
                        cont.resume(returning: .success(value))
                        return
                    }
                    let e = errno
                    let text = String(cString: modbus_strerror(e))
                    switch ModbusErrorClass(errno: e) {
                    case .exception:
                        // The device understood and refused: retrying gets the same answer.
                        cont.resume(
                            returning: .failure(
                                InstrumentError(
                                    instrument: name, operation: "Modbus unit \(unitId): \(what)",
                                    detail:
                                        """
                                            the device answered exception: \(text) (check the register map in the config against the \
                                            module's manual)
                                            """
                                )))
                        return
                    case .timeout:
                        lastFailure = "no reply within \(ModbusLink.ms(timeout))"
                        ctx.recover(closing: address.isTCP)
                    case .corrupt:
                        lastFailure =
                            e == FERRULE_EMBBADCRC
                            ? "bad CRC in the reply (line noise, wrong baud or two masters)" : "invalid reply: \(text)"
                        ctx.recover(closing: address.isTCP)
                    case .link:
                        lastFailure = "connection lost: \(text)"
                        ctx.close()
                    }
                }
                cont.resume(
                    returning: .failure(
                        InstrumentError(
                            instrument: name, operation: "Modbus unit \(unitId) at \(address): \(what)",
                            detail: "\(lastFailure) (\(retries + 1) tr\(retries == 0 ? "y" : "ies"))")))
            }
        }
        return try outcome.get()
    }

    static func ms(_ d: Duration) -> String {
        let (s, a) = d.components
        return "\(s * 1000 + a / 1_000_000_000_000_000) ms"
    }
}

enum ModbusErrorClass {
    case exception, timeout, corrupt, link

    init(errno e: Int32) {
        switch e {
        case FERRULE_EMBXILFUN, FERRULE_EMBXILADD, FERRULE_EMBXILVAL, FERRULE_EMBXSFAIL, FERRULE_EMBXACK, FERRULE_EMBXSBUSY,
            FERRULE_EMBXNACK, FERRULE_EMBXMEMPAR, FERRULE_EMBXGPATH, FERRULE_EMBXGTAR:
            self = .exception
        case ETIMEDOUT: self = .timeout
        case FERRULE_EMBBADCRC, FERRULE_EMBBADDATA, FERRULE_EMBBADEXC, FERRULE_EMBMDATA, FERRULE_EMBBADSLAVE: self = .corrupt
        default: self = .link
        }
    }
}

extension InstrumentAddress {
    var isTCP: Bool {
        if case .tcp = self { return true }
        return false
    }
}

/// The libmodbus context of one link; used only on the link's queue.
final class ModbusContext: @unchecked Sendable {  // confined to the link's serial queue
    let address: InstrumentAddress
    let unitId: Int
    let timeout: Duration
    private(set) var handle: OpaquePointer?
    private var connected = false

    init(address: InstrumentAddress, unitId: Int, timeout: Duration) {
        self.address = address
        self.unitId = unitId
        self.timeout = timeout
    }

    deinit {
        if let handle {
            if connected { modbus_close(handle) }
            modbus_free(handle)
        }
    }

    /// Connects when not connected; the reason when it cannot.
    func connectIfNeeded() -> String? {
        if connected, handle != nil { return nil }
        if handle == nil {
            switch address {
            case .tcp(let host, let port): handle = modbus_new_tcp_pi(host, String(port))
            case .serial(let path, let s):
                let parity: CChar =
                    switch s.parity {
                    case .none: 78
                    case .even: 69
                    case .odd: 79
                    }  // N E O
                handle = modbus_new_rtu(path, Int32(s.baud), parity, Int32(s.dataBits), Int32(s.stopBits))
            }
            guard let h = handle else {
                return "cannot create a libmodbus context for \(address): \(String(cString: modbus_strerror(errno)))"
            }
            modbus_set_slave(h, Int32(unitId))
            let (sec, atto) = timeout.components
            let usec = atto / 1_000_000_000_000
            modbus_set_response_timeout(h, UInt32(sec), UInt32(usec))
            // Between bytes of one frame: generous for USB-serial adapters that deliver in chunks.
            modbus_set_byte_timeout(h, 0, 200_000)
        }
        guard let h = handle else { return "cannot connect to \(address): no libmodbus context" }
        if case .tcp(let host, let port) = address {
            // Connected here: modbus_connect would wait with select() on a number it cannot take.
            switch ModbusDescriptor.connectTCP(host: host, port: port, timeout: timeout) {
            case .success(let fd): modbus_set_socket(h, fd)
            case .failure(let why): return "cannot connect to \(address): \(why)"
            }
            connected = true
            return nil
        }
        guard modbus_connect(h) == 0 else {
            return "cannot connect to \(address): \(String(cString: modbus_strerror(errno)))"
        }
        let fd = modbus_get_socket(h)
        guard let low = ModbusDescriptor.selectable(fd) else {
            modbus_close(h)
            return "cannot talk to \(address): its descriptor \(fd) is past the \(ModbusDescriptor.selectLimit) that libmodbus can "
                + "wait on, and none below is free (too many files open in this process; check for leaked connections)"
        }
        if low != fd { modbus_set_socket(h, low) }
        connected = true
        return nil
    }

    /// After a timeout or a corrupt reply: a late or partial answer must not be taken for the
    /// next one. TCP reconnects (a new transaction stream); RTU drops what is buffered.
    func recover(closing: Bool) {
        guard let handle, connected else { return }
        if closing {
            close()
        } else {
            usleep(20_000)
            modbus_flush(handle)
        }
    }

    func close() {
        guard let handle, connected else { return }
        modbus_close(handle)
        connected = false
    }
}
