import FerruleControl
import FerruleProtocol
import FerruleTesting
import Foundation
import Testing

/// `station.retention` in the real ferruled: with a retention of zero days, a unit the share has
/// leaves the store for its month's archive and its report file goes, while a unit the share
/// (unmounted) still owes stays with its file until the share takes it; `ferrulectl history
/// --serial` still finds the archived unit.
@Suite(.serialized, .shutsDownStations) struct RetentionDaemonTests {
    @Test func aShortRetentionArchivesDeliveredUnitsAndKeepsOwedOnes() async throws {
        let share = temporaryDirectory() + "-share"
        try FileManager.default.createDirectory(atPath: share, withIntermediateDirectories: true)
        let config =
            try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
            .replacingOccurrences(
                of: "  id: SIM-01\n", with: "  id: SIM-01\n  retention: { storeDays: 0, reportFilesDays: 0, every: 1s }\n")
            + "\nsinks:\n  - { name: share, kind: directory, path: \(share), formats: [json] }\n"
        let d = try await Daemon(config: config)
        defer { Task { await d.stop() } }
        try await ControlSession.with(path: d.socket) { s in
            _ = try await s.ok("reference") {
                $0.fixture = 1
                $0.cord = "RC-B-012"
            }
        }
        try await d.testUnit("RET-1")
        try await waitUntil("RET-1 to be archived", timeout: .seconds(60)) { try await archive(of: "RET-1", d) != nil }
        #expect(try reportFiles(d).isEmpty, "a delivered unit's report file is removed at zero days")

        // The share goes away (an unmounted folder is waited for): the next unit is owed.
        try FileManager.default.removeItem(atPath: share)
        try await d.testUnit("RET-2")
        let finished = Date()
        try await waitUntil("two retention passes after RET-2", timeout: .seconds(60)) {
            guard let pass = try await retention(d) else { return false }
            return pass.at > finished + 2.5 && pass.kept == 1
        }
        #expect(try await archive(of: "RET-2", d) == nil, "a unit the share has not taken stays in the store")
        #expect(try reportFiles(d).count == 1, "and so does its report file")

        let (status, out) = try runProgram(Repo.root + "/.build/debug/ferrulectl", ["history", "--serial", "RET-1", "--socket", d.socket])
        #expect(status == 0 && out.contains("RET-1") && out.contains("(archived, 20"), "\(out)")

        // The share is back: it takes RET-2, which then follows RET-1.
        try FileManager.default.createDirectory(atPath: share, withIntermediateDirectories: true)
        try await waitUntil("RET-2 to be archived", timeout: .seconds(90)) { try await archive(of: "RET-2", d) != nil }
        #expect(try FileManager.default.contentsOfDirectory(atPath: share).count == 1, "the share has RET-2's report")
    }

    /// The archive month history gives for the serial's newest test; nil while the store holds it.
    private func archive(of serial: String, _ d: Daemon) async throws -> String? {
        try await ControlSession.with(path: d.socket) { s in
            let rows = try await s.ok("history") { $0.serial = serial }
            return rows.array?.first?["archive"]?.string
        }
    }

    private func retention(_ d: Daemon) async throws -> (at: Date, kept: Int)? {
        try await ControlSession.with(path: d.socket) { s in
            let st = try await s.ok("status")
            guard let r = st["storage"]?["retention"], let at = r["at"]?.string, let kept = r["kept"]?.int,
                let date = try? Date(at, strategy: .iso8601)
            else { return nil }
            return (date, kept)
        }
    }

    private func reportFiles(_ d: Daemon) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: d.dir + "/data/reports").filter { $0.hasSuffix(".json") }
    }
}
