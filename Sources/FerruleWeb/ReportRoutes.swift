import FerruleCore
import FerruleProtocol
import FerruleRecords
import FerruleConfig
import FerruleStation
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/reports/<reportId>.<format>`: a unit's certificate, JSON report, CSV, CFX or ATML, rendered
/// from its stored record (the same bytes the report files and sinks carry).
struct ReportRoutes {
    let station: Station

    func report(_ request: Request, context: WebContext) async throws -> Response {
        _ = try context.requireUser()
        let name = context.parameters.get("file") ?? ""
        let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, let id = UUID(uuidString: parts[0]),
            let format = ReportFormat.allCases.first(where: { $0.fileSuffix == "." + parts[1] || $0.rawValue == parts[1] })
        else {
            throw WebError(
                .notFound, "'\(Escaped.text(name))' is not <reportId>.<format>",
                fix: "use e.g. /reports/<id>.html (certificate), .json, .csv, .cfx or .atml", key: "error.notFound")
        }
        let report: UnitReport?
        do { report = try await station.store.report(id) } catch {
            throw WebError(.serviceUnavailable, "the store cannot be read: \(error)", fix: "see 'ferrulectl status'", key: "error.internal")
        }
        guard let report else {
            throw WebError(
                .notFound, "no unit with report id \(id) on this station", fix: "pick a unit from the history",
                key: "error.notFound")
        }
        let body = try format.render(report, certificate: await station.currentConfig.certificate)
        var headers: HTTPFields = [.contentType: format.contentType, .cacheControl: "private, max-age=3600"]
        if format == .html {
            // The certificate is a document, not part of the app: no scripts at all.
            headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// `/charts/yield.svg` and `/charts/pareto.svg` (`?since=&until=&partNumber=&lang=`), and the
    /// Quality page's `capability.svg` (`?partNumber=`) and `spc.svg` (`&fiber=&wavelengthNm=&end=`).
    func chart(_ request: Request, context: WebContext) async throws -> Response {
        _ = try context.requireUser()
        let q = request.uri.queryParameters
        let (since, until) = try Self.window(q)
        let messages = Catalog.messages(q["lang"].map(String.init) ?? "en")
        let svg: String
        do {
            switch context.parameters.get("chart") {
            case "yield.svg":
                svg = Charts.yield(try await station.store.yield(since: since, until: until), messages: messages)
            case "pareto.svg":
                let part = q["partNumber"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
                svg = Charts.pareto(try await station.store.pareto(partNumber: part, since: since, until: until), messages: messages)
            case "capability.svg":
                let part = try Self.partNumber(q)
                svg = Charts.capability(try await station.spc(partNumber: part, since: since, until: until), messages: messages)
            case "spc.svg":
                let (part, position) = (try Self.partNumber(q), try Self.position(q))
                let trace = try await station.chartTrace(partNumber: part, position: position, since: since, until: until)
                svg = trace.map { Charts.control($0, messages: messages) } ?? Charts.empty(messages["chart.noUnits"] ?? "no units")
            default:
                throw WebError(
                    .notFound, "no such chart", fix: "use /charts/yield.svg, pareto.svg, capability.svg or spc.svg", key: "error.notFound")
            }
        } catch let e as StoreError {
            throw WebError(.serviceUnavailable, "the store cannot be read: \(e)", fix: "see 'ferrulectl status'", key: "error.internal")
        }
        return Response(
            status: .ok, headers: [.contentType: "image/svg+xml; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: svg)))
    }

    /// A chart's or a lot's window (`?since=&until=`, ISO 8601), each end optional.
    static func window(_ q: Hummingbird.Parameters) throws -> (since: Date?, until: Date?) {
        do {
            return (
                try ControlProtocol.time(q["since"].map(String.init), field: "since"),
                try ControlProtocol.time(q["until"].map(String.init), field: "until")
            )
        } catch let e {
            throw WebError(.badRequest, e.message, fix: e.fix, key: "error.badRequest")
        }
    }

    /// A quality chart's part number (`?partNumber=`), required and bounded.
    static func partNumber(_ q: Hummingbird.Parameters) throws -> String {
        guard let part = q["partNumber"].map(String.init), !part.isEmpty, part.count <= 64 else {
            throw WebError(
                .badRequest, "partNumber is missing or longer than 64 characters", fix: "add ?partNumber=FT-MTP12-SMAPC-B-LL",
                key: "error.badRequest")
        }
        return part
    }

    /// A control chart's position: `fiber` (1-32), `wavelengthNm` and `end` (A or B).
    private static func position(_ q: Hummingbird.Parameters) throws -> ChartPosition {
        func number(_ field: Substring, _ range: ClosedRange<Int>) throws -> Int {
            guard let text = q[field].map(String.init), let n = Int(text), range.contains(n) else {
                let given = q[field].map { "'\(Escaped.text(String($0.prefix(40))))'" } ?? "nothing"
                throw WebError(
                    .badRequest, "\(field) is \(given), not a number in \(range.lowerBound)...\(range.upperBound)",
                    fix: "give ?fiber=3&wavelengthNm=1310&end=A", key: "error.badRequest")
            }
            return n
        }
        let (fiber, wavelength) = (try number("fiber", 1...32), try number("wavelengthNm", 600...1700))
        guard let end = q["end"].map(String.init).flatMap(End.init(rawValue:)) else {
            throw WebError(.badRequest, "end must be A or B", fix: "give &end=A", key: "error.badRequest")
        }
        return ChartPosition(fiber: fiber, wavelengthNm: wavelength, end: end)
    }
}
