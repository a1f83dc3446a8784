import FerruleCore
import Foundation
import Mustache

/// The certificate's layout as a Mustache template, so that a quality department can change
/// its look, language and logo without a new Ferrule: the built-in one (`standard`) or a file
/// the config names. A template is checked when it is loaded, not when the first unit ships:
/// a syntax error, or a name that is not a certificate field (a typo would otherwise print as
/// nothing on every certificate), is refused with its line.
public struct CertificateTemplate: Sendable {
    let template: MustacheTemplate
    /// Where the template came from: "built-in" or the file's path.
    public let source: String
    /// The template as written.
    public var text: String { template.description }

    /// The built-in certificate (`DefaultCertificate`).
    public static let standard: CertificateTemplate = {
        // The built-in text is part of the program and checked by the tests; it cannot fail here.
        do { return try CertificateTemplate(text: DefaultCertificate.text, source: "built-in") } catch {
            fatalError("the built-in certificate template is broken: \(error)")
        }
    }()

    /// The built-in template's text, to start one's own from.
    public static var standardText: String { DefaultCertificate.text }

    public init(text: String, source: String) throws(CertificateTemplateError) {
        do {
            template = try MustacheTemplate(string: text)
        } catch let e as MustacheTemplate.ParserError {
            throw CertificateTemplateError(
                source: source, line: e.context.lineNumber, column: e.context.columnNumber,
                message: "the template does not parse (\(e.error))",
                fix: "check the tag at that place: {{name}}, {{#section}}…{{/section}}")
        } catch {
            throw CertificateTemplateError(
                source: source, line: nil, column: nil, message: "the template does not parse (\(error))", fix: "check its tags")
        }
        try Self.checkNames(text, source: source)
        self.source = source
    }

    /// Reads and checks a template file.
    public init(path: String) throws(CertificateTemplateError) {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw CertificateTemplateError(
                source: path, line: nil, column: nil, message: "cannot read the template (\(error.localizedDescription))",
                fix: "give the path of a readable UTF-8 file (`ferruled certificate-template` prints the built-in one)")
        }
        try self.init(text: text, source: path)
    }

    public func render(_ report: UnitReport) -> String {
        template.render(CertificateView(report).plain)
    }

    /// Every tag's name must be a certificate field (`CertificateView`). Partials, parents and
    /// changed delimiters are refused: a certificate is one file, read by people who are not
    /// programmers.
    static func checkNames(_ text: String, source: String) throws(CertificateTemplateError) {
        let tag = /\{\{(\{?)\s*([#^\/&!>=<$]?)\s*([^}]*?)\s*\}?\}\}/
        for match in text.matches(of: tag) {
            let sigil = String(match.output.2)
            var name = String(match.output.3)
            // A transform, `{{uppercased(serial)}}`, names its field inside the brackets.
            if let call = name.wholeMatch(of: /\w+\((.*)\)/) { name = String(call.output.1) }
            let line = text[..<match.range.lowerBound].filter(\.isNewline).count + 1
            if sigil == "!" { continue }
            if [">", "<", "$", "="].contains(sigil) {
                throw CertificateTemplateError(
                    source: source, line: line, column: nil, message: "`\(match.output.0)` is not supported in a certificate",
                    fix: "keep the whole certificate in one file, with {{name}} and {{#section}} tags only")
            }
            let unknown = name.split(separator: ".").map(String.init).filter { !CertificateView.vocabulary.contains($0) }
            if name != ".", !name.isEmpty, let first = unknown.first {
                let known = CertificateView.vocabulary.sorted().joined(separator: ", ")
                throw CertificateTemplateError(
                    source: source, line: line, column: nil, message: "`\(first)` is not a certificate field",
                    fix: "use one of: \(known)")
            }
        }
    }
}

/// A certificate template that cannot be used: where, what, and the fix.
public struct CertificateTemplateError: Error, Sendable, CustomStringConvertible {
    public var source: String
    public var line: Int?
    public var column: Int?
    public var message: String
    public var fix: String

    /// " (line 3, column 7)", or nothing when the place is not known.
    public var place: String {
        let parts = [line.map { "line \($0)" }, column.map { "column \($0)" }].compactMap { $0 }
        return parts.isEmpty ? "" : " (\(parts.joined(separator: ", ")))"
    }

    public var description: String { "\(source)\(place): \(message). Fix: \(fix)" }
}
