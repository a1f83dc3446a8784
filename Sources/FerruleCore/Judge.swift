import Foundation

public enum Verdict: String, Codable, Sendable, CaseIterable {
    case pass, fail, error, aborted
    /// The station stopped (crash, power loss) during the unit; recorded at the next start with what had been measured.
    case interrupted
}

public enum MeasurementVerdict: String, Codable, Sendable {
    case pass, fail, error
}

public enum FiberVerdict: String, Codable, Sendable {
    case pass, fail, error
    /// A ferrule position that carries no fiber (Base-8: 5-8). Never measured, never a failure.
    case unused
    /// Not reached: the unit stopped (error or abort) before this fiber.
    case notTested
}

/// One step as the engine took it: a fiber launched at one wavelength and read at one receive position.
public struct RawStep: Sendable, Hashable {
    public var fiber: Int
    public var wavelengthNm: Int
    public var expectedReceivePosition: Int
    /// Where the power was read (where the light was found, or the expected position if nowhere).
    public var receivePosition: Int
    public var referenceDbm: Double
    /// Whether the reference covered this exact (launch, receive) pair.
    public var referencedPair: Bool
    public var power: PowerReading?
    public var rlDb: Double?
    /// An instrument fault during this step: the step has no valid result.
    public var fault: String?

    public init(fiber: Int, wavelengthNm: Int, expectedReceivePosition: Int, receivePosition: Int,
                referenceDbm: Double, referencedPair: Bool, power: PowerReading?, rlDb: Double?, fault: String?) {
        self.fiber = fiber
        self.wavelengthNm = wavelengthNm
        self.expectedReceivePosition = expectedReceivePosition
        self.receivePosition = receivePosition
        self.referenceDbm = referenceDbm
        self.referencedPair = referencedPair
        self.power = power
        self.rlDb = rlDb
        self.fault = fault
    }
}

public struct Measurement: Sendable, Hashable, Codable {
    public var fiber: Int
    public var wavelengthNm: Int
    /// The end the RL was measured at (the launch end).
    public var end: End
    public var expectedReceivePosition: Int
    /// Where the light was read; nil when the fiber is dark at every receive position.
    public var receivePosition: Int?
    public var referenceDbm: Double
    public var referencedPair: Bool
    public var powerDbm: Double?
    /// `ok`, `noLight`, `overRange` or `notMeasured`.
    public var powerStatus: String
    public var ilDb: Double?
    public var ilMaxDb: Double
    public var ilMarginDb: Double?
    public var rlDb: Double?
    public var rlMinDb: Double?
    public var rlMarginDb: Double?
    public var verdict: MeasurementVerdict
    public var reasons: [String]
}

public struct FiberResult: Sendable, Hashable, Codable {
    public var fiber: Int
    public var expectedReceivePosition: Int?
    public var observedReceivePosition: Int?
    public var verdict: FiberVerdict
    public var reasons: [String]
}

public struct PolarityResult: Sendable, Hashable, Codable {
    public struct Mismatch: Sendable, Hashable, Codable {
        public var fiber: Int
        public var expected: Int
        /// Nil: the fiber's light arrived nowhere.
        public var observed: Int?
    }
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

public enum DiagnosisCode: String, Codable, Sendable, CaseIterable {
    case highLossFiber, darkFiber, allDark, wrongPolarityType, crossedFibers
    case contaminatedEndFace, lowReturnLoss, meanIlHigh, referenceSuspect, instrumentFault
}

public struct Diagnosis: Sendable, Hashable, Codable {
    public var code: DiagnosisCode
    public var fibers: [Int]
    public var end: End?
    public var message: String
    /// What the operator should do next.
    public var action: String

    public init(code: DiagnosisCode, fibers: [Int], end: End? = nil, message: String, action: String) {
        self.code = code
        self.fibers = fibers
        self.end = end
        self.message = message
        self.action = action
    }
}

public struct Judgement: Sendable, Hashable {
    public var measurements: [Measurement]
    public var fibers: [FiberResult]
    public var polarity: PolarityResult
    public var diagnoses: [Diagnosis]
    public var verdict: Verdict
    public var reasons: [String]
    /// True when a negative IL beyond the tolerance says the reference cannot be trusted.
    public var referenceSuspect: Bool
}

/// Turns the raw steps of one unit into verdicts and diagnoses. Pure.
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
    ///   - stopReason: set when the unit stopped early; `aborted` decides between aborted and error.
    public func judge(steps: [RawStep], observed: [Int: Int?], stopReason: String? = nil, aborted: Bool = false,
                      fault: String? = nil) -> Judgement {
        let spec = recipe.assembly
        let expected = spec.expectedMap()
        let tol = recipe.reference.negativeIlToleranceDb
        var referenceSuspect = false
        var reasons: [String] = []

        // Per measurement.
        var measurements: [Measurement] = []
        for var s in steps {
            // Judge what is reported: powers to 0.001 dB (meter resolution), RL to 0.01 dB.
            if case .dBm(let p)? = s.power { s.power = .dBm(Self.round(p, 3)) }
            s.referenceDbm = Self.round(s.referenceDbm, 3)
            s.rlDb = s.rlDb.map { Self.round($0, 2) }
            let ilMax = recipe.limits.ilMaxDb[s.wavelengthNm] ?? .infinity
            var m = Measurement(
                fiber: s.fiber, wavelengthNm: s.wavelengthNm, end: .a,
                expectedReceivePosition: s.expectedReceivePosition, receivePosition: s.receivePosition,
                referenceDbm: s.referenceDbm, referencedPair: s.referencedPair,
                powerDbm: s.power?.dBmValue, powerStatus: "notMeasured", ilDb: nil, ilMaxDb: ilMax,
                ilMarginDb: nil, rlDb: s.rlDb, rlMinDb: recipe.limits.rlMinDb, rlMarginDb: nil,
                verdict: .pass, reasons: [])
            if let fault = s.fault {
                m.verdict = .error
                m.reasons.append("instrument fault: \(fault)")
            }
            switch s.power {
            case .none:
                break
            case .noLight?:
                m.powerStatus = "noLight"
                m.receivePosition = nil
                if m.verdict != .error {
                    m.verdict = .fail
                    m.reasons.append("no light at receive position \(s.expectedReceivePosition) or any other")
                }
            case .overRange?:
                m.powerStatus = "overRange"
                m.verdict = .error
                m.reasons.append("power meter over range: no loss can be computed")
            case .dBm(let p)?:
                m.powerStatus = "ok"
                let il = Self.round(s.referenceDbm - p, 3)
                m.ilDb = il
                m.ilMarginDb = Self.round(ilMax - il, 3)
                if il < -tol {
                    referenceSuspect = true
                    m.verdict = .error
                    m.reasons.append(String(format: "IL %.3f dB is below -%.3f dB: the reference is suspect, re-reference the fixture", il, tol))
                } else if il > ilMax {
                    if m.verdict == .pass { m.verdict = .fail }
                    m.reasons.append(String(format: "IL %.3f dB exceeds %.3f dB", il, ilMax))
                }
            }
            if let rlMin = recipe.limits.rlMinDb, let rl = s.rlDb {
                m.rlMarginDb = Self.round(rl - rlMin, 2)
                if rl < rlMin {
                    if m.verdict == .pass { m.verdict = .fail }
                    m.reasons.append(String(format: "RL %.1f dB is below %.1f dB", rl, rlMin))
                }
            }
            measurements.append(m)
        }

        // Polarity.
        let layout = spec.layout
        var mismatches: [PolarityResult.Mismatch] = []
        var entries: [PolarityResult.Entry] = []
        for fiber in layout.usedPositions {
            guard let obs = observed[fiber] else { continue }
            entries.append(.init(fiber: fiber, receivePosition: obs))
            let exp = expected[fiber]!
            if let o = obs, o != exp { mismatches.append(.init(fiber: fiber, expected: exp, observed: o)) }
        }
        let complete = entries.count == layout.usedPositions.count && entries.allSatisfy { $0.receivePosition != nil }
        let observedMap = PolarityMap(Dictionary(uniqueKeysWithValues: entries.compactMap { e in e.receivePosition.map { (e.fiber, $0) } }))
        let observedType = complete ? observedMap.standardType(layout: layout, kind: spec.kind) : nil
        let expectedTypeName = spec.polarity.standardType?.rawValue ?? "explicit"
        let polarity = PolarityResult(
            expectedType: expectedTypeName, expectedMap: expected, observedMap: entries,
            observedType: observedType, mismatches: mismatches, verdict: mismatches.isEmpty ? .pass : .fail)

        // Diagnoses.
        var diagnoses: [Diagnosis] = []
        let dark = entries.filter { $0.receivePosition == nil }.map(\.fiber)
        let allDark = !entries.isEmpty && entries.count == layout.usedPositions.count && dark.count == entries.count
        if allDark {
            diagnoses.append(Diagnosis(
                code: .allDark, fibers: dark,
                message: "no light on any fiber at any receive position",
                action: "check that both ends are mated and that the genders fit (pinned to unpinned); if the reference cord also reads dark, check the source"))
        } else {
            if !dark.isEmpty {
                diagnoses.append(Diagnosis(
                    code: .darkFiber, fibers: dark,
                    message: "no light arrives anywhere from fiber\(dark.count == 1 ? "" : "s") \(Self.list(dark))",
                    action: "inspect the fiber for a break; re-terminate or scrap"))
            }
            if !mismatches.isEmpty {
                if let t = observedType, t != spec.polarity.standardType {
                    diagnoses.append(Diagnosis(
                        code: .wrongPolarityType, fibers: mismatches.map(\.fiber),
                        message: "built as Type \(t.rawValue), recipe requires \(expectedTypeName == "explicit" ? "an explicit map" : "Type \(expectedTypeName)")",
                        action: "check the polarity of the build (key orientation at end B); relabel or rework"))
                } else {
                    let text = mismatches.map { "\($0.fiber)->\($0.observed.map(String.init) ?? "-") (expected \($0.expected))" }
                    diagnoses.append(Diagnosis(
                        code: .crossedFibers, fibers: mismatches.map(\.fiber),
                        message: "crossed fibers: \(text.joined(separator: ", "))",
                        action: "rework the fiber order in the ferrule"))
                }
            }
        }

        // High IL: adjacent clusters point at a contaminated end face, the rest are high-loss fibers.
        let highIL = Set(measurements.filter { m in m.ilDb.map { $0 > m.ilMaxDb } ?? false }.map(\.fiber)).sorted()
        var clustered: Set<Int> = []
        for cluster in Self.clusters(highIL, layout: layout) where cluster.count >= rules.contaminationClusterMin {
            clustered.formUnion(cluster)
            let end = contaminatedEnd(cluster: cluster, measurements: measurements)
            let endText = end.map { "end \($0.rawValue)" } ?? "one end"
            diagnoses.append(Diagnosis(
                code: .contaminatedEndFace, fibers: cluster, end: end,
                message: "adjacent fibers \(Self.list(cluster)) all have high IL: a contaminated end face at \(endText)",
                action: "inspect and clean \(end.map { "end \($0.rawValue)" } ?? "both ends"), then retest"))
        }
        let lonely = highIL.filter { !clustered.contains($0) }
        if !lonely.isEmpty {
            diagnoses.append(Diagnosis(
                code: .highLossFiber, fibers: lonely,
                message: "IL above the limit on fiber\(lonely.count == 1 ? "" : "s") \(Self.list(lonely))",
                action: "inspect the end faces of those fibers; clean and retest once, then rework"))
        }
        let lowRL = Set(measurements.filter { m in
            guard let rl = m.rlDb, let min = m.rlMinDb else { return false }
            return rl < min
        }.map(\.fiber)).subtracting(clustered).sorted()
        if !lowRL.isEmpty {
            diagnoses.append(Diagnosis(
                code: .lowReturnLoss, fibers: lowRL, end: .a,
                message: "RL below the limit at end A on fiber\(lowRL.count == 1 ? "" : "s") \(Self.list(lowRL))",
                action: "inspect end A for scratches, pits or contamination; clean or repolish"))
        }
        if let meanMax = recipe.limits.meanIlMaxDb {
            for wl in recipe.wavelengthsNm {
                let ils = measurements.filter { $0.wavelengthNm == wl }.compactMap(\.ilDb)
                guard ils.count == layout.usedPositions.count else { continue }
                let mean = ils.reduce(0, +) / Double(ils.count)
                if mean > meanMax {
                    reasons.append(String(format: "mean IL %.3f dB at %d nm exceeds %.3f dB", mean, wl, meanMax))
                    diagnoses.append(Diagnosis(
                        code: .meanIlHigh, fibers: [],
                        message: String(format: "mean IL %.3f dB at %d nm exceeds %.3f dB", mean, wl, meanMax),
                        action: "clean both ends and retest"))
                }
            }
        }
        if referenceSuspect {
            diagnoses.append(Diagnosis(
                code: .referenceSuspect, fibers: measurements.filter { ($0.ilDb ?? 0) < -tol }.map(\.fiber),
                message: "negative IL beyond the meter's uncertainty: the reference no longer matches the bench",
                action: "clean the test cords and take a new reference, then retest this unit"))
        }
        if let fault {
            diagnoses.append(Diagnosis(code: .instrumentFault, fibers: [], message: fault,
                                       action: "check the instrument named above, then retest the unit"))
        }

        // Per fiber.
        let mByFiber = Dictionary(grouping: measurements, by: \.fiber)
        var fibers: [FiberResult] = []
        for p in layout.allPositions {
            guard layout.usedPositions.contains(p) else {
                fibers.append(FiberResult(fiber: p, expectedReceivePosition: nil, observedReceivePosition: nil,
                                          verdict: .unused, reasons: []))
                continue
            }
            let ms = mByFiber[p] ?? []
            let obs: Int?? = observed[p]
            var r = FiberResult(fiber: p, expectedReceivePosition: expected[p], observedReceivePosition: obs ?? nil,
                                verdict: .pass, reasons: ms.flatMap { m in m.reasons.map { "\(m.wavelengthNm) nm: \($0)" } })
            if ms.isEmpty {
                r.verdict = .notTested
            } else if ms.contains(where: { $0.verdict == .error }) {
                r.verdict = .error
            } else if ms.contains(where: { $0.verdict == .fail }) {
                r.verdict = .fail
            }
            if let mm = mismatches.first(where: { $0.fiber == p }) {
                if r.verdict == .pass { r.verdict = .fail }
                r.reasons.append("light arrives at \(mm.observed.map(String.init) ?? "-"), expected \(mm.expected)")
            }
            fibers.append(r)
        }

        // Unit verdict: an instrument fault or a suspect reference is an error, never a fail.
        let verdict: Verdict
        if aborted {
            verdict = .aborted
            reasons.insert("aborted: \(stopReason ?? "by request")", at: 0)
        } else if fault != nil || referenceSuspect || measurements.contains(where: { $0.verdict == .error }) {
            verdict = .error
            if let fault { reasons.insert("instrument fault: \(fault)", at: 0) }
            if referenceSuspect { reasons.append("reference suspect: re-reference the fixture and retest") }
        } else if let stopReason {
            verdict = .error
            reasons.insert(stopReason, at: 0)
        } else if fibers.contains(where: { $0.verdict == .fail }) || !reasons.isEmpty {
            verdict = .fail
            let failed = fibers.filter { $0.verdict == .fail }.map(\.fiber)
            if !failed.isEmpty { reasons.insert("fiber\(failed.count == 1 ? "" : "s") \(Self.list(failed)) failed", at: 0) }
        } else {
            verdict = .pass
        }

        return Judgement(measurements: measurements, fibers: fibers, polarity: polarity, diagnoses: diagnoses,
                         verdict: verdict, reasons: reasons, referenceSuspect: referenceSuspect)
    }

    /// A cluster at end A lowers the RL measured there; a cluster with normal RL at A is at end B.
    /// A fan-out has single-fiber legs at B, so a cluster there can only be end A.
    /// Without RL measurements the end cannot be told.
    private func contaminatedEnd(cluster: [Int], measurements: [Measurement]) -> End? {
        if recipe.assembly.kind == .fanout { return .a }
        let rls = measurements.compactMap(\.rlDb)
        guard !rls.isEmpty else { return nil }
        let median = rls.sorted()[rls.count / 2]
        let limit = recipe.limits.rlMinDb ?? -.infinity
        let degraded = Set(measurements.filter { m in
            guard cluster.contains(m.fiber), let rl = m.rlDb else { return false }
            return rl < limit || rl < median - rules.rlDegradedDb
        }.map(\.fiber))
        return degraded.count * 2 >= cluster.count ? .a : .b
    }

    /// Runs of physically adjacent positions among `fibers` (sorted).
    static func clusters(_ fibers: [Int], layout: MPOLayout) -> [[Int]] {
        var out: [[Int]] = []
        for f in fibers {
            if let last = out.last?.last, layout.areAdjacent(last, f) {
                out[out.count - 1].append(f)
            } else {
                out.append([f])
            }
        }
        return out
    }

    public static func round(_ v: Double, _ digits: Int) -> Double {
        let f = pow(10, Double(digits))
        return (v * f).rounded() / f
    }

    /// "3", "3, 4", "5-8" style list.
    public static func list(_ fibers: [Int]) -> String {
        let sorted = fibers.sorted()
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
