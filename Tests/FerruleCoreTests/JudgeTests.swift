import FerruleCore
import Testing

/// Builds raw steps for a unit whose light follows `arrival` and whose IL per fiber is `il`.
struct Bench {
    var recipe: Recipe
    var ref = -4.0

    init(fibers: Int = 12, kind: AssemblyKind = .trunk, polarity: PolarityType = .b, ilMax: Double = 0.35,
         meanMax: Double? = nil, rlMin: Double? = 60) throws {
        let spec = AssemblySpec(layout: try MPOLayout(fiberCount: fibers), kind: kind, fiberType: .sm,
                                endA: ConnectorEnd(connector: "MTP", polish: .apc), endB: ConnectorEnd(connector: "MTP", polish: .apc),
                                lengthM: 3, polarity: .standard(polarity))
        recipe = Recipe(partNumber: "PN", description: "test", assembly: spec, wavelengthsNm: [1310, 1550],
                        limits: Limits(ilMaxDb: [1310: ilMax, 1550: ilMax], meanIlMaxDb: meanMax, rlMinDb: rlMin),
                        reference: ReferencePolicy(validitySeconds: 3600, negativeIlToleranceDb: 0.05))
    }

    func judge(il: [Int: Double] = [:], rl: [Int: Double] = [:], arrival: [Int: Int?]? = nil, fault: String? = nil,
               upTo: Int? = nil) -> Judgement {
        let expected = recipe.assembly.expectedMap()
        let arrival = arrival ?? expected.pairs.mapValues { Optional($0) }
        var steps: [RawStep] = []
        var observed: [Int: Int?] = [:]
        for p in recipe.assembly.layout.usedPositions where upTo.map({ p <= $0 }) ?? true {
            let a = arrival[p] ?? nil
            observed[p] = a
            for wl in recipe.wavelengthsNm {
                steps.append(RawStep(fiber: p, wavelengthNm: wl, expectedReceivePosition: expected[p]!,
                                     receivePosition: a ?? expected[p]!, referenceDbm: ref, referenceCord: "RC-1",
                                     power: a == nil ? .noLight : .dBm(ref - (il[p] ?? 0.1)), rlDb: rl[p] ?? 65, fault: nil))
            }
        }
        return Judge(recipe: recipe).judge(
            steps: steps, observed: observed,
            stop: fault.map { .fault(instrument: "ilrl", command: "read power", fiber: nil, message: $0) } ?? .completed)
    }
}

@Suite struct JudgeTests {
    @Test func cleanUnitPassesWithMargins() throws {
        let j = try Bench().judge()
        #expect(j.verdict == .pass)
        #expect(j.diagnoses.isEmpty)
        #expect(j.measurements.count == 24)
        #expect(j.measurements.allSatisfy { $0.ilDb == 0.1 && $0.ilMarginDb == 0.25 && $0.rlMarginDb == 5 })
        #expect(j.polarity.observedType == .b && j.polarity.mismatches.isEmpty)
    }

    @Test func oneHighLossFiberFailsWithItsNumber() throws {
        let j = try Bench().judge(il: [5: 0.9])
        #expect(j.verdict == .fail)
        #expect(j.diagnoses.map(\.code) == [.highLossFiber])
        #expect(j.diagnoses[0].fibers == [5])
        #expect(j.fibers.first { $0.fiber == 5 }?.verdict == .fail)
        #expect(j.fibers.first { $0.fiber == 6 }?.verdict == .pass)
        let m = try #require(j.measurements.first { $0.fiber == 5 })
        #expect(m.ilMarginDb == -0.55)
    }

    @Test func limitIsInclusive() throws {
        let j = try Bench().judge(il: [5: 0.35])
        #expect(j.verdict == .pass)
    }

    @Test func adjacentHighLossWithLowRLIsContaminationAtEndA() throws {
        let j = try Bench().judge(il: [5: 0.9, 6: 1.0, 7: 0.8], rl: [5: 45, 6: 44, 7: 46])
        #expect(j.verdict == .fail)
        let d = try #require(j.diagnoses.first { $0.code == .contaminatedEndFace })
        #expect(d.fibers == [5, 6, 7])
        #expect(d.end == .a)
        #expect(!j.diagnoses.contains { $0.code == .highLossFiber || $0.code == .lowReturnLoss })
    }

    @Test func adjacentHighLossWithGoodRLIsAtEndB() throws {
        let j = try Bench().judge(il: [5: 0.9, 6: 1.0, 7: 0.8])
        #expect(j.diagnoses.first { $0.code == .contaminatedEndFace }?.end == .b)
    }

    @Test func twoSeparateHighFibersAreNotACluster() throws {
        let j = try Bench().judge(il: [2: 0.9, 6: 1.0, 10: 0.8])
        #expect(j.diagnoses.map(\.code) == [.highLossFiber])
        #expect(j.diagnoses[0].fibers == [2, 6, 10])
    }

    @Test func darkFiber() throws {
        var arrival = PolarityMap.standard(.b, layout: try MPOLayout(fiberCount: 12), kind: .trunk).pairs.mapValues { Optional($0) }
        arrival[7] = .some(nil)
        let j = try Bench().judge(arrival: arrival)
        #expect(j.verdict == .fail)
        #expect(j.diagnoses.map(\.code) == [.darkFiber])
        #expect(j.diagnoses[0].fibers == [7])
        let m = try #require(j.measurements.first { $0.fiber == 7 })
        #expect(m.ilDb == nil && m.powerStatus == .noLight && m.receivePosition == nil)
    }

    @Test func everythingDarkPointsAtMatingAndGender() throws {
        let arrival = Dictionary(uniqueKeysWithValues: (1...12).map { ($0, Optional<Int>.none) })
        let j = try Bench().judge(arrival: arrival)
        #expect(j.verdict == .fail)
        #expect(j.diagnoses.map(\.code) == [.allDark])
        #expect(j.diagnoses[0].action.contains("gender"))
    }

    @Test func wrongPolarityTypeIsNamed() throws {
        let arrival = PolarityMap.standard(.a, layout: try MPOLayout(fiberCount: 12), kind: .trunk).pairs.mapValues { Optional($0) }
        let j = try Bench().judge(arrival: arrival)
        #expect(j.verdict == .fail)
        #expect(j.polarity.observedType == .a)
        #expect(j.diagnoses.map(\.code) == [.wrongPolarityType])
        #expect(j.diagnoses[0].message.contains("Type A") && j.diagnoses[0].message.contains("Type B"))
    }

    @Test func swappedPairIsCrossedFibers() throws {
        var arrival = PolarityMap.standard(.b, layout: try MPOLayout(fiberCount: 12), kind: .trunk).pairs.mapValues { Optional($0) }
        arrival[3] = 9
        arrival[4] = 10
        let j = try Bench().judge(arrival: arrival)
        #expect(j.diagnoses.map(\.code) == [.crossedFibers])
        #expect(j.diagnoses[0].fibers == [3, 4])
        #expect(j.polarity.mismatches.map { [$0.fiber, $0.expected, $0.observed ?? 0] } == [[3, 10, 9], [4, 9, 10]])
    }

    @Test func instrumentFaultIsErrorNeverFail() throws {
        // Fiber 2 is above the limit, then the meter dies: the unit is error, not fail.
        let j = try Bench().judge(il: [2: 0.9], fault: "ilrl: read power: no reply", upTo: 4)
        #expect(j.verdict == .error)
        #expect(j.diagnoses.contains { $0.code == .instrumentFault })
        #expect(j.fibers.first { $0.fiber == 10 }?.verdict == .notTested)
        #expect(j.measurements.count == 8)  // what was measured is kept
    }

    @Test func negativeILMakesTheReferenceSuspect() throws {
        let j = try Bench().judge(il: [3: -0.2])
        #expect(j.verdict == .error)
        #expect(j.referenceSuspect)
        #expect(j.diagnoses.contains { $0.code == .referenceSuspect && $0.action.contains("reference") })
        // Within tolerance is fine (meter uncertainty).
        #expect(try Bench().judge(il: [3: -0.03]).verdict == .pass)
    }

    @Test func meanILLimit() throws {
        let j = try Bench(meanMax: 0.2).judge(il: Dictionary(uniqueKeysWithValues: (1...12).map { ($0, 0.25) }))
        #expect(j.verdict == .fail)
        #expect(j.diagnoses.contains { $0.code == .meanIlHigh })
    }

    @Test func base8ReportsEmptyPositionsAsUnused() throws {
        let j = try Bench(fibers: 8).judge()
        #expect(j.verdict == .pass)
        #expect(j.fibers.count == 12)
        #expect(j.fibers.filter { $0.verdict == .unused }.map(\.fiber) == [5, 6, 7, 8])
        #expect(!j.measurements.contains { (5...8).contains($0.fiber) })
    }

    @Test func lowRLAlone() throws {
        let j = try Bench().judge(rl: [9: 52])
        #expect(j.verdict == .fail)
        #expect(j.diagnoses.map(\.code) == [.lowReturnLoss])
        #expect(j.diagnoses[0].fibers == [9])
    }

    @Test func listFormatting() {
        #expect(Judge.list([5, 6, 7]) == "5-7")
        #expect(Judge.list([3, 4]) == "3, 4")
        #expect(Judge.list([1, 2, 3, 9, 11]) == "1-3, 9, 11")
    }
}

@Suite struct MeasurementRuleTests {
    /// A Type B unit's steps: fiber p read at 13-p against `ref`, with per-step changes.
    func steps(_ bench: Bench, _ change: (inout RawStep) -> Void = { _ in }) -> ([RawStep], [Int: Int?]) {
        var out: [RawStep] = [], observed: [Int: Int?] = [:]
        for p in 1...12 {
            observed[p] = 13 - p
            for wl in [1310, 1550] {
                var s = RawStep(fiber: p, wavelengthNm: wl, expectedReceivePosition: 13 - p, receivePosition: 13 - p,
                    referenceDbm: bench.ref,
                                referenceCord: "RC-B", power: .dBm(bench.ref - 0.1), rlDb: 65, rlBDb: 64, fault: nil)
                change(&s)
                out.append(s)
            }
        }
        return (out, observed)
    }

    @Test func lightOnAPathNoReferenceCoversIsReportedButNotJudged() throws {
        let b = try Bench()
        var (s, observed) = steps(b) { s in
            if s.fiber == 1 { s.receivePosition = 1; s.referenceDbm = nil; s.referenceCord = nil; s.power = .dBm(-3.2) }
        }
        observed[1] = 1
        let j = Judge(recipe: b.recipe).judge(steps: s, observed: observed)
        let m = try #require(j.measurements.first { $0.fiber == 1 })
        #expect(m.ilDb == nil && m.powerDbm == -3.2 && m.receivePosition == 1 && !m.referencedPair)
        #expect(m.reasons.contains { $0.contains("no valid reference covers") && $0.contains("unreferenced") })
        #expect(j.verdict == .fail && j.diagnoses.map(\.code) == [.crossedFibers])
    }

    @Test func overRangeIsAnErrorAndNeverALoss() throws {
        let b = try Bench()
        let (s, observed) = steps(b) { s in if s.fiber == 6 { s.power = .overRange } }
        let j = Judge(recipe: b.recipe).judge(steps: s, observed: observed)
        #expect(j.verdict == .error)
        let six = j.measurements.filter { $0.fiber == 6 }
        #expect(six.allSatisfy { $0.ilDb == nil && $0.powerStatus == .overRange && $0.verdict == .error })
        #expect(j.reasons.contains { $0.hasPrefix("power meter over range on fiber 6:") })
        #expect(j.diagnoses.isEmpty)
    }

    @Test func noiseFarBelowTheReferenceIsDarkness() throws {
        let b = try Bench()
        // The meter's noise floor read as a power at 1550 nm: an 89 dB "loss" is no light.
        let (s, observed) = steps(b) { s in if s.fiber == 2 && s.wavelengthNm == 1550 { s.power = .dBm(b.ref - 89) } }
        let j = Judge(recipe: b.recipe).judge(steps: s, observed: observed)
        let m = try #require(j.measurements.first { $0.fiber == 2 && $0.wavelengthNm == 1550 })
        #expect(m.ilDb == nil && m.powerDbm == nil && m.powerStatus == .noLight)
        #expect(j.diagnoses.map(\.code) == [.darkAtWavelength] && j.diagnoses[0].fibers == [2])
        #expect(j.summary(worstOf: 1550) < 1)
    }

    @Test func suspectFibersAreListedOnceAcrossWavelengths() throws {
        let j = try Bench().judge(il: [3: -0.3])
        #expect(j.diagnoses.first { $0.code == .referenceSuspect }?.fibers == [3])
    }

    @Test func returnLossAtEndBHasItsOwnLimit() throws {
        var b = try Bench()
        b.recipe.limits.rlMinDbB = 50
        let (s, observed) = steps(b) { s in if s.fiber == 7 { s.rlBDb = 44 } }
        let j = Judge(recipe: b.recipe).judge(steps: s, observed: observed)
        #expect(j.verdict == .fail)
        #expect(j.diagnoses.map(\.code) == [.lowReturnLoss] && j.diagnoses[0].end == .b && j.diagnoses[0].fibers == [7])
        #expect(j.measurements.filter { $0.fiber == 7 }.allSatisfy { $0.rlBMarginDb == -6 && $0.rlMarginDb == 5 })
    }

    @Test func aFaultIsRecordedOnItsFiberWithWhatWasRead() throws {
        let b = try Bench()
        var (s, observed) = steps(b)
        s = s.filter { $0.fiber < 9 || ($0.fiber == 9 && $0.wavelengthNm == 1310) }
        s[s.count - 1].rlDb = nil
        s[s.count - 1].fault = "ilrl: READ:RL? 1310: no reply within 1 s"
        observed = observed.filter { $0.key <= 9 }
        let stop = UnitStop.fault(instrument: "ilrl", command: "READ:RL? 1310", fiber: 9,
                                  message: "ilrl: READ:RL? 1310: no reply within 1 s, on fiber 9")
        let j = Judge(recipe: b.recipe).judge(steps: s, observed: observed, stop: stop)
        #expect(j.verdict == .error && j.reasons.first?.contains("on fiber 9") == true)
        #expect(j.fibers.first { $0.fiber == 9 }?.verdict == .error && j.measurements.last?.ilDb == 0.1)
        #expect(j.fibers.filter { $0.fiber > 9 }.allSatisfy { $0.verdict == .notTested })
        #expect(j.diagnoses.first { $0.code == .instrumentFault }?.fibers == [9])
    }

    @Test func clientTextIsEscapedAndDurationsRead() {
        #expect(Escaped.text("SN\n1\u{1B}[2J\u{202E}x\\") == "SN\\u{A}1\\u{1B}[2J\\u{202E}x\\\\")
        #expect(Escaped.text("Ünïcødé-序列") == "Ünïcødé-序列")
        #expect(Durations.words(20) == "20 s" && Durations.words(600) == "10 min" && Durations.words(8 * 3600) == "8.0 h")
    }
}

extension Judgement {
    /// The largest IL reported at a wavelength (0 when none).
    func summary(worstOf wl: Int) -> Double { measurements.filter { $0.wavelengthNm == wl }.compactMap(\.ilDb).max() ?? 0 }
}
