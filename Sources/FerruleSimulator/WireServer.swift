import FerruleCore
import FerruleDevices
import FerruleSimSpec
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOExtras
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// One endpoint of the simulated bench, as written to the endpoints file.
public struct Endpoint: Sendable, Codable, Hashable {
    public var name: String
    /// `scpi` (also for DiCon's line protocol) or `modbus`.
    public var `protocol`: String
    public var transport: WireTransport
    /// `tcp://127.0.0.1:PORT` or the pty's stable symlink path.
    public var address: String
    /// A MAP-300's PCT application port (`address` is then the chassis).
    public var applicationAddress: String?
}

/// A raw pty pair whose slave side is reached through a stable symlink, as a USB-serial port is
/// through /dev/ferrule/NAME. Unplugging removes the link; plugging back restores it.
struct LinkedPTY: Sendable {
    let master: Int32
    let slave: Int32
    let slavePath: String
    let link: String

    init(link: String) throws {
        var master: Int32 = -1
        var slave: Int32 = -1
        var nameBuffer = [CChar](repeating: 0, count: 256)
        guard openpty(&master, &slave, &nameBuffer, nil, nil) == 0 else {
            throw LinkError(kind: .connect, detail: "openpty: \(String(cString: strerror(errno)))")
        }
        for fd in [master, slave] {
            var t = termios()
            tcgetattr(fd, &t)
            cfmakeraw(&t)
            tcsetattr(fd, TCSANOW, &t)
        }
        self.master = master
        self.slave = slave
        self.slavePath = String(cString: nameBuffer)
        self.link = link
        try FileManager.default.createDirectory(atPath: parentDirectory(of: link), withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: slavePath)
    }

    /// Follows an injected fault: the link vanishes on `unplug` and comes back after it.
    func follow(_ fault: WireFault, was: WireFault) {
        if fault == .unplug {
            unlink()
        } else if was == .unplug {
            try? FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: slavePath)
        }
    }

    func unlink() { try? FileManager.default.removeItem(atPath: link) }
}

/// Serves simulated instruments on real transports: SCPI lines over TCP and over a pty.
public final class WireServer: Sendable {
    let device: SCPIDevice
    public let endpoint: Endpoint
    private let closer: @Sendable () -> Void
    private let connections: NIOLockedValueBox<[any Channel]>
    private let pty: LinkedPTY?

    private init(
        device: SCPIDevice, endpoint: Endpoint, connections: NIOLockedValueBox<[any Channel]>, pty: LinkedPTY? = nil,
        closer: @escaping @Sendable () -> Void
    ) {
        self.device = device
        self.pty = pty
        self.endpoint = endpoint
        self.connections = connections
        self.closer = closer
    }

    public func inject(_ fault: WireFault, scope: FaultScope = FaultScope()) async {
        let was = await device.fault
        await device.inject(fault, scope: scope)
        // A pty instrument unplugged vanishes from /dev (a pty cannot drop its one connection).
        if let pty { pty.follow(fault, was: was) } else if fault == .unplug { dropConnections() }
    }
    public func queuedErrors() async -> Int { await device.queuedErrors }

    /// Drops every open connection (a cable pulled): the driver sees a disconnect.
    public func dropConnections() {
        for c in connections.withLockedValue({ $0 }) { c.close(promise: nil) }
    }

    public func close() {
        dropConnections()
        closer()
    }

    static func pipeline(
        _ ch: any Channel, device: SCPIDevice, connections: NIOLockedValueBox<[any Channel]>,
        canClose: Bool = true
    ) -> EventLoopFuture<Void> {
        ch.eventLoop.makeCompletedFuture {
            try ch.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineBasedFrameDecoder(), maximumBufferSize: 64 * 1024))
            try ch.pipeline.syncOperations.addHandler(LineServerHandler(device: device, canClose: canClose))
            connections.withLockedValue { $0.append(ch) }
        }
    }

    /// With `admit`, a connection made while it says no is closed at once (an application not up yet).
    static func serveTCP(
        device: SCPIDevice, name: String, host: String = "127.0.0.1", port: Int = 0, admit: (@Sendable () -> Bool)? = nil
    ) async throws -> WireServer {
        let connections = NIOLockedValueBox<[any Channel]>([])
        let server = try await ServerBootstrap(group: SimulatorThread.loop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { ch in
                if let admit, !admit() { return ch.close() }
                return pipeline(ch, device: device, connections: connections)
            }
            .bind(host: host, port: port).get()
        let p = server.localAddress?.port ?? port
        return WireServer(
            device: device, endpoint: Endpoint(name: name, protocol: "scpi", transport: .tcp, address: "tcp://\(host):\(p)"),
            connections: connections, closer: { server.close(promise: nil) })
    }

    /// A pty pair: the instrument side is served here; the driver opens `link` (a stable symlink
    /// to the pty's slave device) exactly as it would open a USB-serial port.
    static func servePTY(device: SCPIDevice, name: String, link: String) async throws -> WireServer {
        let pty = try LinkedPTY(link: link)
        let master = pty.master
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
        let connections = NIOLockedValueBox<[any Channel]>([])
        let ch = try await NIOPipeBootstrap(group: SimulatorThread.loop)
            // A pty cannot be "disconnected" without destroying it: a disconnect drops the exchange
            // mid-conversation instead, as a pulled serial cable does.
            .channelInitializer { ch in pipeline(ch, device: device, connections: connections, canClose: false) }
            .takingOwnershipOfDescriptor(inputOutput: master).get()
        // The slave stays open here so that the pty survives the driver closing and reopening it.
        return WireServer(
            device: device, endpoint: Endpoint(name: name, protocol: "scpi", transport: .pty, address: link),
            connections: connections, pty: pty,
            closer: {
                ch.close(promise: nil)
                Glibc.close(pty.slave)
                pty.unlink()
            })
    }
}

/// Reads command lines, answers through the simulated device, one line at a time in order.
final class LineServerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let device: SCPIDevice
    let canClose: Bool
    private var tail: EventLoopFuture<Void>?

    init(device: SCPIDevice, canClose: Bool) {
        self.device = device
        self.canClose = canClose
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = String(buffer: unwrapInboundIn(data))
        let loop = context.eventLoop
        let channel = context.channel
        let device = device
        let canClose = canClose
        // Keep replies in command order: each line waits for the previous one.
        let previous = tail ?? loop.makeSucceededVoidFuture()
        let next = previous.flatMap {
            let p = loop.makePromise(of: Void.self)
            // On the simulators' own thread, not the cooperative pool (see `SimulatorThread`).
            Task(executorPreference: SimulatorThread.taskExecutor) {
                let (reply, close) = await device.handle(line)
                if close {
                    if canClose { try? await channel.close() }
                } else if let reply {
                    try? await channel.writeAndFlush(ByteBuffer(string: reply + "\n"))
                }
                p.succeed()
            }
            return p.futureResult
        }
        tail = next
    }
}
