import FerruleControl
import FerruleProtocol
import FerruleTesting
import Foundation
import Testing

/// The line's recipes in PostgreSQL (`centralRecipes`), with two real ferruled against the CI
/// database: an approved revision reaches both at their next reload, an unapproved one none, the
/// database refuses an approval by the recipe's own author, every report names the revision, and
/// a station whose database is down starts with the revisions it cached and says so.
@Suite(.serialized, .shutsDownStations) struct CentralRecipeTests {
    let pg = PostgresSinkTests()

    /// A recipe as an engineer writes it into the line database: a copy of the bench's low-loss
    /// Type B trunk under its own part number.
    static func body(_ part: String, ilMaxDb: Double) -> String {
        """
        partNumber: \(part)
        description: MTP-12 trunk from the line's recipes
        assembly:
          fibers: 12
          kind: trunk
          fiberType: SM
          polarity: B
          endA: { connector: MTP, polish: APC, gender: unpinned }
          endB: { connector: MTP, polish: APC, gender: unpinned }
        wavelengthsNm: [1310, 1550]
        limits:
          ilMaxDb: \(ilMaxDb)
          rlMinDb: 60
        reference:
          validity: 8h
        """
    }

    func insert(_ part: String, revision: Int, ilMaxDb: Double, by: String, approvedBy: String?) throws {
        let approval = approvedBy.map { "'\($0)', now()" } ?? "NULL, NULL"
        _ = try pg.psql(
            "INSERT INTO ferrule_recipe (part_number, revision, body, changed_by, approved_by, approved_at) VALUES "
                + "('\(part)', \(revision), $b$\(Self.body(part, ilMaxDb: ilMaxDb))$b$, '\(by)', \(approval))")
    }

    @Test func anApprovedRevisionReachesEveryStationAtReloadAndACacheCoversADownDatabase() async throws {
        let part = "FT-CENTRAL-\(UInt32.random(in: 0...UInt32.max))"
        let simulated = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
        let config = simulated + "\ncentralRecipes: { url: \"\(PostgresSinkTests.url)\", timeout: 5s }\n"
        let a = try await Daemon(config: config, name: "central-a")
        let b = try await Daemon(config: config, name: "central-b")
        defer { Task { await b.stop() } }
        // The stations made the table; an engineer adds revision 1, approved, and a 2 not yet approved.
        try insert(part, revision: 1, ilMaxDb: 0.35, by: "alice", approvedBy: "bob")
        try insert(part, revision: 2, ilMaxDb: 0.01, by: "carol", approvedBy: nil)
        #expect(throws: (any Error).self, "the author cannot approve their own revision") {
            _ = try pg.psql("UPDATE ferrule_recipe SET approved_by = 'carol', approved_at = now() WHERE part_number = '\(part)'")
        }
        for d in [a, b] { try await reload(d) }
        for d in [a, b] { #expect(try await revision(of: part, d) == 1) }
        let first = try await test(a, serial: "CENT-1", part: part)
        #expect(first.verdict == "pass" && first.revision?["number"]?.int == 1 && first.revision?["approvedBy"]?.string == "bob")

        // Dave approves revision 2 (a limit no unit meets): both stations take it at their reload.
        _ = try pg.psql(
            "UPDATE ferrule_recipe SET approved_by = 'dave', approved_at = now() WHERE part_number = '\(part)' AND revision = 2")
        for d in [a, b] { try await reload(d) }
        for d in [a, b] { #expect(try await revision(of: part, d) == 2) }
        let second = try await test(b, serial: "CENT-2", part: part)
        #expect(second.verdict == "fail" && second.revision?["number"]?.int == 2 && second.revision?["changedBy"]?.string == "carol")

        // Station A restarts while the database cannot be reached: its cached revision 2 applies.
        await a.stop()
        let unreachable = simulated + "\ncentralRecipes: { url: \"postgres://ferrule@127.0.0.1:1/ferrule\", timeout: 2s }\n"
        let again = try await Daemon(config: unreachable, dir: a.dir)
        defer { Task { await again.stop() } }
        let state = try await ControlSession.with(path: again.socket) { s in try await s.ok("status")["centralRecipes"] }
        #expect(state?["fromCache"] == .bool(true) && state?["revisions"]?[part]?.int == 2, "\(String(describing: state))")
        #expect(state?["problems"]?.array?.first?.string?.contains("was not read") == true, "\(String(describing: state))")
        let cached = try await test(again, serial: "CENT-3", part: part)
        #expect(cached.verdict == "fail" && cached.revision?["number"]?.int == 2)
    }

    private func reload(_ d: Daemon) async throws {
        try await ControlSession.with(path: d.socket) { s in
            _ = try await s.ok("subscribe")
            d.signal(SIGHUP)
            _ = try await s.events { $0["kind"]?.string == "configReloaded" || $0["kind"]?.string == "configRejected" }
        }
    }

    private func revision(of part: String, _ d: Daemon) async throws -> Int? {
        try await ControlSession.with(path: d.socket) { s in try await s.ok("status")["centralRecipes"]?["revisions"]?[part]?.int }
    }

    /// Tests one unit on fixture 1 and returns its verdict and the recipe revision its report names.
    private func test(_ d: Daemon, serial: String, part: String) async throws -> (verdict: String?, revision: JSONValue?) {
        try await ControlSession.with(path: d.socket) { s in
            _ = try await s.ok("reference") {
                $0.fixture = 1
                $0.cord = "RC-B-012"
            }
        }
        let finished = try await d.testUnit(serial, part: part)
        let path = try #require(finished?["reportPath"]?.string)
        let (valid, output) = try validateReports([path])
        #expect(valid == 0, "the report with its recipe revision fails the schema: \(output)")
        let report = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        return (report["verdict"]?.string, report["recipeRevision"])
    }
}
