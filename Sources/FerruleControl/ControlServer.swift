import FerruleCore
import FerruleDevices
import FerruleRecords
import FerruleSimulator
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

    public let station: Station
    public let options: Options
    let logger: Logger
    let hub: Hub
    let stop = StopSignal()

    /// A one-shot signal from `shutdown()` to the running server.
    final class StopSignal: @unchecked Sendable {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        private let lock = NSLock()
        private var _requested = false
        var requested: Bool { lock.withLock { _requested } }
        func fire() {
            lock.withLock { _requested = true }
            continuation.yield()
        }
    }

    public init(station: Station, options: Options, logger: Logger = Logger(label: "ferrule.control")) {
        self.station = station
        self.options = options
        self.logger = logger
        self.hub = Hub(limits: .init(maxClients: options.maxClients, queueDepth: options.queueDepth, queueBytes: options.queueBytes,
                                     idleTimeout: options.idleTimeout), logger: logger)
    }

    /// Binds the socket, then calls `ready` and serves until the task is cancelled.
    public func run(ready: @Sendable () async -> Void = {}) async throws {
        try FileManager.default.createDirectory(atPath: parentDirectory(of: options.path), withIntermediateDirectories: true)
        let maxLine = ControlProtocol.maxLineBytes
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 32 * 1024, high: 256 * 1024))
            .childChannelOption(.allowRemoteHalfClosure, value: true)  // a client may send, shut its side, and still read
            .bind(unixDomainSocketPath: options.path, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder(maxLength: maxLine)))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try secureSocketFile()
        logger.info("status socket listening", metadata: ["path": "\(options.path)"])

        let events = await station.events.subscribe(buffer: 1 << 16)
        let hub = hub
        // Encode each event once and fan it out. Ends when the station's event bus finishes.
        let pump = Task {
            for await event in events {
                guard let line = try? Self.line(ControlMessage(type: .event, event: event.wireValue())) else { continue }
                await hub.broadcast(line)
            }
        }
        // Idle clients are looked for every second.
        let reaper = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await hub.reapIdle()
            }
        }
        defer { reaper.cancel() }
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { [stop] in
                // Graceful stop: let the last events through, drain every client, then close.
                for await _ in stop.stream { break }
                if Task.isCancelled { return }
                await Self.within(.seconds(3)) { await pump.value }
                await hub.finishAll()
                await Self.within(.seconds(3)) { while await hub.count > 0 { try? await Task.sleep(for: .milliseconds(10)) } }
                server.channel.close(promise: nil)
            }
            await ready()
            do {
                try await withTaskCancellationHandler {
                    try await server.executeThenClose { inbound in
                        try await withThrowingDiscardingTaskGroup { clients in
                            for try await conn in inbound {
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
            pump.cancel()
        }
        try? FileManager.default.removeItem(atPath: options.path)
    }

    /// Graceful stop: no new clients; every client gets what is queued for it (the last unit's
    /// `unitFinished` included), then the socket closes and `run` returns.
    public func shutdown() { stop.fire() }

    /// Runs `body` for at most `limit`.
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
                throw ControlError(.internalError, "group '\(name)' for \(options.path) does not exist", fix: "create it or change control.group")
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
            let e = ControlError(.tooManyClients, "the station serves at most \(options.maxClients) clients and none of them is idle",
                                 fix: "close a client (ferrulectl watch, a screen) or try again")
            if let bye = try? Self.line(ControlMessage(type: .error, error: e)) {
                try? await conn.channel.writeAndFlush(bye)
            }
            try? await conn.channel.close()
            return
        }
        defer { Task { [hub] in await hub.remove(client.id) } }
        try? await conn.executeThenClose { inbound, _ in
            async let reading: Void = self.readRequests(inbound, client: client)
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

    private func readRequests(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>, client: Hub.Client) async {
        do {
            for try await line in inbound {
                // A dropped client's requests are read and discarded, not answered: leaving this
                // loop would close the channel before its writer has sent what is owed and `bye`.
                if client.dropReason != nil { continue }
                client.request(started: true)
                let reply = await handle(line, client: client)
                client.request(started: false)
                if let reply { _ = await hub.send(reply, to: client) }
            }
        } catch is LineTooLong {
            let e = ControlError(.lineTooLong, "a request line is longer than \(ControlProtocol.maxLineBytes) bytes; closing",
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

    func handle(_ line: ByteBuffer, client: Hub.Client) async -> ByteBuffer? {
        let bytes = Data(line.readableBytesView)
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return nil }  // blank lines are ignored
        let request: ControlRequest
        do {
            request = try JSONDecoder().decode(ControlRequest.self, from: bytes)
        } catch {
            return try? Self.line(ControlMessage(type: .error, error: ControlError(.badJSON, "the line is not a JSON request object (\(Self.decodingProblem(error)))",
                                                                                   fix: "send {\"v\":1,\"id\":1,\"type\":\"status\"} style objects, one per line")))
        }
        let id = request.id
        do {
            let result = try await dispatch(request, client: client)
            return try Self.line(ControlMessage(type: .result, id: id, result: result))
        } catch let e as ControlError {
            return try? Self.line(ControlMessage(type: .error, id: id, error: e))
        } catch let e as UnitRefused {
            return try? Self.line(ControlMessage(type: .error, id: id, error: ControlError(.refused, e.message, fix: e.fix)))
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

    private func require<T>(_ value: T?, _ field: String, _ type: String, example: String) throws -> T {
        guard let value else {
            throw ControlError(.badRequest, "'\(field)' is missing", fix: "add \"\(field)\": \(example) to the '\(type)' request")
        }
        return value
    }

    func dispatch(_ r: ControlRequest, client: Hub.Client) async throws -> JSONValue {
        if let v = r.v, v != ControlProtocol.version {
            throw ControlError(.unsupportedVersion, "protocol version \(v) is not supported", fix: "send \"v\": \(ControlProtocol.version)")
        }
        let typeName = try require(r.type, "type", "any", example: "\"status\"")
        guard let kind = ControlRequest.Kind(rawValue: typeName) else {
            throw ControlError(.unknownType, "unknown request type '\(typeName)'",
                               fix: "use one of: \(ControlRequest.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        switch kind {
        case .status:
            return try JSONValue.from(await station.status())
        case .subscribe:
            await hub.subscribe(client.id)
            return .object(["subscribed": .bool(true)])
        case .unsubscribe:
            await hub.unsubscribe(client.id)
            return .object(["subscribed": .bool(false)])
        case .test:
            let serial = try require(r.serial, "serial", "test", example: "\"SN123\"")
            let part = try require(r.partNumber, "partNumber", "test", example: "\"FT-MTP12-SMAPC-B-LL\"")
            var fixture = r.fixture ?? 0
            if r.fixture == nil { fixture = try await firstIdleFixture(for: part) }
            let req = UnitRequest(serial: serial, partNumber: part, fixture: fixture, operatorId: r.operator ?? "unknown")
            try await station.start(req)
            return .object(["accepted": .bool(true), "serial": .string(serial), "fixture": .number(Double(fixture))])
        case .abort:
            let fixture = try require(r.fixture, "fixture", "abort", example: "1")
            try await station.abort(fixture: fixture)
            return .object(["aborting": .number(Double(fixture))])
        case .reference:
            let fixture = try require(r.fixture, "fixture", "reference", example: "1")
            // No cord named: every reference cord that fits the fixture, one after the other.
            let refs = r.cord == nil ? try await station.takeReferences(fixture: fixture, operatorId: r.operator)
                : [try await station.takeReference(fixture: fixture, cord: r.cord, operatorId: r.operator)]
            guard let last = refs.last else { throw ControlError(.refused, "no reference cord fits fixture \(fixture)",
                fix: "declare one under 'referenceCords'") }
            return .object(["fixture": .number(Double(fixture)), "takenAt": try JSONValue.from([last.takenAt]).array![0],
                            "values": .number(Double(refs.map(\.values.count).reduce(0, +))),
                            "cord": .string(refs.map(\.cord.id).joined(separator: ", ")),
                            "polarity": .string(refs.map(\.cord.polarity).joined(separator: ", "))])
        case .cordReset:
            let cord = try require(r.cord, "cord", "cordReset", example: "\"TC-L-1\"")
            try await station.resetCord(cord, operatorId: r.operator)
            return .object(["cord": .string(cord), "matings": .number(0)])
        case .recipes:
            let cfg = await station.currentConfig
            return .array(try cfg.recipeOrder.map { pn in
                let rc = cfg.recipes[pn]!
                return try JSONValue.from(RecipeSummary(rc))
            })
        case .history:
            var verdict: Verdict?
            if let v = r.verdict {
                guard let x = Verdict(rawValue: v) else {
                    throw ControlError(.badRequest, "'verdict' is '\(v)'", fix: "use one of: \(Verdict.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                verdict = x
            }
            let limit = r.limit ?? 50, offset = r.offset ?? 0
            guard (1...ControlProtocol.maxHistoryPage).contains(limit) else {
                throw ControlError(.badRequest, "'limit' is \(limit)",
                                   fix: "ask for 1 to \(ControlProtocol.maxHistoryPage) units a page and page on with 'offset'")
            }
            guard offset >= 0 else {
                throw ControlError(.badRequest, "'offset' is \(offset)", fix: "use 0 or more (rows to skip, newest first)")
            }
            let filter = HistoryFilter(serial: r.serial, partNumber: r.partNumber, verdict: verdict, since: try time(r.since, "since"),
                                       until: try time(r.until, "until"), limit: limit, offset: offset)
            return try JSONValue.from(await station.history(filter))
        case .yield:
            return try JSONValue.from(await station.store.yield(since: try time(r.since, "since"), until: try time(r.until, "until")))
        case .pareto:
            return try JSONValue.from(await station.store.pareto(partNumber: r.partNumber, since: try time(r.since, "since"), until: try time(r.until, "until")))
        case .report:
            let serial = try require(r.serial, "serial", "report", example: "\"SN123\"")
            let rows = try await station.history(HistoryFilter(serial: serial, limit: 1000))
            guard !rows.isEmpty else {
                throw ControlError(.notFound, "no unit with serial '\(serial)' was tested on this station", fix: "check the serial; 'history' lists what was tested")
            }
            var out: [JSONValue] = []
            for row in rows {
                var o = try JSONValue.from(row)
                let deliveries = try await station.store.deliveries(of: row.entry.reportId)
                if case .object(var d) = o {
                    d["filesExist"] = .bool(row.reportPath.map { FileManager.default.fileExists(atPath: $0) } ?? false)
                    d["deliveries"] = .array(deliveries.map { .object(["sink": .string($0.sink), "state": .string($0.state), "detail": $0.detail.map(JSONValue.string) ?? .null]) })
                    o = .object(d)
                }
                out.append(o)
            }
            return .array(out)
        case .prompts:
            return try JSONValue.from(await station.prompts.pending)
        case .answer:
            let id = try require(r.prompt, "prompt", "answer", example: "\"p1\"")
            let text = try require(r.answer, "answer", "answer", example: "\"ok\"")
            do { try await station.prompts.answer(id, text) } catch {
                throw ControlError(.notFound, error.description)
            }
            return .object(["answered": .string(id)])
        case .fault:
            let name = try require(r.instrument, "instrument", "fault", example: "\"ilrl\"")
            let text = try require(r.fault, "fault", "fault", example: "\"noReply\"")
            guard let fault = WireFault(rawValue: text) else {
                throw ControlError(.badRequest, "'fault' is '\(Escaped.text(text))', not a simulated fault",
                                   fix: "use one of: \(WireFault.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let scope = FaultScope(command: r.command, fiber: r.fiber)
            try await station.injectFault(fault, into: name, scope: scope)
            return .object(["instrument": .string(name), "fault": .string(fault.rawValue), "scope": .string(scope.description)])
        }
    }

    /// An ISO 8601 time from a request field, or a clear error naming it.
    private func time(_ text: String?, _ field: String) throws -> Date? {
        guard let text else { return nil }
        if let d = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return d }
        if let d = try? Date.ISO8601FormatStyle().parse(text) { return d }
        if let d = try? Date.ISO8601FormatStyle().year().month().day().parse(text) { return d }
        throw ControlError(.badRequest, "'\(field)' is '\(text)', not an ISO 8601 time", fix: "use e.g. \"2026-11-21T06:00:00Z\" or \"2026-11-21\"")
    }

    private func firstIdleFixture(for part: String) async throws -> Int {
        let status = await station.status()
        let cfg = await station.currentConfig
        guard let recipe = cfg.recipes[part] else {
            throw ControlError(.refused, "no recipe for part number '\(part)'", fix: "use one of: \(cfg.recipeOrder.joined(separator: ", "))")
        }
        let able = cfg.fixtures.filter { $0.cannotTest(recipe.assembly) == nil }.map(\.id)
        guard let f = status.fixtures.first(where: { $0.state == "idle" && able.contains($0.id) }) else {
            throw ControlError(.refused, "no idle fixture can test \(part)", fix: "wait for a fixture, or name one with \"fixture\"")
        }
        return f.id
    }
}

/// What `recipes` lists for each part number.
struct RecipeSummary: Encodable {
    var partNumber, description, kind, fiberType, polarity: String
    var fibers: Int
    var wavelengthsNm: [Int]
    var ilMaxDb: [String: Double]
    var meanIlMaxDb: Double?
    var rlMinDb: Double?
    var referenceValiditySeconds: Double

    init(_ r: Recipe) {
        partNumber = r.partNumber
        description = r.description
        kind = r.assembly.kind.rawValue
        fiberType = r.assembly.fiberType.rawValue
        polarity = r.assembly.polarity.standardType?.rawValue ?? "explicit"
        fibers = r.assembly.fiberCount
        wavelengthsNm = r.wavelengthsNm
        ilMaxDb = Dictionary(uniqueKeysWithValues: r.limits.ilMaxDb.map { (String($0.key), $0.value) })
        meanIlMaxDb = r.limits.meanIlMaxDb
        rlMinDb = r.limits.rlMinDb
        referenceValiditySeconds = r.reference.validitySeconds
    }
}
