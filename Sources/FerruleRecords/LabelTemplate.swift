import FerruleCore
import Foundation
import Mustache

/// A product label in ZPL (Zebra's printer language) as a Mustache template per part number:
/// serial, part number, verdict, date, worst IL and a QR code with the report id. Every value is
/// written as ZPL hex (`_XX`) wherever a character could be read as a command (`^`, `~`, `_`,
/// control and non-ASCII bytes), so a serial cannot end the label or start another: a field
/// holding a value must be preceded by `^FH` (field hex), as in the built-in label.
public struct LabelTemplate: Sendable {
    let template: MustacheTemplate
    /// Where the template came from: "built-in" or the file's path.
    public let source: String

    /// The fields a label template may use.
    public static let fields = ["serial", "partNumber", "verdict", "date", "worstIl", "reportId", "station", "operator", "fibers"]

    /// 4 x 2 inch at 203 dpi; UTF-8 (`^CI28`).
    public static let standardText = """
        ^XA
        ^CI28
        ^PW812
        ^LL406
        ^FO30,30^A0N,34,34^FH^FD{{partNumber}}^FS
        ^FO30,80^A0N,56,56^FH^FD{{serial}}^FS
        ^FO30,150^A0N,44,44^FH^FD{{verdict}}^FS
        ^FO30,210^A0N,30,30^FH^FD{{date}}  {{fibers}} fibers^FS
        ^FO30,250^A0N,30,30^FH^FDWorst IL {{worstIl}} dB^FS
        ^FO30,290^A0N,24,24^FH^FDStation {{station}}^FS
        ^FO560,40^BQN,2,5^FH^FDLA,{{reportId}}^FS
        ^XZ

        """

    public static let standard: LabelTemplate = {
        // The built-in text is part of the program and checked by the tests; it cannot fail here.
        do { return try LabelTemplate(text: standardText, source: "built-in") } catch {
            fatalError("the built-in label template is broken: \(error)")
        }
    }()

    public init(text: String, source: String) throws(LabelTemplateError) {
        Self.registerEscaping
        do {
            template = try MustacheTemplate(string: "{{% CONTENT_TYPE: ZPL}}" + text)
        } catch {
            throw LabelTemplateError(source: source, message: "the label template does not parse (\(error))")
        }
        for m in text.matches(of: /\{\{\{?\s*([^}\s]*)\s*\}?\}\}/) where !Self.fields.contains(String(m.output.1)) {
            throw LabelTemplateError(
                source: source, message: "'{{\(m.output.1)}}' is not a label field (use: \(Self.fields.joined(separator: ", ")))")
        }
        self.source = source
    }

    public func render(_ r: UnitReport) -> String {
        let worst = r.measurements.compactMap(\.ilDb).max()
        let values: [String: String] = [
            "serial": r.unit.serial, "partNumber": r.unit.partNumber, "verdict": r.verdict.rawValue.uppercased(),
            "date": UnitReport.isoMilliseconds(r.finishedAt).prefix(10).description,
            "worstIl": worst.map { String(format: "%.2f", $0) } ?? "-", "reportId": r.reportId.uuidString.lowercased(),
            "station": r.station.id, "operator": r.operator, "fibers": String(r.fibers.count),
        ]
        return template.render(values)
    }

    private static let registerEscaping: Void = MustacheContentTypes.register(ZPLFieldEscaping(), named: "ZPL")
}

/// ZPL field hex: `^`, `~`, `_`, control characters and every non-ASCII byte (UTF-8) as `_XX`.
struct ZPLFieldEscaping: MustacheContentType {
    func escapeText(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if byte < 0x20 || byte >= 0x7F || byte == UInt8(ascii: "^") || byte == UInt8(ascii: "~") || byte == UInt8(ascii: "_") {
                out += String(format: "_%02X", byte)
            } else {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            }
        }
        return out
    }
}

public struct LabelTemplateError: Error, CustomStringConvertible {
    public var source: String
    public var message: String
    public var description: String { "\(source): \(message)" }
}
