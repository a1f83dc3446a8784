import FerruleCore
import Foundation
import NIOCore
import NIOExtras
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Serial line settings (termios).
public struct SerialSettings: Sendable, Hashable, Codable {
    /// Serial parity.
    public enum Parity: String, Sendable, Codable, CaseIterable { case none, even, odd }
    public var baud: Int = 115_200
    public var dataBits: Int = 8
    public var parity: Parity = .none
    public var stopBits: Int = 1
    /// RTS/CTS hardware flow control.
    public var rtsCts = false

    public init() {}
}

/// Where an instrument is: a TCP endpoint or a serial device (a udev match resolves to one).
public enum InstrumentAddress: Sendable, Hashable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case serial(path: String, SerialSettings)

    /// `tcp://host:port` or a device path (`/dev/ttyUSB0`, `/dev/ferrule/ilrl`).
    public static func parse(_ text: String, serial: SerialSettings = SerialSettings()) -> InstrumentAddress? {
        if text.hasPrefix("tcp://") {
            let rest = text.dropFirst(6)
            guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else {
                return nil
            }
            let host = String(rest[..<colon])
            return host.isEmpty ? nil : .tcp(host: host, port: port)
        }
        if text.hasPrefix("/") { return .serial(path: text, serial) }
        return nil
    }

    public var description: String {
        switch self {
        case .tcp(let h, let p): return "tcp://\(h):\(p)"
        case .serial(let path, let s): return "\(path)@\(s.baud)"
        }
    }
}

/// A link that failed: timed out, closed, flooded or could not open, with the detail.
public struct LinkError: Error, Sendable, CustomStringConvertible {
    /// How the link failed.
    public enum Kind: Sendable { case connect, timeout, disconnected, io }
    public var kind: Kind
    public var detail: String
    public var description: String { detail }
    public init(kind: Kind, detail: String) {
        self.kind = kind
        self.detail = detail
    }
}

/// A newline-terminated conversation with one instrument over TCP or a serial line, one
/// exchange at a time (the driver actor guarantees that). Every wait is bounded; on a timeout
/// the link closes, so that a late reply can never be taken as the answer to the next question.
public final class LineLink: Sendable {
    public let address: InstrumentAddress
    private let channel: any Channel
    private let handler: NIOLoopBound<ReplyHandler>
    private let terminator: String

    private init(address: InstrumentAddress, channel: any Channel, handler: NIOLoopBound<ReplyHandler>, terminator: String) {
        self.address = address
        self.channel = channel
        self.handler = handler
        self.terminator = terminator
    }

    public static func open(_ address: InstrumentAddress, connectTimeout: Duration = .seconds(3), terminator: String = "\n") async throws
        -> LineLink
    {
        let group = InstrumentThread.loop
        let initializer: @Sendable (any Channel) -> EventLoopFuture<NIOLoopBound<ReplyHandler>> = { ch in
            ch.eventLoop.makeCompletedFuture {
                let h = ReplyHandler()
                try ch.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineBasedFrameDecoder(), maximumBufferSize: 1 << 20))
                try ch.pipeline.syncOperations.addHandler(h)
                return NIOLoopBound(h, eventLoop: ch.eventLoop)
            }
        }
        do {
            switch address {
            case .tcp(let host, let port):
                let ch = try await ClientBootstrap(group: group)
                    .connectTimeout(.nanoseconds(connectTimeout.nanoseconds))
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .connect(host: host, port: port)
                    .get()
                let h = try await ch.eventLoop.flatSubmit { initializer(ch) }.get()
                return LineLink(address: address, channel: ch, handler: h, terminator: terminator)
            case .serial(let path, let settings):
                let fd = try openSerial(path, settings)
                let ch = try await NIOPipeBootstrap(group: group)
                    .takingOwnershipOfDescriptor(inputOutput: fd)
                    .get()
                let h = try await ch.eventLoop.flatSubmit { initializer(ch) }.get()
                return LineLink(address: address, channel: ch, handler: h, terminator: terminator)
            }
        } catch let e as LinkError {
            throw e
        } catch {
            throw LinkError(kind: .connect, detail: "cannot open \(address): \(error)")
        }
    }

    public var isOpen: Bool { channel.isActive }

    public func close() { channel.close(promise: nil) }

    /// Sends a line that has no reply, at most `timeout` for the write: an instrument that stops
    /// reading closes the link instead of holding the conversation forever.
    public func send(_ line: String, timeout: Duration = .seconds(5)) async throws {
        let written: EventLoopFuture<Void> = onLoop { [channel, address, terminator] loop in
            guard channel.isActive else { return loop.makeFailedFuture(LinkError(kind: .disconnected, detail: "\(address) is closed")) }
            let timer = loop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) { channel.close(promise: nil) }
            let done = channel.writeAndFlush(ByteBuffer(string: line + terminator))
            done.whenComplete { _ in timer.cancel() }
            return done.flatMapErrorThrowing { error in
                throw LinkError(kind: .disconnected, detail: "writing to \(address): \(error)")
            }
        }
        try await written.get()
    }

    /// Sends a line and waits for the next line back, at most `timeout`. One task on the link's
    /// event loop expects the reply and writes the line; none when the caller is already there.
    public func query(_ line: String, timeout: Duration) async throws -> String {
        let reply: EventLoopFuture<String> = onLoop { [channel, handler, address, terminator] loop in
            guard channel.isActive else { return loop.makeFailedFuture(LinkError(kind: .disconnected, detail: "\(address) is closed")) }
            let promise = loop.makePromise(of: String.self)
            handler.value.expect(promise)
            // The timeout bounds the write too: an instrument that stops reading (a hung
            // USB-serial adapter, a full TCP window) must not hold the exchange forever. The
            // link is closed before the caller hears of the timeout, so that a late reply is
            // never taken for the next question.
            let timer = loop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) {
                handler.value.timeOut { channel.close(promise: nil) }
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
            channel.writeAndFlush(ByteBuffer(string: line + terminator)).whenFailure { error in
                // A timeout or a close has failed the reply already, with the better reason.
                handler.value.fail(LinkError(kind: .disconnected, detail: "writing to \(address): \(error)"))
            }
            return promise.futureResult
        }
        return try await reply.get()
    }

    /// Runs `body` on the channel's event loop: at once when already there, else as one task.
    private func onLoop<T: Sendable>(_ body: @escaping @Sendable (any EventLoop) -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        let loop = channel.eventLoop
        return loop.inEventLoop ? body(loop) : loop.flatSubmit { body(loop) }
    }

    /// Opens a serial device raw, exclusive, with the given line settings. A node that is not a
    /// tty (a USB-TMC device, `ENOTTY` to every terminal ioctl) is used as it is: line settings
    /// do not apply to it.
    static func openSerial(_ path: String, _ s: SerialSettings) throws -> Int32 {
        let fd = Glibc.open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw LinkError(kind: .connect, detail: "cannot open \(path): \(String(cString: strerror(errno)))") }
        if ioctl(fd, UInt(TIOCEXCL)) != 0 {
            let e = errno
            if e == ENOTTY { return fd }
            Glibc.close(fd)
            throw LinkError(kind: .connect, detail: "cannot get exclusive use of \(path): \(String(cString: strerror(e)))")
        }
        var t = termios()
        guard tcgetattr(fd, &t) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw LinkError(kind: .connect, detail: "\(path) is not a serial line: \(String(cString: strerror(e)))")
        }
        cfmakeraw(&t)
        let speeds: [Int: speed_t] = [
            9600: speed_t(B9600), 19200: speed_t(B19200), 38400: speed_t(B38400), 57600: speed_t(B57600),
            115_200: speed_t(B115200), 230_400: speed_t(B230400)
        ]
        guard let speed = speeds[s.baud] else {
            Glibc.close(fd)
            throw LinkError(kind: .connect, detail: "\(path): baud \(s.baud) is not one of \(speeds.keys.sorted())")
        }
        cfsetispeed(&t, speed)
        cfsetospeed(&t, speed)
        t.c_cflag &= ~tcflag_t(CSIZE)
        t.c_cflag |= tcflag_t([5: CS5, 6: CS6, 7: CS7, 8: CS8][s.dataBits] ?? CS8)
        switch s.parity {
        case .none: t.c_cflag &= ~tcflag_t(PARENB)
        case .even:
            t.c_cflag |= tcflag_t(PARENB)
            t.c_cflag &= ~tcflag_t(PARODD)
        case .odd: t.c_cflag |= tcflag_t(PARENB | PARODD)
        }
        if s.stopBits == 2 { t.c_cflag |= tcflag_t(CSTOPB) } else { t.c_cflag &= ~tcflag_t(CSTOPB) }
        if s.rtsCts { t.c_cflag |= tcflag_t(CRTSCTS) } else { t.c_cflag &= ~tcflag_t(CRTSCTS) }
        t.c_cflag |= tcflag_t(CLOCAL | CREAD)
        guard tcsetattr(fd, TCSANOW, &t) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw LinkError(kind: .connect, detail: "cannot configure \(path): \(String(cString: strerror(e)))")
        }
        tcflush(fd, TCIOFLUSH)
        return fd
    }
}

/// Hands each inbound line to the one waiting exchange; lines nobody waits for are dropped.
final class ReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private var waiting: EventLoopPromise<String>?
    private var closed = false

    func expect(_ p: EventLoopPromise<String>) {
        if closed {
            p.fail(LinkError(kind: .disconnected, detail: "the instrument closed the connection"))
            return
        }
        waiting?.fail(LinkError(kind: .io, detail: "a new exchange started before the last one ended"))
        waiting = p
    }

    /// The waiting exchange timed out: `closing` runs first (the close then fails nothing else),
    /// and only then does the exchange fail, so that its caller never finds the link still open.
    func timeOut(closing: () -> Void = {}) {
        let timedOut = waiting
        waiting = nil
        closing()
        timedOut?.fail(LinkError(kind: .timeout, detail: "no reply within the timeout"))
    }

    /// Fails the waiting exchange, if there is one.
    func fail(_ error: LinkError) {
        waiting?.fail(error)
        waiting = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = String(buffer: unwrapInboundIn(data))
        waiting?.succeed(line)
        waiting = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        waiting?.fail(LinkError(kind: .disconnected, detail: "the instrument closed the connection"))
        waiting = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        waiting?.fail(LinkError(kind: .io, detail: "\(error)"))
        waiting = nil
        context.close(promise: nil)
    }
}
