import Foundation
import FerruleTesting
import Testing

@testable import FerruleConfig

/// Every string a config supplies is bounded: a name travels into every report, CFX message and
/// label, so a 100 KB one is refused at `check-config`, naming the key and the bound.
@Suite struct ConfigBoundsTests {
    static let huge = String(repeating: "X", count: 100_000)

    static func refusal(_ text: String) throws -> ConfigError {
        do {
            _ = try StationConfig.parse(text, file: "long.yaml")
        } catch {
            return error
        }
        Issue.record("a 100 KB string was accepted")
        throw CancellationError()
    }

    @Test func aHugeStationIdIsRefusedWithTheKeyAndTheBound() throws {
        let text = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
        let e = try Self.refusal(text.replacingOccurrences(of: "  id: SIM-01", with: "  id: \(Self.huge)"))
        #expect(e.path.description == "station.id", "\(e)")
        #expect(e.message.contains("100000 characters") && e.message.contains("64"), "\(e)")
        #expect(e.fix.contains("at most 64"))
        #expect(e.line == 10, "the line of the key in the file: \(e)")
        #expect(e.description.count < 1000, "the value itself is not echoed")
    }

    @Test func aHugeSinkNameIsRefused() throws {
        let text = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8).replacingOccurrences(
            of: "diagnosis:\n", with: "sinks:\n  - { name: \(Self.huge), kind: directory, path: /tmp }\ndiagnosis:\n")
        let e = try Self.refusal(text)
        #expect(e.path.description == "sinks[0].name" && e.message.contains("more than the 64"), "\(e)")
    }

    /// The simulated bench with a scanner on fixture 1, set up as `scanner` says.
    static func withScanner(_ scanner: String) throws -> StationConfig {
        var text = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
        text = text.replacingOccurrences(
            of: "instruments:\n", with: "instruments:\n  - name: scanner1\n    driver: barcode-serial\n    simulate: pty\n")
        let fixture1 = try #require(text.range(of: "  - id: 1\n"))
        text.replaceSubrange(fixture1, with: "  - id: 1\n    scanner: \(scanner)\n")
        return try StationConfig.parse(text, file: "scanner.yaml")
    }

    @Test func aHugeSerialPrefixIsRefusedAsAKey() throws {
        // An explicit key (`? key : value`): YAML itself refuses implicit keys past 1024 characters.
        let e = #expect(throws: ConfigError.self) {
            try Self.withScanner("{ instrument: scanner1, operator: x, partPrefixes: { ? \(Self.huge) : FT-MTP12-SMAPC-B-LL } }")
        }
        #expect(e?.path.description.hasSuffix("scanner.partPrefixes") == true, "\(String(describing: e))")
        #expect(e?.message.contains("the key ('XXXXXXXXXXXXXXXXXXXX...') is 100000 characters, more than the 64") == true,
                "\(String(describing: e))")
    }

    @Test func pathsMayBeLongerThanNamesButNotEndless() throws {
        let text = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
        let path = "/" + String(repeating: "d", count: 300)
        let longPath = text.replacingOccurrences(
            of: "diagnosis:\n", with: "sinks:\n  - { name: share, kind: directory, path: \(path) }\ndiagnosis:\n")
        #expect(throws: Never.self) { try StationConfig.parse(longPath, file: "ok.yaml") }
        let e = try Self.refusal(longPath.replacingOccurrences(of: path, with: "/" + Self.huge))
        #expect(e.path.description == "sinks[0].path" && e.message.contains("more than the 1024"), "\(e)")
    }
}
