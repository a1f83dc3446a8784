import CModbus
import FerruleCore
import FerruleDevices
import FerruleSimSpec
import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// A simulated Modbus slave: a libmodbus register mapping backed by the simulated bench.
/// libmodbus's own server code parses every request and builds every reply (`modbus_receive`,
/// `modbus_reply`), on its own threads, so the wire is the real protocol in both directions.
public final class ModbusSimDevice: @unchecked Sendable {  // its libmodbus mapping is guarded by its own lock
    public let name: String
    public let unitId: Int
    public let kind: ModbusSimKind
    let bench: SimulatedBench
    private let lock = NIOLock()
    private let mapping: UnsafeMutablePointer<modbus_mapping_t>
    private var fault: WireFault = .none
    private var target: Int?
    private var movingUntil = ContinuousClock.now
    var switchSettle: Duration?  // fixed (tests); nil: the bench's timing

    init(name: String, unitId: Int, kind: ModbusSimKind, bench: SimulatedBench) {
        self.name = name
        self.unitId = unitId
        self.kind = kind
        self.bench = bench
        var points: [ModbusPoint] = []
        switch kind {
        case .opticalSwitch(let m, _): points = [m.channel, m.position, m.busy].compactMap { $0 }
        case .fixtureIO(let m, _): points = [m.lidClosed, m.partPresent, m.startButton, m.red, m.amber, m.green].compactMap { $0 }
        }
        func size(_ t: ModbusPoint.Table) -> Int32 { Int32(max(16, (points.filter { $0.table == t }.map(\.address).max() ?? 0) + 1)) }
        mapping = modbus_mapping_new(size(.coil), size(.di), size(.hr), size(.ir))
    }

    deinit { modbus_mapping_free(mapping) }

    public func inject(_ f: WireFault) { lock.withLock { fault = f } }
    private var requests = 0
    /// Requests received, each one exchange.
    public var requestsHandled: Int { lock.withLock { requests } }
    public var currentFault: WireFault { lock.withLock { fault } }

    enum Action { case replied, dropped, close }

    /// Answers one request (already received by libmodbus) on `fd`. The bench is an actor
    /// reached with `blocking`, so it is never called while `lock` is held: a test task on the
    /// cooperative pool may be waiting for that lock.
    func handle(ctx: OpaquePointer, request: UnsafePointer<UInt8>, length: Int32, fd: Int32) -> Action {
        let early: Action? = lock.withLock {
            requests += 1
            switch fault {
            case .noReply: return .dropped
            case .garbage:
                let junk: [UInt8] = [0x07, 0xFF, 0x3F, 0x00, 0x45]
                _ = junk.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count) }
                return .dropped
            case .disconnect:
                fault = .none
                return .close
            case .unplug: return .close
            case .queueError:
                // Modbus has no error queue: the device's own failure report is exception 4.
                modbus_reply_exception(ctx, request, UInt32(MODBUS_EXCEPTION_SLAVE_OR_SERVER_FAILURE))
                return .replied
            case .none, .slowSwitch, .overRange, .measurementFault: return nil
            }
        }
        if let early { return early }
        syncFromBench()
        // A write acts on the bench before the reply leaves: the master may look at once.
        let header = Int(modbus_get_header_length(ctx))
        let effect: (@Sendable () async -> Void)? = lock.withLock {
            guard preApplyWrite(UnsafeBufferPointer(start: request + header, count: Int(length) - header)) else { return nil }
            return applyWrite(function: request[header], address: Int(request[header + 1]) << 8 | Int(request[header + 2]))
        }
        if let effect { blocking(effect) }
        let answerMs = bench.timing.answerMs  // what the module takes to answer (its own thread waits)
        if answerMs > 0 { usleep(UInt32(answerMs * 1000)) }
        return lock.withLock {
            guard modbus_reply(ctx, request, length, mapping) >= 0 else { return .close }
            return .replied
        }
    }

    // MARK: Model

    /// Brings the registers up to date with the bench: a switch that has settled lands on the
    /// bench; a fixture's inputs are read from it.
    private func syncFromBench() {
        switch kind {
        case .opticalSwitch(let m, _):
            let settled: Int? = lock.withLock {
                guard let t = target, ContinuousClock.now >= movingUntil else { return nil }
                target = nil
                return t
            }
            guard let t = settled else { return }
            blocking { [bench, name] in
                if t == 0 { await bench.parkSwitch(name) } else { await bench.setSwitch(name, channel: t) }
            }
            lock.withLock {
                if let p = m.position { set(p, word: UInt16(t)) }
                if let b = m.busy { set(b, false) }
            }
        case .fixtureIO(let m, let fixture):
            let inputs = blocking { [bench] in await bench.inputs(fixture: fixture) }
            lock.withLock {
                set(m.lidClosed, inputs.lidClosed)
                if let p = m.partPresent { set(p, inputs.partPresent) }
                if let p = m.startButton { set(p, inputs.startPressed) }
            }
        }
    }

    /// Stores the values of a write request (function 5, 6, 15 or 16) in the mapping, as
    /// `modbus_reply` will; false for other functions or addresses out of the mapping (those get
    /// libmodbus's own exception reply).
    private func preApplyWrite(_ pdu: UnsafeBufferPointer<UInt8>) -> Bool {
        guard pdu.count >= 5 else { return false }
        func word(_ i: Int) -> Int { Int(pdu[i]) << 8 | Int(pdu[i + 1]) }
        let m = mapping.pointee
        let address = word(1)
        switch pdu[0] {
        case 5:
            guard address < m.nb_bits else { return false }
            m.tab_bits[address] = word(3) == 0xFF00 ? 1 : 0
        case 6:
            guard address < m.nb_registers else { return false }
            m.tab_registers[address] = UInt16(word(3))
        case 15:
            let n = word(3)
            guard address + n <= m.nb_bits, pdu.count >= 6 + (n + 7) / 8 else { return false }
            for i in 0..<n { m.tab_bits[address + i] = (pdu[6 + i / 8] >> UInt8(i % 8)) & 1 }
        case 16:
            let n = word(3)
            guard address + n <= m.nb_registers, pdu.count >= 6 + 2 * n else { return false }
            for i in 0..<n { m.tab_registers[address + i] = UInt16(word(6 + 2 * i)) }
        default: return false
        }
        return true
    }

    /// What a write does (under `lock`); the bench part is returned to run outside it.
    private func applyWrite(function: UInt8, address: Int) -> (@Sendable () async -> Void)? {
        guard [5, 6, 15, 16].contains(function) else { return nil }
        switch kind {
        case .opticalSwitch(let m, let channels):
            guard function == 6 || function == 16, address == m.channel.address else { return nil }
            let ch = Int(mapping.pointee.tab_registers[address])
            guard ch <= channels else { return nil }
            target = ch
            let settle = switchSettle ?? .microseconds(Int64(bench.timing.settleMs(WireModel.modbusSwitch.rawValue) * 1000))
            movingUntil = ContinuousClock.now + (fault == .slowSwitch ? .seconds(2) : settle)
            if let p = m.position { set(p, word: 0) }
            if let b = m.busy { set(b, true) }
            return nil
        case .fixtureIO(let m, let fixture):
            let lamps: [(StackLight, ModbusPoint?)] = [(.red, m.red), (.amber, m.amber), (.green, m.green)]
            let lit = lamps.filter { $0.1.map(get) ?? false }.map(\.0)
            return { [bench] in await bench.setStackLight(fixture: fixture, lit) }
        }
    }

    private func set(_ p: ModbusPoint, _ on: Bool) {
        let level = on != p.inverted
        switch p.table {
        case .coil: mapping.pointee.tab_bits[p.address] = level ? 1 : 0
        case .di: mapping.pointee.tab_input_bits[p.address] = level ? 1 : 0
        case .hr, .ir:
            let regs = p.table == .hr ? mapping.pointee.tab_registers! : mapping.pointee.tab_input_registers!
            if let bit = p.bit {
                regs[p.address] = level ? regs[p.address] | (1 << UInt16(bit)) : regs[p.address] & ~(1 << UInt16(bit))
            } else {
                regs[p.address] = level ? 1 : 0
            }
        }
    }

    private func set(_ p: ModbusPoint, word: UInt16) {
        (p.table == .hr ? mapping.pointee.tab_registers! : mapping.pointee.tab_input_registers!)[p.address] = word
    }

    private func get(_ p: ModbusPoint) -> Bool {
        let raw: Bool
        switch p.table {
        case .coil: raw = mapping.pointee.tab_bits[p.address] != 0
        case .di: raw = mapping.pointee.tab_input_bits[p.address] != 0
        case .hr, .ir:
            let v = (p.table == .hr ? mapping.pointee.tab_registers! : mapping.pointee.tab_input_registers!)[p.address]
            raw = p.bit.map { v & (1 << UInt16($0)) != 0 } ?? (v != 0)
        }
        return raw != p.inverted
    }
}

/// Hands a libmodbus context to the one thread that will use it.
struct ContextBox: @unchecked Sendable {  // a C pointer, moved to one thread
    let ctx: OpaquePointer
    init(_ ctx: OpaquePointer) { self.ctx = ctx }
}

/// Runs an async call to completion on the simulators' thread, from a plain thread of a server's own.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let done = DispatchSemaphore(value: 0)
    let box = NIOLockedValueBox<T?>(nil)
    Task(executorPreference: SimulatorThread.taskExecutor) {
        let v = await body()
        box.withLockedValue { $0 = v }
        done.signal()
    }
    done.wait()
    return box.withLockedValue { $0! }
}

/// Serves a simulated Modbus device: TCP through libmodbus's listener, or RTU on a pty.
public final class ModbusWireServer: @unchecked Sendable {  // mutable state under `lock`; C handles on its threads
    public let device: ModbusSimDevice
    public let endpoint: Endpoint
    private let lock = NIOLock()
    /// Wakes every serving thread at close; until then they block with no timeout.
    private let stop = StopSignal()
    private var clients: Set<Int32> = []
    private var listenFD: Int32 = -1
    private var pty: LinkedPTY?

    private init(device: ModbusSimDevice, endpoint: Endpoint) {
        self.device = device
        self.endpoint = endpoint
    }

    /// Modbus TCP on 127.0.0.1 at an ephemeral port.
    static func serveTCP(device: ModbusSimDevice, name: String) throws -> ModbusWireServer {
        guard let ctx = modbus_new_tcp("127.0.0.1", 0) else { throw LinkError(kind: .connect, detail: "modbus_new_tcp failed") }
        let fd = modbus_tcp_listen(ctx, 8)
        modbus_free(ctx)
        guard fd >= 0 else { throw LinkError(kind: .connect, detail: "modbus_tcp_listen: \(String(cString: modbus_strerror(errno)))") }
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let port = Int(UInt16(bigEndian: addr.sin_port))
        let server = ModbusWireServer(
            device: device, endpoint: Endpoint(name: name, protocol: "modbus", transport: .tcp, address: "tcp://127.0.0.1:\(port)"))
        server.listenFD = fd
        server.spawn { server.acceptLoop() }
        return server
    }

    /// Modbus RTU on a pty; the driver opens `link`, a stable symlink to the pty's slave side.
    static func servePTY(device: ModbusSimDevice, name: String, link: String) throws -> ModbusWireServer {
        let pty = try LinkedPTY(link: link)
        let server = ModbusWireServer(device: device, endpoint: Endpoint(name: name, protocol: "modbus", transport: .pty, address: link))
        server.pty = pty
        // The RTU framing, CRC and slave-id filtering are libmodbus's; only the fd is ours.
        guard let ctx = modbus_new_rtu(pty.slavePath, 115_200, 78, 8, 1) else {
            throw LinkError(kind: .connect, detail: "modbus_new_rtu failed")
        }
        modbus_set_slave(ctx, Int32(device.unitId))
        // libmodbus's receive waits with select(): it gets a copy of the master below FD_SETSIZE.
        guard let master = ModbusDescriptor.selectable(pty.master, closingOriginal: false) else {
            modbus_free(ctx)
            throw LinkError(kind: .connect, detail: "pty \(pty.master) is past libmodbus's select() limit and no lower descriptor is free")
        }
        modbus_set_socket(ctx, master)
        let box = ContextBox(ctx)  // the context is used by the serving thread only
        server.spawn {
            server.serve(ctx: box.ctx, fd: master, rtu: true)
            modbus_free(box.ctx)
            if master != pty.master { Glibc.close(master) }
            Glibc.close(pty.master)
            Glibc.close(pty.slave)  // held open until now so that the pty survives the driver reopening it
        }
        return server
    }

    public func inject(_ fault: WireFault) {
        let was = device.currentFault
        device.inject(fault)
        if fault == .unplug { dropConnections() }
        // A pty instrument unplugged vanishes from /dev; plugged back, it is there again.
        pty?.follow(fault, was: was)
    }

    public func dropConnections() {
        lock.withLock { for fd in clients { shutdown(fd, Int32(SHUT_RDWR)) } }
    }

    public func close() {
        stop.raise()
        dropConnections()
        pty?.unlink()
        // The threads wake at once and release their descriptors themselves. Not waited for:
        // close() is called from async code, and a serving thread may itself be waiting for the
        // simulators' thread (`blocking`).
    }

    private func spawn(_ body: @escaping @Sendable () -> Void) {
        let name = "modbus-\(endpoint.name)"
        Thread {
            nameCurrentThread(name)
            body()
        }.start()
    }

    private func acceptLoop() {
        defer { Glibc.close(listenFD) }
        while let revents = stop.waitReadable(listenFD) {
            if revents & Int16(POLLNVAL) != 0 { return }
            let fd = accept(listenFD, nil, nil)
            guard fd >= 0 else { continue }
            if device.currentFault == .unplug {
                Glibc.close(fd)
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            lock.withLock { _ = clients.insert(fd) }
            spawn { [self] in
                guard let ctx = modbus_new_tcp("127.0.0.1", 0) else {
                    Glibc.close(fd)
                    return
                }
                modbus_set_socket(ctx, fd)
                serve(ctx: ctx, fd: fd, rtu: false)
                modbus_free(ctx)
                lock.withLock { _ = clients.remove(fd) }
                Glibc.close(fd)
            }
        }
    }

    private func serve(ctx: OpaquePointer, fd: Int32, rtu: Bool) {
        var buf = [UInt8](repeating: 0, count: Int(MODBUS_TCP_MAX_ADU_LENGTH))
        while let revents = stop.waitReadable(fd) {
            if revents & Int16(POLLNVAL | POLLERR) != 0 { return }
            if !rtu && revents & Int16(POLLHUP) != 0 && revents & Int16(POLLIN) == 0 { return }
            let n: Int32
            if rtu {
                n = buf.withUnsafeMutableBufferPointer { modbus_receive(ctx, $0.baseAddress) }
                if n < 0 {
                    modbus_flush(ctx)
                    continue
                }  // a torn or corrupt frame on the line
                if n == 0 { continue }  // a frame for another unit id
            } else {
                guard let frame = readTCPFrame(fd, into: &buf) else { return }  // the peer went away
                n = frame
                // A device answers its own unit id only; a request for another is not its to answer.
                guard Int(buf[6]) == device.unitId else { continue }
                // libmodbus frames only the functions it knows; any other gets exception 01 at once.
                guard Self.supportedFunctions.contains(buf[7]) else {
                    buf.withUnsafeBufferPointer {
                        _ = modbus_reply_exception(
                            ctx, $0.baseAddress,
                            UInt32(MODBUS_EXCEPTION_ILLEGAL_FUNCTION))
                    }
                    continue
                }
            }
            let action = buf.withUnsafeBufferPointer { device.handle(ctx: ctx, request: $0.baseAddress!, length: n, fd: fd) }
            switch action {
            case .replied, .dropped: continue
            case .close:
                if rtu { continue }  // a pty cannot be disconnected: the request is swallowed
                return
            }
        }
    }

    /// Read coils, discrete inputs, holding and input registers; write single and multiple coils
    /// and registers; mask write; read/write multiple registers.
    static let supportedFunctions: Set<UInt8> = [1, 2, 3, 4, 5, 6, 15, 16, 22, 23]

    /// One Modbus TCP frame (MBAP header, then as many bytes as its length field says), read
    /// here rather than by libmodbus, which cannot frame a function it does not know.
    private func readTCPFrame(_ fd: Int32, into buf: inout [UInt8]) -> Int32? {
        guard readExactly(fd, &buf, from: 0, count: 7) else { return nil }
        let length = Int(buf[4]) << 8 | Int(buf[5])
        guard (2...254).contains(length), readExactly(fd, &buf, from: 7, count: length - 1) else { return nil }
        return Int32(6 + length)
    }

    private func readExactly(_ fd: Int32, _ buf: inout [UInt8], from start: Int, count: Int) -> Bool {
        var got = 0
        while got < count {
            guard let revents = stop.waitReadable(fd), revents & Int16(POLLNVAL) == 0 else { return false }
            let n = buf.withUnsafeMutableBufferPointer { read(fd, $0.baseAddress! + start + got, count - got) }
            if n <= 0 { return false }
            got += n
        }
        return true
    }
}
