import FerruleCore
import FerruleProtocol
import FerruleStation
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/lots/report.html?partNumber=&since=&until=&lang=`: a lot's IL statistics and grade as a page
/// to print or file with the shipment (the JSON is `GET /api/lot`, docs/lot.schema.json), with
/// the method written out in the reader's language. Every value the client gave is escaped.
extension ReportRoutes {
    func lot(_ request: Request, context: WebContext) async throws -> Response {
        _ = try context.requireUser()
        let q = request.uri.queryParameters
        let (since, until) = try Self.window(q)
        let part = try Self.partNumber(q)
        let messages = Catalog.messages(q["lang"].map(String.init) ?? "en")
        let lot = try await station.lot(partNumber: part, since: since, until: until)
        let html = LotPage(lot: lot, messages: messages, language: q["lang"] == "zh" ? "zh-CN" : "en").html
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'"
            ],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}

struct LotPage {
    let lot: LotReport
    let messages: [String: String]
    let language: String

    private func t(_ key: String) -> String { Charts.xml(messages[key] ?? key) }
    private func db(_ v: Double) -> String { String(format: "%.3f", v) }

    private func verdict(_ meets: Bool?) -> String {
        switch meets {
        case true?: return #"<b class="pass">\#(t("lot.meets"))</b>"#
        case false?: return #"<b class="fail">\#(t("lot.misses"))</b>"#
        case nil: return "–"
        }
    }

    private func table(_ heads: [String], _ rows: [[String]]) -> String {
        "<table><tr>" + heads.map { "<th>\(t($0))</th>" }.joined() + "</tr>"
            + rows.map { "<tr>" + $0.map { "<td>\($0)</td>" }.joined() + "</tr>" }.joined() + "</table>"
    }

    var html: String {
        let day = DateFormatter.chartDay
        let window = [lot.since, lot.until].map { $0.map { day.string(from: $0) } ?? "–" }.joined(separator: " … ")
        let grade = lot.grade.map { String(format: t("lot.gradeOf"), $0.meanIlMaxDb, $0.p97IlMaxDb) } ?? t("lot.noGrade")
        let stats = ["lot.n", "lot.mean", "lot.p97", "lot.max"]
        let wavelengths = lot.wavelengths.map { w in
            ["\(w.wavelengthNm) nm", "\(w.il.n)", db(w.il.meanDb), db(w.il.p97Db), db(w.il.maxDb), verdict(w.meetsGrade)]
        }
        let positions = lot.positions.map { p in
            ["\(p.position.fiber)", "\(p.position.wavelengthNm) nm", p.position.end.rawValue, "\(p.il.n)", db(p.il.meanDb),
             db(p.il.p97Db), db(p.il.maxDb)]
        }
        return """
            <!DOCTYPE html><html lang="\(language)"><head><meta charset="utf-8">
            <title>\(t("lot.title")) \(Charts.xml(lot.partNumber))</title>
            <style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:12px 0}\
            td,th{border:1px solid #999;padding:4px 10px;text-align:right}th{background:#eee}.pass{color:#2e7d32}.fail{color:#c62828}\
            </style></head><body>
            <h1>\(t("lot.title")) \(Charts.xml(lot.partNumber))</h1>
            <table>
            <tr><th>\(t("lot.window"))</th><td>\(window)</td></tr>
            <tr><th>\(t("lot.units"))</th><td id="units">\(lot.units)</td></tr>
            <tr><th>\(t("lot.grade"))</th><td>\(grade)</td></tr>
            <tr><th>\(t("lot.verdict"))</th><td id="verdict">\(verdict(lot.meetsGrade))</td></tr>
            </table>
            <h2>\(t("lot.perWavelength"))</h2>
            \(table(["lot.wavelength"] + stats + ["lot.verdict"], wavelengths))
            <h2>\(t("lot.perPosition"))</h2>
            \(table(["lot.fiber", "lot.wavelength", "lot.end"] + stats, positions))
            <h2>\(t("lot.methodTitle"))</h2>
            <p id="method">\(t("lot.method"))</p>
            </body></html>
            """
    }
}
