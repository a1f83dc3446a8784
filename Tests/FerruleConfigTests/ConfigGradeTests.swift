import FerruleCore
import FerruleTesting
import Foundation
import Testing

@testable import FerruleConfig

/// `recipes[].grade`: read into the recipe, and a grade that is not one refused naming the key.
@Suite struct ConfigGradeTests {
    static let line = "    grade: { meanIlMaxDb: 0.20, p97IlMaxDb: 0.30 }   # what a lot is sold to (ferrulectl lot)\n"

    @Test func theSampleRecipeCarriesItsGrade() throws {
        let c = try StationConfig.load(path: Repo.simulatedConfig)
        #expect(c.recipes["FT-MTP12-SMAPC-B-LL"]?.grade == GradeSpec(meanIlMaxDb: 0.20, p97IlMaxDb: 0.30))
        #expect(c.recipes["FT-MTP24-OM4-A"]?.grade == nil)
    }

    @Test func aPercentileBelowTheMeanIsRefused() throws {
        let text = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
        #expect(text.contains(Self.line))
        let bad = text.replacingOccurrences(of: Self.line, with: "    grade: { meanIlMaxDb: 0.30, p97IlMaxDb: 0.20 }\n")
        do {
            _ = try StationConfig.parse(bad, file: "/etc/ferrule/station.yaml")
            Issue.record("accepted a 97th percentile below the mean")
        } catch {
            #expect("\(error)".contains("recipes[0].grade") && "\(error)".contains("not a grade"), "\(error)")
        }
    }
}
