import NIOCore
import NIOExtras

/// The status socket's framing: one line per message, '\n' (or "\r\n") ended.
///
/// Lines are split by NIOExtras' `LineBasedFrameDecoder`; a line longer than the limit is refused
/// by `ByteToMessageHandler`'s `maximumBufferSize`. What this adds: a last line that ends
/// without '\n' at EOF is still a line (a client may send one request and shut its side).
public struct ControlLineDecoder: ByteToMessageDecoder {
    /// Each frame is one line, without its newline.
    public typealias InboundOut = ByteBuffer
    private let lines = LineBasedFrameDecoder()

    public init() {}

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let line = try lines.decode(buffer: &buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(line))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0, let last = buffer.readSlice(length: buffer.readableBytes) {
            context.fireChannelRead(Self.wrapInboundOut(last))
        }
        return .needMoreData
    }
}

extension ChannelPipeline.SynchronousOperations {
    /// Adds the line framing: lines of at most `maxLineBytes` bytes come out as `ByteBuffer`s.
    /// A longer line fails the channel with `ByteToMessageDecoderError.PayloadTooLargeError`.
    public func addLineFraming(maxLineBytes: Int) throws {
        try addHandler(ByteToMessageHandler(ControlLineDecoder(), maximumBufferSize: maxLineBytes))
    }
}
