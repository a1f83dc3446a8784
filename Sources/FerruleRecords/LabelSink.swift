import FerruleCore
import Foundation
import NIOCore
import NIOPosix

/// Where labels are printed: a network printer's raw port (TCP 9100) or a serial or USB
/// printer's device node.
public enum LabelPrinter: Sendable, Hashable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case device(path: String)

    /// `tcp://HOST[:PORT]` (9100 by default) or an absolute device path.
    public static func parse(_ text: String) -> LabelPrinter? {
        if text.hasPrefix("/") { return .device(path: text) }
        guard let u = URLComponents(string: text), u.scheme == "tcp", let host = u.host, !host.isEmpty else { return nil }
        return .tcp(host: host, port: u.port ?? 9100)
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): return "tcp://\(host):\(port)"
        case .device(let path): return path
        }
    }
}

/// Prints a label for each unit whose verdict is in `printOn` (a pass, by default), from the
/// outbox like every sink: a printer that is off or out of reach is retried with backoff and
/// shown as the sink failing, so the operator sees it, and the label prints once it is back.
/// A reprint is the outbox's re-send (`ferrulectl sinks resend SINK SERIAL`). A unit that gets
/// no label counts as delivered. Raw port 9100 gives no answer: a label is delivered once the
/// printer has taken every byte and the connection closed cleanly.
public final class LabelSink: Sink {
    public let name: String
    public var kind: SinkKind { .zplLabel }
    public let printer: LabelPrinter
    public let printOn: Set<Verdict>
    /// Templates by part number; others get `fallback`.
    public let templates: [String: LabelTemplate]
    public let fallback: LabelTemplate
    public let timeout: Duration

    public init(
        name: String, printer: LabelPrinter, printOn: Set<Verdict> = [.pass], templates: [String: LabelTemplate] = [:],
        fallback: LabelTemplate = .standard, timeout: Duration = .seconds(10)
    ) {
        self.name = name
        self.printer = printer
        self.printOn = printOn
        self.templates = templates
        self.fallback = fallback
        self.timeout = timeout
    }

    public func deliver(_ report: UnitReport) async -> DeliveryOutcome {
        guard printOn.contains(report.verdict) else { return .delivered }
        let zpl = (templates[report.unit.partNumber] ?? fallback).render(report)
        do {
            switch printer {
            case .tcp(let host, let port): try await send(zpl, host: host, port: port)
            case .device(let path): try write(zpl, device: path)
            }
            return .delivered
        } catch {
            return .retry("printer \(printer): \(error)")
        }
    }

    func send(_ zpl: String, host: String, port: Int) async throws {
        let limit = TimeAmount.nanoseconds(timeout.nanoseconds)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(limit)
            .connect(host: host, port: port).get()
        let deadline = channel.eventLoop.scheduleTask(in: limit) { channel.close(promise: nil) }
        defer { deadline.cancel() }
        try await channel.writeAndFlush(ByteBuffer(string: zpl))
        try await channel.close()
    }

    func write(_ zpl: String, device path: String) throws {
        let fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { throw LabelPrinterError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(zpl.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw LabelPrinterError("writing to \(path): \(String(cString: strerror(errno)))") }
            sent += n
        }
    }
}

struct LabelPrinterError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
