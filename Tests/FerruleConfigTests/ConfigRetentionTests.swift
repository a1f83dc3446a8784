import FerruleTesting
import Foundation
import Testing

@testable import FerruleConfig

/// `station.retention`: defaults a year's disk can live with, `forever`, and a refusal naming the key.
@Suite struct ConfigRetentionTests {
    static func parse(_ retention: String?) throws -> StationConfig {
        var text = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
        if let retention { text = text.replacingOccurrences(of: "  id: SIM-01\n", with: "  id: SIM-01\n  retention: \(retention)\n") }
        return try StationConfig.parse(text, file: "/etc/ferrule/station.yaml")
    }

    @Test func defaultsKeepAQuarterInTheStoreAndAMonthOfFiles() throws {
        let p = try Self.parse(nil).retention
        #expect(p.storeDays == 90 && p.reportFilesDays == 30 && p.archive && p.every == .seconds(3600))
    }

    @Test func daysForeverAndAPeriod() throws {
        let p = try Self.parse("{ storeDays: 365, reportFilesDays: forever, archive: false, every: 30m }").retention
        #expect(p.storeDays == 365 && p.reportFilesDays == nil && !p.archive && p.every == .seconds(1800))
    }

    @Test func aWordThatIsNotForeverIsRefusedWithTheKey() throws {
        do {
            _ = try Self.parse("{ storeDays: ninety }")
            Issue.record("accepted storeDays: ninety")
        } catch {
            let text = "\(error)"
            #expect(text.contains("station.retention.storeDays") && text.contains("'ninety'"), "\(text)")
            #expect(text.contains("forever"), "\(text)")
        }
        #expect(throws: ConfigError.self) { _ = try Self.parse("{ storeDays: -1 }") }
        #expect(throws: ConfigError.self) { _ = try Self.parse("{ every: 0s }") }
        #expect(throws: ConfigError.self) { _ = try Self.parse("{ storeDay: 30 }") }
    }
}
