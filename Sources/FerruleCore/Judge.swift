import Foundation

/// A unit's overall result, as the report, the certificate and the MES see it.
public enum Verdict: String, Codable, Sendable, CaseIterable {
    case pass, fail, error, aborted
    /// The station stopped (crash, power loss) during the unit; recorded at the next start with what had been measured.
    case interrupted
}

/// The result of one reading (one fiber at one wavelength).
public enum MeasurementVerdict: String, Codable, Sendable {
    case pass, fail, error
}

/// The result of one fiber over all its wavelengths; `unused` for positions the layout leaves dark.
public enum FiberVerdict: String, Codable, Sendable {
    case pass, fail, error
    /// A ferrule position that carries no fiber (Base-8: 5-8). Never measured, never a failure.
    case unused
    /// Not reached: the unit stopped (error or abort) before this fiber.
    case notTested
}

/// One fiber's verdict with the reasons an operator reads.
public struct FiberResult: Sendable, Hashable, Codable {
    public var fiber: Int
    public var expectedReceivePosition: Int?
    public var observedReceivePosition: Int?
    public var verdict: FiberVerdict
    public var reasons: [String]
}

/// Where each fiber's light was expected and where it arrived, and the polarity type that fits.
public struct PolarityResult: Sendable, Hashable, Codable {
    /// A fiber whose light arrived somewhere else than the expected map says (nil: nowhere).
    public struct Mismatch: Sendable, Hashable, Codable {
        public var fiber: Int
        public var expected: Int
        /// Nil: the fiber's light arrived nowhere.
        public var observed: Int?
    }
    /// One fiber's expected and observed receive position.
    public struct Entry: Sendable, Hashable, Codable {
        public var fiber: Int
        public var receivePosition: Int?
    }
    /// `A`, `B`, `C` or `explicit`.
    public var expectedType: String
    public var expectedMap: PolarityMap
    /// Where each launched fiber's light arrived (nil: nowhere).
    public var observedMap: [Entry]
    /// The standard type the observed map is, when it is complete and is one.
    public var observedType: PolarityType?
    public var mismatches: [Mismatch]
    public var verdict: MeasurementVerdict
}

/// Everything the judge concluded about one unit: readings, fibers, polarity, diagnoses, verdict.
public struct Judgement: Sendable, Hashable {
    public var measurements: [Measurement]
    public var fibers: [FiberResult]
    public var polarity: PolarityResult
    public var diagnoses: [Diagnosis]
    public var verdict: Verdict
    public var reasons: [String]
    /// True when a negative IL beyond the tolerance says the reference cannot be trusted.
    public var referenceSuspect: Bool
    /// A passing unit with readings in the warning band: one line per kind of reading, naming
    /// the fibers (empty when none, or when the unit did not pass).
    public var warnings: [String] = []
}

/// Turns the raw steps of one unit into verdicts and diagnoses: each reading validated on its
/// own, then polarity, then the diagnosers, then the roll-up. Pure.
public struct Judge: Sendable {
    public var recipe: Recipe
    public var rules: DiagnosisRules

    public init(recipe: Recipe, rules: DiagnosisRules = DiagnosisRules()) {
        self.recipe = recipe
        self.rules = rules
    }

    /// - Parameters:
    ///   - steps: every step taken, in order.
    ///   - observed: for every fiber whose polarity was checked, where its light arrived (nil = nowhere).
    ///   - stop: why the measurement ended (completed, aborted, an interlock, an instrument fault).
    public func judge(steps: [RawStep], observed: [Int: Int?], stop: UnitStop = .completed) -> Judgement {
        let measurements = steps.map(measure)
        let tol = recipe.reference.negativeIlToleranceDb
        let referenceSuspect = measurements.contains { ($0.ilDb ?? 0) < -tol }
        let polarity = polarityResult(observed)
        var reasons: [String] = []
        var context = DiagnosisContext(recipe: recipe, rules: rules, measurements: measurements, polarity: polarity)
        if case .allDark = stop { context.stoppedAllDark = true }
        var diagnoses = Diagnosers.all.flatMap { $0(context) }
        for d in diagnoses where d.code == .meanIlHigh || d.code == .wrongLength { reasons.append(d.message) }
        let faultFiber = stop.faultMessage == nil ? nil : (stop.faultFiber ?? steps.last { $0.fault != nil }?.fiber)
        if let fault = stop.faultMessage {
            diagnoses.append(Diagnosis(code: .instrumentFault, fibers: faultFiber.map { [$0] } ?? [], message: fault,
                                       action: "check the instrument named above, then retest the unit"))
        }
        let fibers = fiberResults(measurements, polarity: polarity, observed: observed, faultFiber: faultFiber)
        let verdict = rollUp(measurements, fibers: fibers, reasons: &reasons, stop: stop, referenceSuspect: referenceSuspect)
        var judgement = Judgement(measurements: measurements, fibers: fibers, polarity: polarity, diagnoses: diagnoses,
                                  verdict: verdict, reasons: reasons, referenceSuspect: referenceSuspect)
        if verdict == .pass { judgement.warnings = WarningBand.summary(measurements, limits: recipe.limits) }
        return judgement
    }


    /// One reading on its own: light, IL against the exact path's reference, limits, RL at both ends.
    public func measure(_ s: RawStep) -> Measurement {
        let ilMax = recipe.limits.ilMaxDb[s.wavelengthNm] ?? .infinity
        let ref = s.referenceDbm.map { MeasurementRule.round($0, 3) }
        var m = Measurement(
            fiber: s.fiber, wavelengthNm: s.wavelengthNm, end: .a, expectedReceivePosition: s.expectedReceivePosition,
            receivePosition: s.receivePosition, referenceDbm: ref, referencedPair: ref != nil, referenceCord: s.referenceCord,
            powerDbm: nil, powerStatus: .notMeasured, ilDb: nil, ilMaxDb: ilMax, ilMarginDb: nil,
            rlDb: s.rlDb.map { MeasurementRule.round($0, 2) }, rlMinDb: recipe.limits.rlMinDb, rlMarginDb: nil,
            rlBDb: s.rlBDb.map { MeasurementRule.round($0, 2) }, rlBMinDb: recipe.limits.rlMinDbB, rlBMarginDb: nil,
            verdict: .pass, reasons: [])
        m.lengthM = s.lengthM.map { MeasurementRule.round($0, 2) }
        if let fault = s.fault { m.verdict = .error; m.reasons.append("instrument fault: \(fault)") }
        if let il = s.instrumentIlDb {
            judgeInstrumentLoss(&m, il: il)
            judgeReturnLoss(&m, hadFault: s.fault != nil)
            return m
        }
        guard let power = s.power else { return m }
        switch MeasurementRule.classify(power, referenceDbm: ref, lightThresholdIlDb: rules.lightThresholdIlDb) {
        case .dark:
            m.powerStatus = .noLight
            m.receivePosition = nil
            m.fail("no light at \(s.wavelengthNm) nm at receive position \(s.receivePosition)")
        case .overRange:
            m.powerStatus = .overRange
            m.verdict = .error
            m.reasons.append("power meter over range at receive position \(s.receivePosition): no loss can be computed; "
                             + "check the source power and the detector's range")
        case .lit(let p):
            m.powerStatus = .ok
            m.powerDbm = MeasurementRule.round(p, 3)
            guard let ref else {
                m.fail("light arrived at receive position \(s.receivePosition), a path no valid reference covers: its IL is "
                    + "unreferenced and not judged")
                break
            }
            judgeLoss(&m, il: MeasurementRule.insertionLoss(referenceDbm: ref, powerDbm: p))
        }
        judgeReturnLoss(&m, hadFault: s.fault != nil)
        return m
    }

    /// An IL against its limit; one below the negative tolerance makes the reference suspect.
    private func judgeLoss(_ m: inout Measurement, il: Double) {
        m.ilDb = il
        m.ilMarginDb = MeasurementRule.round(m.ilMaxDb - il, 3)
        let tol = recipe.reference.negativeIlToleranceDb
        if il < -tol {
            m.verdict = .error
            m.reasons.append(String(format: "IL %.3f dB is below -%.3f dB: the reference is suspect, re-reference the fixture", il, tol))
        } else if il > m.ilMaxDb {
            m.fail(String(format: "IL %.3f dB exceeds %.3f dB", il, m.ilMaxDb))
        } else if let warn = recipe.limits.ilWarnDb?[m.wavelengthNm], il > warn {
            m.warn(String(format: "IL %.3f dB is in the warning band (above %.3f dB, limit %.3f dB)", il, warn, m.ilMaxDb))
        }
    }

    /// An IL the instrument computed against its own reference of the path. Ferrule judges it only
    /// where its own reference book also covers the path (the reference it had the instrument take
    /// there); a loss past the light threshold is the detector's noise: dark, never a number.
    private func judgeInstrumentLoss(_ m: inout Measurement, il: Double) {
        let q = m.receivePosition ?? m.expectedReceivePosition
        if il >= rules.lightThresholdIlDb {
            m.powerStatus = .noLight
            m.receivePosition = nil
            m.fail("no light at \(m.wavelengthNm) nm at receive position \(q)")
            return
        }
        m.powerStatus = .ok
        guard m.referenceDbm != nil else {
            m.fail("light arrived at receive position \(q), a path no valid reference covers: its IL is unreferenced and not judged")
            return
        }
        judgeLoss(&m, il: MeasurementRule.round(il, 3))
    }

    /// RL at each end against that end's limit. A limit with no value is an error: the meter did not say.
    private func judgeReturnLoss(_ m: inout Measurement, hadFault: Bool) {
        for end in [End.a, .b] {
            let (value, limit) = end == .a ? (m.rlDb, m.rlMinDb) : (m.rlBDb, m.rlBMinDb)
            guard let limit else { continue }
            guard let value else {
                if !hadFault && m.powerStatus == .ok {
                    m.verdict = .error
                    m.reasons.append("no RL at end \(end.rawValue) was reported, the recipe requires \(String(format: "%.1f", limit)) dB")
                }
                continue
            }
            let margin = MeasurementRule.round(value - limit, 2)
            if end == .a { m.rlMarginDb = margin } else { m.rlBMarginDb = margin }
            if value < limit {
                if m.verdict == .pass { m.verdict = .fail }
                m.reasons.append(String(format: "RL %.1f dB at end %@ is below %.1f dB", value, end.rawValue, limit))
            } else if let warn = end == .a ? recipe.limits.rlWarnDb : recipe.limits.rlWarnDbB, value < warn {
                m.warn(String(format: "RL %.1f dB at end %@ is in the warning band (below %.1f dB, limit %.1f dB)",
                              value, end.rawValue, warn, limit))
            }
        }
    }

    private func polarityResult(_ observed: [Int: Int?]) -> PolarityResult {
        let spec = recipe.assembly, layout = spec.layout, expected = spec.expectedMap()
        var mismatches: [PolarityResult.Mismatch] = []
        var entries: [PolarityResult.Entry] = []
        for fiber in layout.usedPositions {
            guard let obs = observed[fiber], let exp = expected[fiber] else { continue }
            entries.append(.init(fiber: fiber, receivePosition: obs))
            if let o = obs, o != exp { mismatches.append(.init(fiber: fiber, expected: exp, observed: o)) }
        }
        let complete = entries.count == layout.usedPositions.count && entries.allSatisfy { $0.receivePosition != nil }
        let observedMap = PolarityMap(Dictionary(uniqueKeysWithValues: entries.compactMap { e in e.receivePosition.map { (e.fiber, $0) } }))
        return PolarityResult(
            expectedType: spec.polarity.standardType?.rawValue ?? "explicit", expectedMap: expected, observedMap: entries,
            observedType: complete ? observedMap.standardType(layout: layout, kind: spec.kind) : nil,
            mismatches: mismatches, verdict: mismatches.isEmpty ? .pass : .fail)
    }

    private func fiberResults(_ measurements: [Measurement], polarity: PolarityResult, observed: [Int: Int?],
                              faultFiber: Int?) -> [FiberResult] {
        let layout = recipe.assembly.layout, expected = recipe.assembly.expectedMap()
        let byFiber = Dictionary(grouping: measurements, by: \.fiber)
        return layout.allPositions.map { p in
            guard layout.usedPositions.contains(p) else {
                return FiberResult(fiber: p, expectedReceivePosition: nil, observedReceivePosition: nil, verdict: .unused, reasons: [])
            }
            let ms = byFiber[p] ?? []
            var r = FiberResult(fiber: p, expectedReceivePosition: expected[p], observedReceivePosition: observed[p] ?? nil,
                                verdict: .pass, reasons: ms.flatMap { m in m.reasons.map { "\(m.wavelengthNm) nm: \($0)" } })
            if p == faultFiber {
                r.verdict = .error
                r.reasons.append("the instrument fault struck while this fiber was measured; what was read before it is kept")
            } else if ms.isEmpty {
                r.verdict = .notTested
            } else if ms.contains(where: { $0.verdict == .error }) {
                r.verdict = .error
            } else if ms.contains(where: { $0.verdict == .fail }) {
                r.verdict = .fail
            }
            if let mm = polarity.mismatches.first(where: { $0.fiber == p }) {
                if r.verdict == .pass { r.verdict = .fail }
                r.reasons.append("light arrives at \(mm.observed.map(String.init) ?? "-"), expected \(mm.expected)")
            }
            return r
        }
    }

    /// The unit's verdict: an instrument fault, an over-range reading or a suspect reference is an
    /// error, never a fail.
    private func rollUp(_ measurements: [Measurement], fibers: [FiberResult], reasons: inout [String], stop: UnitStop,
                        referenceSuspect: Bool) -> Verdict {
        if let reason = stop.abortReason {
            reasons.insert("aborted: \(reason)", at: 0)
            return .aborted
        }
        if case .interrupted(let reason) = stop {
            reasons.insert(reason, at: 0)
            return .interrupted
        }
        let fault = stop.faultMessage
        let overRange = Array(Set(measurements.filter { $0.powerStatus == .overRange }.map(\.fiber))).sorted()
        if fault != nil || referenceSuspect || measurements.contains(where: { $0.verdict == .error }) {
            if let fault { reasons.insert("instrument fault: \(fault)", at: 0) }
            if !overRange.isEmpty {
                reasons.append("power meter over range on fiber\(overRange.count == 1 ? "" : "s") \(Self.list(overRange)): "
                               + "check the source power and the detector's range, then retest")
            }
            if referenceSuspect { reasons.append("reference suspect: re-reference the fixture and retest") }
            if fault == nil, !referenceSuspect, overRange.isEmpty {
                let bad = fibers.filter { $0.verdict == .error }.map(\.fiber)
                reasons.append("fiber\(bad.count == 1 ? "" : "s") \(Self.list(bad)) could not be judged: see their reasons")
            }
            return .error
        }
        if case .allDark(let n) = stop {
            reasons.append("no light from the first \(n) fibers at any receive position: the unit was stopped there, "
                           + "the other fibers were not measured")
        }
        if fibers.contains(where: { $0.verdict == .fail }) || !reasons.isEmpty {
            let failed = fibers.filter { $0.verdict == .fail }.map(\.fiber)
            if !failed.isEmpty { reasons.insert("fiber\(failed.count == 1 ? "" : "s") \(Self.list(failed)) failed", at: 0) }
            return .fail
        }
        return .pass
    }

    public static func round(_ v: Double, _ digits: Int) -> Double { MeasurementRule.round(v, digits) }

    /// "3", "3, 4", "5-8" style list; each fiber once.
    public static func list(_ fibers: [Int]) -> String {
        let sorted = Array(Set(fibers)).sorted()
        var parts: [String] = []
        var i = 0
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count, sorted[j + 1] == sorted[j] + 1 { j += 1 }
            parts.append(j - i >= 2 ? "\(sorted[i])-\(sorted[j])" : (i...j).map { String(sorted[$0]) }.joined(separator: ", "))
            i = j + 1
        }
        return parts.joined(separator: ", ")
    }
}

extension Measurement {
    /// A limit not met: the reading fails (an error stays an error) and says why.
    mutating func fail(_ why: String) {
        if verdict == .pass { verdict = .fail }
        reasons.append(why)
    }
}
