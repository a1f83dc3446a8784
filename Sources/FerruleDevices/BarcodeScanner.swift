import FerruleCore
import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// A barcode scanner in USB-serial (CDC) mode: it sends each scan as a line, ended by CR (most
/// scanners' default), LF or CR LF, and is never asked anything. One conversation: the port is
/// opened exclusively while `scans()` runs.
public actor SerialBarcodeScanner: BarcodeScanner {
    public nonisolated let name: String
    let address: InstrumentAddress
    /// A scan longer than this is not a label (a scanner left streaming, line noise).
    static let longestScan = 512

    public init(name: String, address: InstrumentAddress) {
        self.name = name
        self.address = address
    }

    /// A scanner has no identity query: it is identified by its port being there.
    public func identify() async throws -> InstrumentIdentity {
        guard case .serial(let path, _) = address else {
            throw InstrumentError(instrument: name, operation: "open", detail: "a barcode scanner is on a serial port, not \(address)")
        }
        guard access(path, R_OK | W_OK) == 0 else {
            throw InstrumentError(instrument: name, operation: "open \(path)", detail: String(cString: strerror(errno)))
        }
        return InstrumentIdentity(manufacturer: "barcode scanner", model: "USB-serial (CDC)", serial: path, firmware: "")
    }

    public func scans() async -> AsyncThrowingStream<String, any Error> {
        let (stream, continuation) = AsyncThrowingStream<String, any Error>.makeStream()
        let name = name
        guard case .serial(let path, let settings) = address else {
            continuation.finish(throwing: InstrumentError(instrument: name, operation: "open", detail: "not a serial port: \(address)"))
            return stream
        }
        do {
            let fd = try LineLink.openSerial(path, settings)
            let channel = try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture {
                        try ch.pipeline.syncOperations.addHandler(ByteToMessageHandler(ScanLineDecoder(limit: Self.longestScan)))
                        try ch.pipeline.syncOperations.addHandler(ScanForwarder(name: name, path: path, continuation: continuation))
                    }
                }
                .takingOwnershipOfDescriptor(inputOutput: fd)
                .get()
            continuation.onTermination = { _ in channel.close(promise: nil) }
        } catch {
            let detail = (error as? LinkError)?.detail ?? "\(error)"
            continuation.finish(throwing: InstrumentError(instrument: name, operation: "open \(path)", detail: detail))
        }
        return stream
    }
}

/// Splits the byte stream at CR, LF or CR LF; empty lines are dropped. A line longer than
/// `limit` is an error (the stream ends), so that noise never grows a buffer without bound.
struct ScanLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let limit: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        guard let end = view.firstIndex(where: { $0 == 0x0D || $0 == 0x0A }) else {
            if buffer.readableBytes > limit { throw ScanTooLong(limit: limit) }
            return .needMoreData
        }
        let length = end - view.startIndex
        let line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        if length > 0 { context.fireChannelRead(wrapInboundOut(line)) }
        return .continue
    }
}

struct ScanTooLong: Error, CustomStringConvertible {
    let limit: Int
    var description: String { "a scan longer than \(limit) characters without an end of line (check the scanner's suffix: CR or LF)" }
}

/// Hands each scan to the stream; the stream ends when the port closes.
final class ScanForwarder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let name: String
    let path: String
    let continuation: AsyncThrowingStream<String, any Error>.Continuation

    init(name: String, path: String, continuation: AsyncThrowingStream<String, any Error>.Continuation) {
        self.name = name
        self.path = path
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(String(decoding: unwrapInboundIn(data).readableBytesView, as: UTF8.self))
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish(throwing: InstrumentError(instrument: name, operation: "read \(path)", detail: "the port closed (unplugged?)"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        continuation.finish(throwing: InstrumentError(instrument: name, operation: "read \(path)", detail: "\(error)"))
        context.close(promise: nil)
    }
}
