import FerruleCore
import FerruleRecords
import FerruleSimSpec
import FerruleSimulator
import Foundation
import FerruleTesting
import Testing

@testable import FerruleRecords
@testable import FerruleConfig
@testable import FerruleStation

/// The certificate is a template that quality people edit: the station uses the configured one
/// for the data directory and the sinks, and refuses a broken one at load, with its line.
@Suite(.shutsDownStations) struct CertificateTemplateTests {
    /// The in-process config with `station.certificateTemplate` pointing at `template`,
    /// written beside it (the path is relative to the config file).
    func config(template: String, sinkFolder: String? = nil) throws -> StationConfig {
        let dir = temporaryDirectory()
        try template.write(toFile: dir + "/our-cert.mustache", atomically: true, encoding: .utf8)
        var text = try inProcessConfigText().replacingOccurrences(
            of: "station:\n  id: SIM-01\n", with: "station:\n  id: SIM-01\n  certificateTemplate: our-cert.mustache\n")
        if let sinkFolder {
            text = text.replacingOccurrences(
                of: "diagnosis:\n", with: "sinks:\n  - { name: share, kind: directory, path: \(sinkFolder), formats: [html] }\ndiagnosis:\n"
            )
        }
        try text.write(toFile: dir + "/station.yaml", atomically: true, encoding: .utf8)
        return try StationConfig.load(path: dir + "/station.yaml")
    }

    @Test func theConfiguredTemplateLaysOutEveryCertificate() async throws {
        let template = """
            <h1>ACME Optics QA</h1><p>{{serial}} {{verdict}}</p>
            {{#tables}}<h2>{{end}} {{wavelengthNm}}</h2>{{#rows}}<i>{{fiber}}:{{il}}</i>{{/rows}}{{/tables}}
            """
        let share = temporaryDirectory()
        let built = try await makeBuiltStation(config: try config(template: template, sinkFolder: share), sinks: nil)
        let station = built.station
        let bench = try #require(built.simulation?.bench)
        let outcome = try await testUnit(station, bench, serial: "QA-<b>1</b>", part: "FO-MTP12-LC-SM")
        let file = station.data.certificatePath(for: outcome.report)
        let html = try String(contentsOfFile: file, encoding: .utf8)
        #expect(html.hasPrefix("<h1>ACME Optics QA</h1><p>QA-&lt;b&gt;1&lt;/b&gt; PASS</p>"), "\(html.prefix(200))")
        let cells = outcome.report.measurements.count
        #expect(html.components(separatedBy: "<i>").count - 1 == cells && cells == 24)
        let first = try #require(outcome.report.measurements.first { $0.fiber == 1 && $0.end == .a })
        #expect(html.contains("<i>1:\(String(format: "%.3f", first.ilDb!))</i>"))
        // The sink that delivers certificates to the MES uses the same template.
        try await waitUntil { (try? FileManager.default.contentsOfDirectory(atPath: share))?.contains { $0.hasSuffix(".html") } == true }
        let shared = try #require(try FileManager.default.contentsOfDirectory(atPath: share).first { $0.hasSuffix(".html") })
        #expect(try String(contentsOfFile: share + "/" + shared, encoding: .utf8) == html)
        await station.shutdown()
    }

    @Test func aBrokenTemplateStopsTheStartWithItsLine() throws {
        func refusal(_ template: String) throws -> ConfigError {
            do { _ = try config(template: template) } catch let e as ConfigError { return e }
            Issue.record("expected a config error")
            throw CancellationError()
        }
        let typo = try refusal("<p>{{serial}}</p>\n<p>{{serail}}</p>\n")
        #expect(typo.path.description == "station.certificateTemplate")
        #expect(typo.message.contains("our-cert.mustache (line 2)") && typo.message.contains("`serail` is not a certificate field"))
        #expect(typo.fix.contains("serial"))
        let unclosed = try refusal("<p>{{serial}}</p>\n{{#tables}}\n<h2>{{end}}</h2>\n")
        #expect(unclosed.message.contains("does not parse"), "\(unclosed)")
        let partial = try refusal("{{> logo}}\n")
        #expect(partial.message.contains("not supported"))
        do {
            _ = try StationConfig.parse(
                try inProcessConfigText().replacingOccurrences(
                    of: "station:\n  id: SIM-01\n", with: "station:\n  id: SIM-01\n  certificateTemplate: /nowhere/cert.mustache\n"),
                file: "/tmp/x.yaml")
            Issue.record("a missing template was accepted")
        } catch let error as ConfigError {
            #expect(error.message.contains("/nowhere/cert.mustache") && error.message.contains("cannot read"))
        }
    }

    /// The built-in template only uses names the view has, and is what `certificate-template` prints.
    @Test func theBuiltInTemplatePassesItsOwnCheck() throws {
        _ = try CertificateTemplate(text: CertificateTemplate.standardText, source: "test")
        #expect(CertificateTemplate.standard.source == "built-in")
    }

    /// The certificate's rows are turned into Mustache's dictionaries by hand, the rest by
    /// reflection: both ways give the same view, failing rows (with their reasons) included.
    @Test func rowsByHandAreWhatReflectionGives() async throws {
        let built = try await makeBuiltStation(config: try StationConfig.load(path: Repo.simulatedConfig))
        defer { built.simulation?.close() }
        let bench = try #require(built.simulation?.bench)
        let o = try await testUnit(built.station, bench, serial: "ROWS-1", part: "FO-MTP12-LC-SM", faults: [.darkFiber(fiber: 7)])
        #expect(o.report.verdict == .fail)
        let view = CertificateView(o.report)
        #expect(view.tables.flatMap(\.rows).contains { $0.why != nil } && view.tables.flatMap(\.rows).contains { $0.why == nil })
        func json(_ value: [String: Any]) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]), as: UTF8.self)
        }
        #expect(try json(view.plain) == json(view.reflected))
        await built.station.shutdown()
    }
}
