import AsyncHTTPClient
import FerruleCore
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// The file name of a unit's output: serial (made safe), finish time, report id. The same unit
/// always gets the same name, so a repeated delivery replaces the file with identical bytes.
public func reportFileStem(serial: String, finishedAt: Date, reportId: UUID) -> String {
    var safe = String(
        serial.unicodeScalars.map { s -> Character in
            let ok = (s.isASCII && (CharacterSet.alphanumerics.contains(s) || s == "-" || s == "_" || s == "."))
            return ok ? Character(s) : "_"
        })
    while safe.hasPrefix(".") { safe.removeFirst() }
    if safe.count > 64 { safe = String(safe.prefix(64)) }
    if safe.isEmpty { safe = "unit" }
    let stamp = finishedAt.formatted(
        Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day()
            .time(includingFractionalSeconds: false).timeSeparator(.omitted).dateSeparator(.omitted))
    return "\(safe)_\(stamp)_\(reportId.uuidString.lowercased())"
}

/// Drops files into a folder an MES watches (often a mounted share): each written to a hidden
/// temporary name, fsynced, renamed into place. The folder is never created: a missing folder
/// is a share that is not mounted, and writing under the mount point would hide the files
/// from the MES. Delivery waits for it to come back.
public final class DirectorySink: Sink, Sendable {
    public let name: String
    public let path: String
    public let formats: [ReportFormat]
    public let tag: String
    public let certificate: CertificateTemplate
    public var kind: SinkKind { .directory }
    /// Temporary files can only be left by a crash or by a write that failed (the share went
    /// away mid-write): the folder is swept then, not at every delivery.
    private let needsSweep = Atomic<Bool>(true)

    public init(name: String, path: String, formats: [ReportFormat], stationId: String, certificate: CertificateTemplate = .standard) {
        self.name = name
        self.path = path
        self.formats = formats
        self.tag = "ferrule-\(stationId)"
        self.certificate = certificate
    }

    public func deliver(_ report: UnitReport) async -> DeliveryOutcome {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            needsSweep.store(true, ordering: .releasing)
            return .retry("folder \(path) is missing (share not mounted?)")
        }
        if needsSweep.load(ordering: .acquiring) {
            AtomicFile.removeLeftovers(in: path, tag: tag)
            needsSweep.store(false, ordering: .releasing)
        }
        let stem = reportFileStem(serial: report.unit.serial, finishedAt: report.finishedAt, reportId: report.reportId)
        for f in formats {
            let data: Data
            do { data = try f.render(report, certificate: certificate) } catch { return .park("cannot render \(f.rawValue): \(error)") }
            do {
                // The share is there for other machines to read (the MES), unlike the data directory.
                try AtomicFile.write(data, to: (path as NSString).appendingPathComponent(stem + f.fileSuffix), mode: 0o644, tag: tag)
            } catch {
                needsSweep.store(true, ordering: .releasing)
                return .retry("\(error)")
            }
        }
        return .delivered
    }
}

/// POSTs each report to an MES endpoint (http or https) with the report id as the
/// `Idempotency-Key`. 2xx: delivered. 408, 425, 429, 5xx, timeouts and connection errors: retried.
/// Other 4xx: parked with the MES's answer, for the operator. The bearer token is read from its
/// file at every attempt, so a rotated token is picked up without a restart.
public final class HTTPSink: Sink {
    public let name: String
    public let url: String
    public let format: ReportFormat
    public let tokenFile: String?
    public let timeout: Duration
    public let certificate: CertificateTemplate
    public var kind: SinkKind { .http }
    let client: HTTPClient

    public init(
        name: String, url: String, format: ReportFormat = .json, tokenFile: String?, timeout: Duration = .seconds(10),
        certificate: CertificateTemplate = .standard
    ) {
        self.certificate = certificate
        self.name = name
        self.url = url
        self.format = format
        self.tokenFile = tokenFile
        self.timeout = timeout
        var config = HTTPClient.Configuration()
        config.timeout = .init(connect: .seconds(5))  // the whole exchange is bounded by `timeout` (a deadline per request)
        config.redirectConfiguration = .disallow
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    public func deliver(_ report: UnitReport) async -> DeliveryOutcome {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: format.contentType)
        request.headers.add(name: "Idempotency-Key", value: report.reportId.uuidString.lowercased())
        request.headers.add(name: "X-Ferrule-Serial", value: report.unit.serial.filter { $0.isASCII && !$0.isNewline })
        if let tokenFile {
            guard let token = try? String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
                !token.isEmpty
            else {
                return .retry("cannot read the bearer token from \(tokenFile)")
            }
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        do {
            request.body = .bytes(ByteBuffer(bytes: try format.render(report, certificate: certificate)))
        } catch {
            return .park("cannot render \(format.rawValue): \(error)")
        }
        do {
            let ms = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
            let response = try await client.execute(request, deadline: .now() + .milliseconds(ms))
            let body = (try? await response.body.collect(upTo: 4096)).map { String(buffer: $0) } ?? ""
            let code = response.status.code
            let said = body.isEmpty ? "" : ": \(body.prefix(300))"
            switch code {
            case 200..<300: return .delivered
            case 408, 425, 429, 500..<600: return .retry("HTTP \(code) from \(url)\(said)")
            default: return .park("HTTP \(code) from \(url)\(said)")
            }
        } catch let e as HTTPClientError where e == .deadlineExceeded || e == .readTimeout || e == .connectTimeout {
            return .retry("no answer from \(url) within \(timeout)")
        } catch {
            return .retry("\(url): \(error)")
        }
    }

    public func shutdown() async {
        try? await client.shutdown()
    }
}
