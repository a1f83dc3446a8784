import FerruleControl
import FerruleProtocol
import FerruleTesting
import Foundation
import Testing

/// `ferrulectl spc` against the real ferruled: one chart per fiber and wavelength of the part,
/// each over every unit tested, with Ppk against the recipe's limit; as a table and as CSV.
@Suite(.serialized, .shutsDownStations) struct SPCCommandTests {
    @Test func aPartsChartsCoverEveryPositionAndUnit() async throws {
        let d = try await Daemon()
        defer { Task { await d.stop() } }
        let part = "FT-MTP12-SMAPC-B-LL"
        try await ControlSession.with(path: d.socket) { s in
            _ = try await s.ok("reference") {
                $0.fixture = 1
                $0.cord = "RC-B-012"
            }
        }
        for i in 1...4 { try await d.testUnit("SPC-\(i)", part: part) }
        let ctl = Repo.root + "/.build/debug/ferrulectl"
        let (status, csv) = try runProgram(ctl, ["spc", "--part", part, "--csv", "--socket", d.socket])
        #expect(status == 0, "\(csv)")
        let rows = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.first?.prefix(4) == ["wavelengthNm", "fiber", "end", "n"], "\(csv)")
        let charts = rows.dropFirst()
        #expect(charts.count == 24, "12 fibers at 1310 and 1550 nm: \(csv)")
        #expect(charts.allSatisfy { $0[3] == "4" && $0[8] == "0.350" && Double($0[9]) != nil }, "\(csv)")
        #expect(Set(charts.map { $0[0] }) == ["1310", "1550"])

        let (tableStatus, table) = try runProgram(ctl, ["spc", "--part", part, "--socket", d.socket])
        #expect(tableStatus == 0 && table.contains("\(part): 4 unit(s)"), "\(table)")
        let (refused, why) = try runProgram(ctl, ["spc", "--socket", d.socket])
        #expect(refused != 0 && why.contains("--part"), "\(why)")

        // The same units as a lot: its JSON is what docs/lot.schema.json says, judged against the recipe's grade.
        let (lotStatus, lotJSON) = try runProgram(ctl, ["lot", "--part", part, "--json", "--socket", d.socket])
        #expect(lotStatus == 0, "\(lotJSON)")
        let file = temporaryDirectory() + "-lot.json"
        try lotJSON.write(toFile: file, atomically: true, encoding: .utf8)
        let (valid, output) = try runProgram("/usr/bin/env", ["python3", Repo.validator, Repo.root + "/docs/lot.schema.json", file])
        #expect(valid == 0, "\(output)")
        let lot = try JSONDecoder().decode(JSONValue.self, from: Data(lotJSON.utf8))
        #expect(lot["units"]?.int == 4 && lot["grade"]?["p97IlMaxDb"]?.number == 0.30, "\(lotJSON)")
        #expect(lot["meetsGrade"] == .bool(true) || lot["meetsGrade"] == .bool(false), "\(lotJSON)")
        #expect(lot["wavelengths"]?.array?.compactMap { $0["il"]?["n"]?.int } == [48, 48], "12 fibers x 4 units at each wavelength")
        let (_, text) = try runProgram(ctl, ["lot", "--part", part, "--socket", d.socket])
        #expect(text.contains("lot of \(part): 4 unit(s)") && text.contains("method: "), "\(text)")
    }
}
