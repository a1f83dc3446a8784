import FerruleCore
import Foundation

/// Every output is rendered from the one stored record (`UnitReport`), never measured twice.
public enum ReportFormat: String, Sendable, Codable, CaseIterable {
    /// The report as the schema (`docs/report.schema.json`) describes it.
    case json
    /// One row per fiber, wavelength and end, for spreadsheets.
    case csv
    /// The certificate that ships with the product (prints on A4 and Letter).
    case html
    /// IPC-CFX `CFX.Production.TestAndInspection.UnitsTested` message (JSON).
    case cfx
    /// IEEE 1671 ATML TestResults (XML).
    case atml

    public var fileSuffix: String {
        switch self {
        case .json: return ".json"
        case .csv: return ".csv"
        case .html: return ".html"
        case .cfx: return ".cfx.json"
        case .atml: return ".atml.xml"
        }
    }

    public var contentType: String {
        switch self {
        case .json, .cfx: return "application/json"
        case .csv: return "text/csv; charset=utf-8"
        case .html: return "text/html; charset=utf-8"
        case .atml: return "application/xml"
        }
    }

    /// The unit's record in this format; the certificate (`html`) laid out by `certificate`.
    public func render(_ r: UnitReport, certificate: CertificateTemplate = .standard) throws -> Data {
        switch self {
        case .json: return try UnitReport.encoder().encode(r)
        case .csv: return Data(CSVReport.render(r).utf8)
        case .html: return Data(certificate.render(r).utf8)
        case .cfx: return try CFXUnitsTested.render(r)
        case .atml: return try ATMLTestResults.render(r)
        }
    }
}

/// Numbers as reports show them: fixed decimals, `-` for none. The C library's `%.*f`, which
/// `String(format:)` also ends in, without Foundation's format parsing (half the time of a
/// certificate's numbers).
func num(_ v: Double?, _ digits: Int = 3) -> String {
    guard let v, v.isFinite else { return "" }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
        let n = withVaList([Int32(digits), v]) { vsnprintf(buffer.baseAddress!, buffer.count, "%.*f", $0) }
        guard n >= 0, Int(n) < buffer.count else { return String(format: "%.\(digits)f", v) }  // 1e60 and up
        return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress!, count: Int(n)), as: UTF8.self)
    }
}

func iso(_ d: Date) -> String { UnitReport.isoMilliseconds(d) }

enum CSVReport {
    static let header = [
        "reportId", "serial", "partNumber", "stationId", "fixture", "operator", "finishedAt", "unitVerdict",
        "fiber", "wavelengthNm", "end", "expectedReceivePosition", "receivePosition", "powerStatus", "powerDbm",
        "referenceDbm", "referenceCord", "ilDb", "ilMaxDb", "ilMarginDb", "rlDb", "rlMinDb", "rlMarginDb",
        "rlBDb", "rlBMinDb", "rlBMarginDb", "verdict", "reasons"
    ]

    /// RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled. A field a
    /// spreadsheet would run as a formula (=, +, -, @ first) gets a leading apostrophe; numbers
    /// are written by us and are left alone.
    static func field(_ s: String, text: Bool = true) -> String {
        var s = s
        if text, let c = s.first, "=+-@\t\r".contains(c) { s = "'" + s }
        if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return s
    }

    static func render(_ r: UnitReport) -> String {
        var lines = [header.joined(separator: ",")]
        for m in r.measurements.sorted(by: { ($0.fiber, $0.wavelengthNm, $0.end.rawValue) < ($1.fiber, $1.wavelengthNm, $1.end.rawValue) })
        {
            let texts = [r.reportId.uuidString.lowercased(), r.unit.serial, r.unit.partNumber, r.station.id]
            let row =
                texts.map { field($0) } + [
                    String(r.fixture), field(r.operator), iso(r.finishedAt), r.verdict.rawValue,
                    String(m.fiber), String(m.wavelengthNm), m.end.rawValue, String(m.expectedReceivePosition),
                    m.receivePosition.map(String.init) ?? "", m.powerStatus.rawValue, num(m.powerDbm), num(m.referenceDbm),
                    field(m.referenceCord ?? ""),
                    num(m.ilDb), num(m.ilMaxDb), num(m.ilMarginDb), num(m.rlDb, 2), num(m.rlMinDb, 2), num(m.rlMarginDb, 2),
                    num(m.rlBDb, 2), num(m.rlBMinDb, 2), num(m.rlBMarginDb, 2),
                    m.verdict.rawValue, field(m.reasons.joined(separator: "; "))
                ]
            lines.append(row.joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}
