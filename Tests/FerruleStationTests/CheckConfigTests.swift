import FerruleTesting
import Foundation
import Testing

/// `ferruled check-config`, run as a line engineer runs it, on a config with a 100 KB station id:
/// refused naming the key and the bound, without printing the value back.
@Suite(.shutsDownStations) struct CheckConfigTests {
    static let huge = String(repeating: "X", count: 100_000)

    @Test func checkConfigRefusesAHugeStationId() throws {
        let exe = Repo.root + "/.build/debug/ferruled"
        guard FileManager.default.isExecutableFile(atPath: exe) else {
            Issue.record("build ferruled first (swift build): \(exe) is missing")
            return
        }
        let file = temporaryDirectory() + "/long-id.yaml"
        let text = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
        try text.replacingOccurrences(of: "  id: SIM-01", with: "  id: \(Self.huge)").write(
            toFile: file, atomically: true, encoding: .utf8)
        let (status, out) = try runProgram(exe, ["check-config", file])
        #expect(status == 1, "\(out)")
        #expect(out.contains("station.id") && out.contains("more than the 64"), "\(out)")
        #expect(out.utf8.count < 4000, "the 100 KB value is not printed back")
    }
}
