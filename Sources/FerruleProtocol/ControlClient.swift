import Foundation
import NIOCore
import NIOPosix

/// The station's socket could not be reached; says where and what to check.
public struct ConnectError: Error, CustomStringConvertible {
    public var path: String
    public var underlying: String
    public var description: String {
        "cannot connect to the station at \(path) (\(underlying)); is ferruled running? Use --socket PATH or $FERRULE_SOCKET"
    }
}

/// One connection to a station's status socket.
public struct ControlSession: ~Copyable {
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let writer: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var nextId = 0
    /// Events that arrived while waiting for a reply, handed out by `next()` first.
    private var pending: [ControlMessage] = []

    /// Connects, runs `body`, closes.
    public static func with<T: Sendable>(path: String, _ body: (inout ControlSession) async throws -> T) async throws -> T {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: path) { ch in
                    ch.eventLoop.makeCompletedFuture {
                        try ch.pipeline.syncOperations.addLineFraming(maxLineBytes: 64 << 20)  // a long history page
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: ch)
                    }
                }
        } catch {
            throw ConnectError(path: path, underlying: "\(error)")
        }
        return try await channel.executeThenClose { inbound, outbound in
            var session = ControlSession(iterator: inbound.makeAsyncIterator(), writer: outbound)
            return try await body(&session)
        }
    }

    private init(iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator, writer: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
        self.iterator = iterator
        self.writer = writer
    }

    /// The next line from the station, or nil when it closed the connection.
    public mutating func next() async throws -> ControlMessage? {
        if !pending.isEmpty { return pending.removeFirst() }
        return try await read()
    }

    private mutating func read() async throws -> ControlMessage? {
        guard let line = try await iterator.next() else { return nil }
        return try JSONDecoder().decode(ControlMessage.self, from: Data(line.readableBytesView))
    }

    /// Sends a request and returns its reply; events that arrive meanwhile go to `onEvent` and
    /// are kept for `next()`.
    public mutating func call(_ request: ControlRequest, onEvent: (JSONValue) -> Void = { _ in }) async throws -> ControlMessage {
        nextId += 1
        var r = request
        let id = r.id ?? .integer(Int64(nextId))
        r.id = id
        return try await call(line: r, id: id, onEvent: onEvent)
    }

    /// Sends any JSON object as a request line and returns the reply to `id` (which the object
    /// must carry): for clients that speak the wire directly, such as tests of malformed requests.
    public mutating func call(
        line request: some Encodable, id: RequestID, onEvent: (JSONValue) -> Void = { _ in }
    ) async throws -> ControlMessage {
        var data = try JSONEncoder().encode(request)
        data.append(UInt8(ascii: "\n"))
        try await writer.write(ByteBuffer(bytes: data))
        while let m = try await read() {
            if m.type == .event, let e = m.event { onEvent(e); pending.append(m); continue }
            if m.type == .bye { throw ControlError(.internalError, "the station closed the connection: \(m.reason ?? "")") }
            if m.id == id || m.id == nil { return m }
        }
        throw ControlError(.internalError, "the station closed the connection")
    }
}
