import FerruleCore
import FerruleDevices
import FerruleProtocol
import FerruleSetup
import FerruleSimSpec
import FerruleSimulator
@testable import FerruleConfig
@testable import FerruleStation
import Foundation
import FerruleTesting
import Testing

/// A 32-position fixture on the simulated bench (unequal paths, noisy dark detector) with a
/// recipe for every polarity type and fiber count, and the reference cords that cover them.
func everyTypeConfig(extraCords: String = "") throws -> StationConfig {
    var recipes = ""
    for t in ["A", "B", "C"] {
        for n in [8, 12, 16, 24, 32] {
            recipes += """
              - partNumber: T\(t)-\(n)
                assembly: { fibers: \(n), fiberType: SM, polarity: \(t), endA: { connector: MTP, polish: APC }, endB: { connector: MTP,
                    polish: APC } }
                limits: { ilMaxDb: 0.75 }

            """
        }
    }
    return try StationConfig.parse("""
        station: { id: ACC-1 }
        instruments:
          - { name: launch, driver: sim-switch, channels: 32 }
          - { name: receive, driver: sim-switch, channels: 32 }
          - { name: meter, driver: sim-ilrl, wavelengthsNm: [1310, 1550] }
        fixtures:
          - { id: 1, launch: { switch: launch, channels: "1-32" }, receive: { switch: receive, channels: "1-32" }, source: meter,
              powerMeter: meter }
        referenceCords:
          - { id: RC-A-32, polarity: A, fibers: 32 }
          - { id: RC-B-24, polarity: B, fibers: 24 }
          - { id: RC-B-32, polarity: B, fibers: 32 }
          - { id: RC-C-32, polarity: C, fibers: 32 }
        \(extraCords)
        recipes:
        \(recipes)
        simulation: { seed: 7, bench: { noiseDb: 0.003, pathLossMinDb: 0.3, pathLossMaxDb: 0.9 } }
        """, file: "every-type.yaml")
}

@Suite(.shutsDownStations) struct MeasurementAccuracyTests {
    /// Every IL of every type and count is within +/-0.02 dB of the simulator's truth, although every
    /// launch and receive path differs by up to 0.6 dB: each IL is computed against its own path.
    @Test(arguments: ["A", "B", "C"])
    func everyILMatchesTheTruth(type: String) async throws {
        let (station, bench) = try await makeStation(config: try everyTypeConfig())
        for n in [8, 12, 16, 24, 32] {
            let part = "T\(type)-\(n)"
            let recipe = station.config.recipes[part]!
            let truth = SimulatedAssembly(serial: "ACC-\(part)", recipe: recipe)
            await bench.mount(.assembly(truth), fixture: 1)
            let o = try await station.test(UnitRequest(serial: truth.serial, partNumber: part, fixture: 1, operatorId: "t"))
            #expect(o.report.verdict == .pass, "\(part): \(o.report.reasons)")
            #expect(o.report.measurements.count == n * 2)
            for m in o.report.measurements {
                let il = try #require(m.ilDb, "\(part) fiber \(m.fiber)")
                let want = truth.loss[m.fiber]![m.wavelengthNm]!
                #expect(abs(il - want) <= 0.02, "\(part) fiber \(m.fiber) at \(m.wavelengthNm) nm: \(il) dB, truth \(want) dB")
                #expect(m.referencedPair && m.receivePosition == recipe.assembly.expectedMap()[m.fiber])
            }
            #expect(o.report.polarity.observedType?.rawValue == type, "\(part)")
        }
        // The paths really are unequal: the same launch reads differently on two receive paths.
        let spread = (1...32).map { bench.pathLoss(switch: "receive", channel: $0, wavelengthNm: 1310) }
        #expect(spread.max()! - spread.min()! > 0.3)
    }

    /// A Type B unit on a fixture with only a Type A reference is refused with the fix; after a
    /// reference with the Type B cord it passes, its IL true to 0.02 dB.
    @Test func typeBNeedsATypeBReference() async throws {
        let (station, bench) = try await makeStation(reference: false)
        let a = station.config.referenceCords.first { $0.id == "RC-A-024" }!
        await bench.mount(.cord(a.map), fixture: 1)
        _ = try await station.takeReference(fixture: 1, cord: "A", operatorId: "t")
        let recipe = station.config.recipes["FT-MTP12-SMAPC-B-LL"]!
        let truth = SimulatedAssembly(serial: "TB-1", recipe: recipe)
        await bench.mount(.assembly(truth), fixture: 1)
        let request = UnitRequest(serial: "TB-1", partNumber: recipe.partNumber, fixture: 1, operatorId: "t")
        let refused = try await #require(throws: UnitRefused.self) { try await station.test(request) }
        #expect(refused.message.contains("no valid reference of fixture 1 covers the path 1 -> 12"), "\(refused)")
        #expect(refused.fix.contains("connect reference cord RC-B-012 (a Type B cord) to fixture 1"), "\(refused.fix)")
        // The fix as an action each client words for itself: a button on the screen, a command here.
        #expect(refused.refusal.reason == .referenceNotValid && refused.refusal.cord == "RC-B-012")
        #expect(refused.refusal.remedy == Remedy(.takeReference, fixture: 1, cord: "RC-B-012"))
        #expect(refused.refusal.remedy?.commandLine == "ferrulectl reference --fixture 1 --cord RC-B-012")
        #expect(!refused.fix.contains("ferrulectl"), "no command line in the sentence a screen shows")

        let b = station.config.referenceCords.first { $0.id == "RC-B-012" }!
        await bench.mount(.cord(b.map), fixture: 1)
        let ref = try await station.takeReference(fixture: 1, cord: "RC-B-012", operatorId: "t")
        #expect(ref.values.allSatisfy { $0.receivePosition == 13 - $0.position } && ref.cord.polarity == "B")
        await bench.mount(.assembly(truth), fixture: 1)
        let o = try await station.test(request)
        #expect(o.report.verdict == .pass, "\(o.report.reasons)")
        for m in o.report.measurements {
            #expect(abs(m.ilDb! - truth.loss[m.fiber]![m.wavelengthNm]!) <= 0.02 && m.referenceCord == "RC-B-012")
        }
        #expect(o.report.references.map(\.cord.id) == ["RC-B-012"])
    }

    /// A cord id or polarity that does not fit is refused naming the cords there are.
    @Test func unknownCordIsRefusedWithTheCordsThereAre() async throws {
        let (station, _) = try await makeStation(reference: false)
        let e = try await #require(throws: UnitRefused.self) { try await station.takeReference(fixture: 1, cord: "RC-Z\u{1B}[31m") }
        #expect(e.message.contains("no reference cord 'RC-Z\\u{1B}[31m'") && e.fix.contains("RC-A-024 (A), RC-B-012 (B), RC-B-024 (B)"))
        let two = try await #require(throws: UnitRefused.self) { try await station.takeReference(fixture: 1, cord: "B") }
        #expect(two.message.contains("has 2 reference cords of polarity B"))
    }
}

@Suite(.shutsDownStations) struct HonestReadingTests {
    /// A dark fiber and a fiber dark only at 1550 nm (a macrobend) carry no IL at the dark
    /// wavelengths, and nothing is diagnosed but those two.
    @Test func darkReadingsCarryNoNumber() async throws {
        let (station, bench) = try await makeStation()
        let o = try await testUnit(station, bench, serial: "DK-1", part: "FT-MTP12-SMAPC-B-LL",
                                   faults: [.darkFiber(fiber: 3), .darkAtWavelength(fiber: 5, wavelengthNm: 1550)])
        let r = o.report
        #expect(r.verdict == .fail)
        #expect(r.diagnoses.map(\.code) == [.darkFiber, .darkAtWavelength], "\(r.diagnoses)")
        #expect(r.diagnoses[0].fibers == [3] && r.diagnoses[1].fibers == [5])
        for m in r.measurements where m.fiber == 3 || (m.fiber == 5 && m.wavelengthNm == 1550) {
            #expect(m.ilDb == nil && m.powerDbm == nil && m.powerStatus == .noLight && m.verdict == .fail, "\(m)")
        }
        let lit = try #require(r.measurements.first { $0.fiber == 5 && $0.wavelengthNm == 1310 })
        #expect(lit.ilDb != nil && lit.verdict == .pass)
        #expect(r.fibers.first { $0.fiber == 5 }?.reasons.contains { $0.contains("no light at 1550 nm") } == true)
        #expect(r.summary.worstIlDb.map { $0 < 1 } == true)  // the noise never became a loss
    }

    /// The laser changes wavelength once per fiber (1310-1550, then 1550-1310), not twice; the
    /// report keeps the recipe's order. A fiber dark only at 1550 nm that is read 1550 first (the
    /// even fibers) is looked for again at 1310 nm, and is diagnosed as before.
    @Test func theLaserChangesOncePerFiberAndAMacrobendIsStillFound() async throws {
        let (station, bench) = try await makeStation()
        let source = station.config.fixtures[0].source
        let before = await bench.laserChanges(source: source)
        let o = try await testUnit(station, bench, serial: "LASER-1", part: "FT-MTP12-SMAPC-B-LL",
                                   faults: [.darkAtWavelength(fiber: 6, wavelengthNm: 1550)])
        #expect(await bench.laserChanges(source: source) - before == 12, "one change per fiber (the recipe's order: 23)")
        let order = o.report.measurements.filter { $0.end == .a }.map { "\($0.fiber)@\($0.wavelengthNm)" }
        #expect(order == (1...12).flatMap { ["\($0)@1310", "\($0)@1550"] })
        #expect(o.report.diagnoses.map(\.code) == [.darkAtWavelength] && o.report.diagnoses[0].fibers == [6], "\(o.report.diagnoses)")
        #expect(o.report.polarity.mismatches.isEmpty, "fiber 6 found where it arrives: \(o.report.polarity.mismatches)")
        let lit = try #require(o.report.measurements.first { $0.fiber == 6 && $0.wavelengthNm == 1310 })
        #expect(lit.ilDb != nil && lit.verdict == .pass)
    }

    @Test func allDarkIsAllDarkAndNothingElse() async throws {
        let (station, bench) = try await makeStation()
        let o = try await testUnit(station, bench, serial: "AD-1", part: "FT-MTP24-OM4-A", faults: [.genderMismatch])
        #expect(o.report.verdict == .fail && o.report.diagnoses.map(\.code) == [.allDark])
        #expect(o.report.measurements.allSatisfy { $0.ilDb == nil && $0.powerStatus == .noLight })
    }

    /// RL is kept and judged at both ends, each against its own limit: the fan-out's LC legs at
    /// end B (45 dB) are not held to the MPO APC end's 60 dB.
    @Test func returnLossJudgedAtBothEnds() async throws {
        let (station, bench) = try await makeStation()
        let good = try await testUnit(station, bench, serial: "RL-1", part: "FO-MTP12-LC-SM")
        #expect(good.report.verdict == .pass, "\(good.report.reasons)")
        #expect(good.report.measurements.allSatisfy { m in
            m.rlMinDb == 60 && m.rlBMinDb == 45 && (m.rlDb ?? 0) >= 60 && (m.rlBDb ?? 0) >= 45 && (m.rlBDb ?? 99) < 60
        })
        let bad = try await testUnit(station, bench, serial: "RL-2", part: "FO-MTP12-LC-SM",
                                     faults: [.dirtyEndFace(end: .b, fibers: [4], extraDb: 0)])
        #expect(bad.report.verdict == .fail)
        #expect(bad.report.diagnoses.map(\.code) == [.lowReturnLoss] && bad.report.diagnoses[0].end == .b)
        #expect(bad.report.measurements.filter { $0.fiber == 4 }.allSatisfy { ($0.rlBMarginDb ?? 0) < 0 && ($0.rlMarginDb ?? -1) > 0 })
        #expect(bad.report.fibers.first { $0.fiber == 4 }?.reasons.contains { $0.contains("at end B is below 45.0 dB") } == true)
    }
}

@Suite(.shutsDownStations) struct CordTests {
    /// Test cords' matings count across units and a restart, warn, and stop the fixture at the
    /// limit until the cord is reset and the fixture re-referenced.
    @Test func matingsAreCountedWarnedAndLimited() async throws {
        let text = try inProcessConfigText().replacingOccurrences(
            of: "testCords: { launch: { id: TC-L-1, maxMatings: 1000 }, receive: { id: TC-R-1, maxMatings: 1000 } }",
            with: "testCords: { launch: { id: TC-L-1, maxMatings: 6, warnMatings: 4 }, receive: { id: TC-R-1 } }")
        let config = try StationConfig.parse(text, file: "cords.yaml")
        let data = temporaryDirectory()
        let (first, firstBench) = try await makeStation(data: data, reference: false, config: config)
        let b = config.referenceCords.first { $0.id == "RC-B-012" }!
        await firstBench.mount(.cord(b.map), fixture: 1)
        _ = try await first.takeReference(fixture: 1, cord: b.id)  // RC-B-012, TC-L-1 and TC-R-1 mate once
        let events = await first.events.subscribe()
        for i in 1...3 { _ = try await testUnit(first, firstBench, serial: "M-\(i)", part: "FT-MTP12-SMAPC-B-LL") }
        var warned: (String, Int)?
        for await e in events { if case .cordWear(let cord, let n, _, .warning) = e { warned = (cord, n); break } }
        #expect(warned?.0 == "TC-L-1" && warned?.1 == 4)
        func launchCord(_ s: Station) async -> UnitReport.CordUse? {
            await s.status().fixtures.first { $0.id == 1 }?.cords.first { $0.id == "TC-L-1" }
        }
        let worn = await launchCord(first)
        #expect(worn?.matings == 4 && worn?.state == .warning)
        await first.shutdown()

        // Restarted: the counts are still there; the report names the cords and their counts.
        let (second, bench) = try await makeStation(data: data, reference: false, config: config)  // a new bench, as after a restart
        #expect(await launchCord(second)?.matings == 4)
        let fifth = try await testUnit(second, bench, serial: "M-5", part: "FT-MTP12-SMAPC-B-LL")
        #expect(fifth.report.cords.first { $0.id == "TC-L-1" }?.matings == 5)
        #expect(fifth.report.cords.first { $0.id == "TC-R-1" }?.matings == 5)
        _ = try await testUnit(second, bench, serial: "M-6", part: "FT-MTP12-SMAPC-B-LL")
        let refused = try await #require(throws: UnitRefused.self) { try await testUnit(second, bench, serial: "M-7",
            part: "FT-MTP12-SMAPC-B-LL") }
        #expect(refused.message.contains("launch test cord TC-L-1 of fixture 1 has reached 6 of its 6 rated matings"))
        #expect(refused.refusal.remedy == Remedy(.resetCord, cord: "TC-L-1"))
        #expect(refused.description.contains("ferrulectl cord reset TC-L-1"))

        // Replaced: the count starts again, and the fixture needs a new reference first.
        try await second.referenceKeeper.resetCord("TC-L-1", operatorId: "t")
        #expect(await launchCord(second)?.matings == 0)
        await #expect(throws: UnitRefused.self) { try await testUnit(second, bench, serial: "M-8", part: "FT-MTP12-SMAPC-B-LL") }
        await bench.mount(.cord(b.map), fixture: 1)
        _ = try await second.takeReference(fixture: 1, cord: b.id)
        let after = try await testUnit(second, bench, serial: "M-9", part: "FT-MTP12-SMAPC-B-LL")
        #expect(after.report.verdict == .pass && after.report.cords.first { $0.id == "TC-L-1" }?.matings == 2)
    }
}
