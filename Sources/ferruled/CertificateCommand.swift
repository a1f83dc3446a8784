import ArgumentParser
import FerruleCore
import FerruleRecords
import Foundation

/// `ferruled certificate-template`: prints the built-in certificate template, to start one's own
/// from; with `--render`, lays out a stored unit report with a template, so that a quality
/// department can try its template on real results before the station uses it.
struct CertificateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certificate-template",
        abstract: "Print the built-in certificate template, or render a unit report with a template.")

    @Option(help: "A unit report (JSON) to render as a certificate (HTML) on standard output.")
    var render: String?

    @Option(help: "The template to check or render with (default: the built-in one).")
    var template: String?

    func run() throws {
        let chosen: CertificateTemplate
        do { chosen = try template.map { try CertificateTemplate(path: $0) } ?? .standard } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
        guard let render else {
            if let template {
                print("\(template): OK")
            } else {
                print(CertificateTemplate.standardText, terminator: "")
            }
            return
        }
        let report: UnitReport
        do {
            report = try UnitReport.decoder().decode(UnitReport.self, from: Data(contentsOf: URL(fileURLWithPath: render)))
        } catch {
            let fix = "give a report file from <data-dir>/reports"
            FileHandle.standardError.write(Data("\(render): not a unit report (\(error)); \(fix)\n".utf8))
            throw ExitCode(1)
        }
        print(chosen.render(report), terminator: "")
    }
}
