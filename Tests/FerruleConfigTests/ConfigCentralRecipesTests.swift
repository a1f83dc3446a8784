import FerruleRecords
import FerruleTesting
import Foundation
import Testing

@testable import FerruleConfig

/// A central recipe is read as strictly as the YAML's: a revision this station cannot take is
/// left out, named with the key and the fix, and the others apply with their revision.
@Suite struct ConfigCentralRecipesTests {
    static func row(_ part: String, _ revision: Int, _ body: String) -> CentralRecipeRow {
        CentralRecipeRow(
            partNumber: part, revision: revision, body: body, changedBy: "alice", approvedBy: "bob",
            approvedAt: Date(timeIntervalSince1970: 1_800_000_000))
    }

    static func body(_ part: String, wavelengths: String = "[1310, 1550]", extra: String = "") -> String {
        """
        partNumber: \(part)
        assembly:
          fibers: 12
          kind: trunk
          fiberType: SM
          polarity: B
          endA: { connector: MTP, polish: APC }
          endB: { connector: MTP, polish: APC }
        wavelengthsNm: \(wavelengths)
        limits: { ilMaxDb: 0.4\(extra) }
        reference: { validity: 8h }
        """
    }

    @Test func goodRevisionsApplyAndBadOnesAreNamed() throws {
        let config = try StationConfig.load(path: Repo.simulatedConfig)
        let (taken, refused) = config.taking(central: [
            Self.row("FT-MTP12-SMAPC-B-LL", 4, Self.body("FT-MTP12-SMAPC-B-LL")),
            Self.row("C-TYPO", 1, Self.body("C-TYPO", extra: ", ilMaxDB: 0.3")),
            Self.row("C-1625", 2, Self.body("C-1625", wavelengths: "[1625]")),
            Self.row("C-OTHER", 3, Self.body("C-ELSE")),
        ])
        let over = try #require(taken.recipes["FT-MTP12-SMAPC-B-LL"])
        #expect(over.limits.ilMaxDb[1310] == 0.4 && over.revision?.number == 4 && over.revision?.approvedBy == "bob")
        #expect(config.recipes["FT-MTP12-SMAPC-B-LL"]?.revision == nil, "the YAML's own recipe has no revision")
        #expect(taken.recipeOrder == config.recipeOrder && taken.recipes.count == config.recipes.count)
        #expect(refused.count == 3, "\(refused)")
        #expect(refused.contains { $0.contains("revision 1 of C-TYPO") && $0.contains("ilMaxDB") }, "\(refused)")
        #expect(refused.contains { $0.contains("revision 2 of C-1625") && $0.contains("1625 nm") }, "\(refused)")
        #expect(refused.contains { $0.contains("revision 3 of C-OTHER") && $0.contains("'C-ELSE'") }, "\(refused)")
    }

    @Test func theSectionNeedsAPostgresURL() throws {
        let text = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
        let good = try StationConfig.parse(
            text + "\ncentralRecipes: { url: \"postgres://ferrule@db.line3/line\", passwordFile: line.pw, timeout: 3s }\n",
            file: "/etc/ferrule/station.yaml")
        #expect(good.centralRecipes == CentralRecipesSpec(url: "postgres://ferrule@db.line3/line", passwordFile: "/etc/ferrule/line.pw",
                                                          requireTLS: false, timeoutSeconds: 3))
        #expect(throws: ConfigError.self) {
            _ = try StationConfig.parse(text + "\ncentralRecipes: { url: \"http://db.line3/line\" }\n", file: "/etc/ferrule/station.yaml")
        }
    }
}
