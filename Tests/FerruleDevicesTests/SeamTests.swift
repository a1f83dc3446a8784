@testable import FerruleDevices
import FerruleProtocol
import Foundation
import NIOCore
import NIOEmbedded
import NIOExtras
import Synchronization
import Testing

/// The byte-level seams, driven through NIO's EmbeddedChannel: no sockets, no timing.
@Suite struct SeamTests {
    /// The status socket's framing, as the server and ferrulectl install it.
    func framedChannel(maxLine: Int = 64) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addLineFraming(maxLineBytes: maxLine)
        return channel
    }

    func lines(_ channel: EmbeddedChannel) throws -> [String] {
        var out: [String] = []
        while let b = try channel.readInbound(as: ByteBuffer.self) { out.append(String(buffer: b)) }
        return out
    }

    @Test func linesAreSplitWhereverTheBytesBreak() throws {
        let channel = try framedChannel()
        for piece in ["{\"type\":", "\"status\"}\n{\"ty", "pe\":\"recipes\"}\r", "\n\n"] {
            try channel.writeInbound(ByteBuffer(string: piece))
        }
        #expect(try lines(channel) == ["{\"type\":\"status\"}", "{\"type\":\"recipes\"}", ""])
        _ = try channel.finish()
    }

    /// A client that sends one request and shuts its side still gets it read.
    @Test func aLastLineWithoutNewlineAtEOFIsStillALine() throws {
        let channel = try framedChannel()
        try channel.writeInbound(ByteBuffer(string: "{\"type\":\"status\"}\n{\"type\":\"prompts\"}"))
        #expect(try lines(channel) == ["{\"type\":\"status\"}"])
        channel.pipeline.fireChannelInactive()
        #expect(try lines(channel) == ["{\"type\":\"prompts\"}"])
        _ = try? channel.finish()
    }

    @Test func aLineOverTheLimitFailsTheChannel() throws {
        let channel = try framedChannel(maxLine: 64)
        #expect(throws: ByteToMessageDecoderError.PayloadTooLargeError.self) {
            try channel.writeInbound(ByteBuffer(string: String(repeating: "x", count: 65)))
        }
        _ = try? channel.finish()
    }

    // MARK: The instruments' reply handler

    /// An instrument link's pipeline: lines, then the handler that gives each to the waiting exchange.
    func replyChannel() throws -> (EmbeddedChannel, ReplyHandler) {
        let channel = EmbeddedChannel()
        let handler = ReplyHandler()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineBasedFrameDecoder(), maximumBufferSize: 1 << 10))
        try channel.pipeline.syncOperations.addHandler(handler)
        return (channel, handler)
    }

    /// What a future settled with, once the embedded loop has run.
    final class Outcome: Sendable {
        let value = Mutex<Result<String, any Error>?>(nil)
        init(_ future: EventLoopFuture<String>, _ channel: EmbeddedChannel) {
            future.whenComplete { r in self.value.withLock { $0 = r } }
            channel.embeddedEventLoop.run()
        }
        var reply: String? { value.withLock { try? $0?.get() } }
        var error: LinkError? {
            value.withLock { if case .failure(let e) = $0 { return e as? LinkError }; return nil }
        }
    }

    func failure(_ future: EventLoopFuture<String>, _ channel: EmbeddedChannel) -> LinkError? {
        Outcome(future, channel).error
    }

    @Test func aReplyGoesToTheWaitingExchangeAndAStrayLineToNobody() throws {
        let (channel, handler) = try replyChannel()
        // A line nobody asked for (a late reply to an exchange that timed out) is dropped...
        try channel.writeInbound(ByteBuffer(string: "-9.9E37\n"))
        let promise = channel.eventLoop.makePromise(of: String.self)
        handler.expect(promise)
        // ...and the next line, in two pieces, answers the exchange that waits.
        try channel.writeInbound(ByteBuffer(string: "-3.21"))
        try channel.writeInbound(ByteBuffer(string: "5\r\n"))
        #expect(Outcome(promise.futureResult, channel).reply == "-3.215")
        _ = try channel.finish()
    }

    @Test func aTimeoutACloseAndGarbageEachFailTheExchangeWithTheirOwnKind() throws {
        let (channel, handler) = try replyChannel()
        let timedOut = channel.eventLoop.makePromise(of: String.self)
        handler.expect(timedOut)
        handler.timeOut()
        #expect(failure(timedOut.futureResult, channel)?.kind == .timeout)

        // A reply longer than the link takes: the exchange fails and the link closes.
        let flooded = channel.eventLoop.makePromise(of: String.self)
        handler.expect(flooded)
        try? channel.writeInbound(ByteBuffer(string: String(repeating: "7", count: 2048)))
        #expect(failure(flooded.futureResult, channel)?.kind == .io)

        // Closed: the waiting exchange fails, and so does every later one, at once.
        let (second, secondHandler) = try replyChannel()
        let waiting = second.eventLoop.makePromise(of: String.self)
        secondHandler.expect(waiting)
        second.pipeline.fireChannelInactive()
        #expect(failure(waiting.futureResult, second)?.kind == .disconnected)
        let later = second.eventLoop.makePromise(of: String.self)
        secondHandler.expect(later)
        #expect(failure(later.futureResult, second)?.kind == .disconnected)
        _ = try? channel.finish()
        _ = try? second.finish()
    }
}
