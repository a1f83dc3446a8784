import ArgumentParser
import FerruleCore
import Foundation

struct ShowReport: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show-report", abstract: "Summarise one or more report files.")

    @Argument(help: "Report JSON files.")
    var files: [String]

    @Flag(help: "Print one JSON object per report instead of text.")
    var json = false

    func run() throws {
        var failed = false
        for path in files {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("ferrulectl: cannot read \(path)\n".utf8))
                failed = true
                continue
            }
            let r: UnitReport
            do { r = try UnitReport.decoder().decode(UnitReport.self, from: data) } catch {
                FileHandle.standardError.write(Data("ferrulectl: \(path) is not a Ferrule report: \(error)\n".utf8))
                failed = true
                continue
            }
            if json {
                struct Line: Encodable {
                    var serial, partNumber, verdict: String
                    var fixture: Int
                    var worstIlDb: Double?
                    var diagnoses: [String]
                }
                let line = Line(
                    serial: r.unit.serial, partNumber: r.unit.partNumber, verdict: r.verdict.rawValue, fixture: r.fixture,
                    worstIlDb: r.summary.worstIlDb, diagnoses: r.diagnoses.map(\.code.rawValue))
                print(String(decoding: try JSONEncoder().encode(line), as: UTF8.self))
                continue
            }
            print("\(r.unit.serial.debugDescription) \(r.unit.partNumber) fixture \(r.fixture): \(r.verdict.rawValue.uppercased())")
            print(
                """
                      \(r.assembly.fiberCount) fibers, \(r.assembly.kind.rawValue), \(r.assembly.fiberType.rawValue), Type \
                    \(r.assembly.polarity); operator \(r.operator); \(r.measurements.count) measurements
                    """
            )
            if let w = r.summary.worstIlDb { print(String(format: "  worst IL %.3f dB (fiber %d)", w, r.summary.worstIlFiber ?? 0)) }
            for reason in r.reasons { print("  reason: \(reason)") }
            for d in r.diagnoses { print("  \(d.code.rawValue): \(d.message) -> \(d.action)") }
        }
        if failed { throw ExitCode(2) }
    }
}
