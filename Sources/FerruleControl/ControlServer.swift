import FerruleCore
import FerruleProtocol
import FerruleConfig
import FerruleStation
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The station's status socket: a Unix domain socket speaking newline-delimited JSON.
///
/// A bad client cannot hurt the station: every line is decoded on its own (a bad one gets an
/// error reply), lines over 1 MiB close the client, each client has a bounded queue (a
/// subscriber that falls behind is dropped with a last `bye` saying why), the number of
/// clients is capped, and nothing a client does waits on the engine's measuring path.
public final class ControlServer: Sendable {
    /// Where the socket listens, who may connect, and the limits per client.
    public struct Options: Sendable {
        public var path: String
        /// Group that may use the socket (mode 0660); nil keeps the daemon's group.
        public var group: String?
        public var maxClients = 512
        /// Messages, and bytes, queued for one client before it counts as too slow and is dropped.
        public var queueDepth = 1024
        public var queueBytes = 8 << 20
        /// A client that is not subscribed and sends no complete line for this long is closed.
        public var idleTimeout: Duration = .seconds(60)

        public init(path: String, group: String? = nil) {
            self.path = path
            self.group = group
        }
    }

    public let routes: ControlRoutes
    /// Where the events every subscriber gets come from (the station's event bus).
    let events: @Sendable () async -> AsyncStream<StationEvent>
    public let options: Options
    let logger: Logger
    let hub: Hub
    let stop = StopSignal()

    /// A one-shot signal from `shutdown()` to the running server.
    final class StopSignal: Sendable {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        private let fired = Atomic<Bool>(false)
        var requested: Bool { fired.load(ordering: .acquiring) }
        func fire() {
            fired.store(true, ordering: .releasing)
            continuation.yield()
        }
    }

    /// Serves `routes`; every subscriber gets the events of `events`.
    public init(
        routes: ControlRoutes, events: @escaping @Sendable () async -> AsyncStream<StationEvent>, options: Options,
        logger: Logger = Logger(label: "ferrule.control")
    ) {
        self.routes = routes
        self.events = events
        self.options = options
        self.logger = logger
        self.hub = Hub(
            limits: .init(
                maxClients: options.maxClients, queueDepth: options.queueDepth, queueBytes: options.queueBytes,
                idleTimeout: options.idleTimeout), logger: logger)
    }

    typealias Listener = NIOAsyncChannel<AcceptedConnections.Connection, Never>

    /// Binds the socket, then calls `ready` and serves until the task is cancelled or `shutdown()`.
    /// On every way out (a failed start unwinding included) the listener is closed and every
    /// connection it accepted is finished and closed, served or not.
    public func run(ready: @Sendable () async -> Void = {}) async throws {
        try FileManager.default.createDirectory(atPath: parentDirectory(of: options.path), withIntermediateDirectories: true)
        let accepted = AcceptedConnections()
        let listener = try await bind(accepted)
        do {
            try secureSocketFile()
            logger.info("status socket listening", metadata: ["path": "\(options.path)"])
            try await serve(listener, accepted: accepted, ready: ready)
        } catch {
            await tearDown(listener, accepted)
            throw error
        }
        await tearDown(listener, accepted)
    }

    /// The listener closed (a no-op where serving closed it), every unserved connection finished.
    private func tearDown(_ listener: Listener, _ accepted: AcceptedConnections) async {
        try? await listener.executeThenClose { _ in }
        await accepted.closeUnserved()
        try? FileManager.default.removeItem(atPath: options.path)
    }

    private func bind(_ accepted: AcceptedConnections) async throws -> Listener {
        let maxLine = ControlProtocol.maxLineBytes
        return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 32 * 1024, high: 256 * 1024))
            .childChannelOption(.allowRemoteHalfClosure, value: true)  // a client may send, shut its side, and still read
            .bind(unixDomainSocketPath: options.path, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addLineFraming(maxLineBytes: maxLine)
                    return try accepted.wrap(channel)
                }
            }
    }

    private func serve(_ server: Listener, accepted: AcceptedConnections, ready: @Sendable () async -> Void) async throws {
        let events = await self.events()
        let hub = hub
        // Encode each event once and fan it out. Ends when the station's event bus finishes.
        let pump = Task {
            for await event in events {
                await hub.broadcast { try? Self.line(ControlMessage(type: .event, event: event.wireValue())) }
            }
        }
        // Idle clients are looked for every second.
        let reaper = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await hub.reapIdle()
            }
        }
        defer {
            reaper.cancel()
            pump.cancel()
        }
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { [stop] in
                // Graceful stop: no new clients, the last events through, every client drained
                // for up to 3 s, then closed. Each wait gives way to cancellation (see `within`).
                for await _ in stop.stream { break }
                if Task.isCancelled { return }
                server.channel.close(promise: nil)
                await Self.within(.seconds(3)) {
                    await withTaskCancellationHandler { await pump.value } onCancel: { pump.cancel() }
                }
                await hub.finishAll()
                await Self.within(.seconds(3)) { await hub.untilEmpty() }
                await hub.closeAll()
            }
            await ready()
            do {
                try await withTaskCancellationHandler {
                    try await server.executeThenClose { inbound in
                        try await withThrowingDiscardingTaskGroup { clients in
                            for try await conn in inbound {
                                accepted.take(conn)
                                clients.addTask { await self.serve(conn) }
                            }
                        }
                    }
                } onCancel: {
                    server.channel.close(promise: nil)
                }
            } catch where Task.isCancelled || stop.requested {
                // Closing the listener ends the loop with a channel error: expected.
            }
            stop.continuation.finish()
        }
    }

    /// Graceful stop: no new clients; every client gets what is queued for it (the last unit's
    /// `unitFinished` included), then the socket closes and `run` returns.
    public func shutdown() { stop.fire() }

    /// Runs `body` for at most `limit`, then cancels it; `body` must end when cancelled (a task
    /// group waits for its child: a body that ignored cancellation would hold the stop forever).
    static func within(_ limit: Duration, _ body: @escaping @Sendable () async -> Void) async {
        await withTaskGroup(of: Void.self) { g in
            g.addTask { await body() }
            g.addTask { try? await Task.sleep(for: limit) }
            await g.next()
            g.cancelAll()
        }
    }

    private func secureSocketFile() throws {
        guard chmod(options.path, 0o660) == 0 else {
            throw ControlError(.internalError, "chmod 0660 \(options.path): \(String(cString: strerror(errno)))")
        }
        if let name = options.group {
            guard let gr = getgrnam(name) else {
                throw ControlError(
                    .internalError, "group '\(name)' for \(options.path) does not exist", fix: "create it or change control.group")
            }
            guard chown(options.path, uid_t.max, gr.pointee.gr_gid) == 0 else {
                throw ControlError(.internalError, "chown \(options.path) to group \(name): \(String(cString: strerror(errno)))")
            }
        }
    }

    static func line(_ message: ControlMessage) throws -> ByteBuffer {
        var data = try ControlProtocol.encoder().encode(message)
        data.append(UInt8(ascii: "\n"))
        return ByteBuffer(bytes: data)
    }

    // MARK: One client

    private func serve(_ conn: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let (queue, continuation) = AsyncStream<ByteBuffer>.makeStream(bufferingPolicy: .bufferingOldest(options.queueDepth))
        let client = Hub.Client(continuation: continuation, channel: conn.channel)
        guard await hub.add(client) else {
            let e = ControlError(
                .tooManyClients, "the station serves at most \(options.maxClients) clients and none of them is idle",
                fix: "close a client (ferrulectl watch, a screen) or try again")
            // Through the async channel, which must be finished on every path (see `AcceptedConnections`).
            try? await conn.executeThenClose { _, outbound in
                if let bye = try? Self.line(ControlMessage(type: .error, error: e)) { try await outbound.write(bye) }
            }
            return
        }
        defer { Task { [hub] in await hub.remove(client.id) } }
        let peer = await PeerCredentials.describe(conn.channel) ?? "a socket client the kernel could not name"
        try? await conn.executeThenClose { inbound, _ in
            async let reading: Void = self.readRequests(inbound, client: client, peer: peer)
            // The writer: ends when the queue is finished (client done, dropped, or shutdown) and drained.
            // Each line is written straight to the channel and awaited until the socket took it,
            // so closing afterwards never cuts off the last reply or the `bye`.
            let channel = conn.channel
            do {
                for await buffer in queue {
                    if client.dropReason != nil { break }  // what was waiting is dropped with the client
                    try await channel.writeAndFlush(buffer).get()
                    client.wrote(buffer.readableBytes)
                }
                if let why = client.dropReason, let bye = try? Self.line(ControlMessage(type: .bye, reason: why)) {
                    try await channel.writeAndFlush(bye).get()
                }
            } catch {
                continuation.finish()
            }
            conn.channel.close(promise: nil)  // ends the reader if it still waits for input
            await reading
        }
    }

    private func readRequests(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>, client: Hub.Client, peer: String) async {
        do {
            for try await line in inbound {
                // A dropped client's requests are read and discarded, not answered: leaving this
                // loop would close the channel before its writer has sent what is owed and `bye`.
                if client.dropReason != nil { continue }
                client.request(started: true)
                let reply = await handle(line, client: client, peer: peer)
                client.request(started: false)
                if let reply { _ = await hub.send(reply, to: client) }
            }
        } catch is ByteToMessageDecoderError.PayloadTooLargeError {
            let e = ControlError(
                .lineTooLong, "a request line is longer than \(ControlProtocol.maxLineBytes) bytes; closing",
                fix: "send one JSON object per line")
            if let l = try? Self.line(ControlMessage(type: .error, error: e)) { _ = await hub.send(l, to: client) }
            client.continuation.finish()
            return
        } catch {
            client.continuation.finish()
            return
        }
        // The client closed its side: a subscriber keeps receiving events, others are done.
        if !(await hub.isSubscribed(client.id)) { client.continuation.finish() }
    }

    // MARK: Requests

    /// `peer`: who the kernel says sent it; it replaces any `via` the client put in the request.
    func handle(_ line: ByteBuffer, client: Hub.Client, peer: String? = nil) async -> ByteBuffer? {
        let bytes = Data(line.readableBytesView)
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return nil }  // blank lines are ignored
        var request: ControlRequest
        do {
            request = try JSONDecoder().decode(ControlRequest.self, from: bytes)
            request.via = peer
        } catch let e as ControlError {
            return try? Self.line(ControlMessage(type: .error, id: ControlRequest.id(in: bytes), error: e))
        } catch {
            return try? Self.line(
                ControlMessage(
                    type: .error,
                    error: ControlError(
                        .badJSON, "the line is not a JSON request object (\(Self.decodingProblem(error)))",
                        fix: "send {\"v\":1,\"id\":1,\"type\":\"status\"} style objects, one per line")))
        }
        let id = request.id
        do {
            let result = try await dispatch(request, client: client)
            return try Self.line(ControlMessage(type: .result, id: id, result: result))
        } catch let e as ControlError {
            return try? Self.line(ControlMessage(type: .error, id: id, error: e))
        } catch let e as UnitRefused {
            let error = ControlError(.refused, e.message, fix: e.fix, refusal: e.refusal)
            return try? Self.line(ControlMessage(type: .error, id: id, error: error))
        } catch {
            return try? Self.line(ControlMessage(type: .error, id: id, error: ControlError(.refused, "\(error)")))
        }
    }

    private static func decodingProblem(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            let field = c.codingPath.map(\.stringValue).joined(separator: ".")
            return field.isEmpty ? "not an object" : "field '\(field)' has the wrong type"
        case DecodingError.dataCorrupted: return "malformed JSON"
        default: return "malformed JSON"
        }
    }

    /// Requests logged with who sent them.
    static let changesTheStation: Set<ControlRequest.Kind> = [.test, .abort, .reference, .cordReset, .answer, .fault, .resend]

    func dispatch(_ r: ControlRequest, client: Hub.Client) async throws -> JSONValue {
        let kind = r.kind
        switch kind {
        case .subscribe:
            await hub.subscribe(client.id)
            return .object(["subscribed": .bool(true)])
        case .unsubscribe:
            await hub.unsubscribe(client.id)
            return .object(["subscribed": .bool(false)])
        default:
            guard let handler = routes.handler(for: kind) else {
                throw ControlError(.unknownType, "this station does not serve '\(kind.rawValue)' requests")
            }
            if Self.changesTheStation.contains(kind), let via = r.via {
                logger.info("\(kind.rawValue) from \(via)", metadata: ["operator": "\(Escaped.text(r.operator ?? "-"))"])
            }
            return try await handler(r)
        }
    }
}
