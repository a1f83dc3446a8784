import Foundation

/// What a diagnosis names, for the MES's defect codes and a Pareto of failures.
public enum DiagnosisCode: String, Codable, Sendable, CaseIterable {
    case highLossFiber, darkFiber, allDark, wrongPolarityType, crossedFibers
    case contaminatedEndFace, lowReturnLoss, meanIlHigh, referenceSuspect, instrumentFault
    /// Lit at one wavelength and dark at another: a macrobend or a stressed fiber.
    case darkAtWavelength
    /// The measured length is outside the recipe's length and tolerance.
    case wrongLength
}

/// A likely cause read from the pattern of failures, with the fibers it concerns and what to do.
public struct Diagnosis: Sendable, Hashable, Codable {
    public var code: DiagnosisCode
    public var fibers: [Int]
    public var end: End?
    public var message: String
    /// What the operator should do next.
    public var action: String

    public init(code: DiagnosisCode, fibers: [Int], end: End? = nil, message: String, action: String) {
        self.code = code
        self.fibers = Array(Set(fibers)).sorted()  // each fiber once, whatever the wavelengths
        self.end = end
        self.message = message
        self.action = action
    }
}

/// What every diagnoser reads: the judged readings and the polarity found.
public struct DiagnosisContext: Sendable {
    public var recipe: Recipe
    public var rules: DiagnosisRules
    public var measurements: [Measurement]
    public var polarity: PolarityResult
    /// The unit was stopped after its first fibers were all dark (`UnitStop.allDark`).
    public var stoppedAllDark = false

    var layout: MPOLayout { recipe.assembly.layout }
    /// Fibers whose light arrived nowhere at any wavelength.
    var dark: [Int] { polarity.observedMap.filter { $0.receivePosition == nil }.map(\.fiber) }
    var allDark: Bool {
        if stoppedAllDark { return !dark.isEmpty }
        let n = polarity.observedMap.count
        return n > 0 && n == layout.usedPositions.count && dark.count == n
    }
    var highIL: [Int] { Array(Set(measurements.filter { m in m.ilDb.map { $0 > m.ilMaxDb } ?? false }.map(\.fiber))).sorted() }
    var contaminated: [[Int]] {
        Diagnosers.clusters(highIL, layout: layout).filter { $0.count >= rules.contaminationClusterMin }
    }
}

/// The diagnosers, apart from the measurement: each reads the judged unit and names a cause
/// and what the operator should do. Order is the order in the report.
public enum Diagnosers {
    /// One diagnosis rule: looks at a judged unit and says what it recognises, or nothing.
    public typealias Diagnoser = @Sendable (DiagnosisContext) -> [Diagnosis]

    public static let all: [Diagnoser] = [darkness, wavelengthDark, polarity, contamination, highLoss, lowReturnLoss, meanIL,
        wrongLength, suspectReference]

    static func plural(_ n: Int) -> String { n == 1 ? "" : "s" }

    static let darkness: Diagnoser = { c in
        if c.allDark {
            return [Diagnosis(code: .allDark, fibers: c.dark, message: "no light on any fiber at any receive position",
                              action: "check that both ends are mated and that the genders fit (pinned to unpinned); "
                                  + "if the reference cord also reads dark, check the source")]
        }
        guard !c.dark.isEmpty else { return [] }
        return [Diagnosis(code: .darkFiber, fibers: c.dark,
            message: "no light arrives anywhere from fiber\(plural(c.dark.count)) \(Judge.list(c.dark))",
                          action: "inspect the fiber for a break; re-terminate or scrap")]
    }

    static let wavelengthDark: Diagnoser = { c in
        let lit = Set(c.polarity.observedMap.filter { $0.receivePosition != nil }.map(\.fiber))
        let darkAt = c.measurements.filter { lit.contains($0.fiber) && $0.powerStatus == .noLight }
        guard !darkAt.isEmpty else { return [] }
        let fibers = Array(Set(darkAt.map(\.fiber))).sorted()
        let wls = Array(Set(darkAt.map(\.wavelengthNm))).sorted().map { "\($0) nm" }.joined(separator: ", ")
        return [Diagnosis(code: .darkAtWavelength, fibers: fibers,
                          message: "fiber\(plural(fibers.count)) \(Judge.list(fibers)) dark at \(wls) but lit at another wavelength: "
                              + "a macrobend or a stressed fiber",
                          action: "look for a tight bend, a crushed jacket or a pinched boot along the cable; re-route or rework")]
    }

    static let polarity: Diagnoser = { c in
        let mismatches = c.polarity.mismatches
        guard !c.allDark, !mismatches.isEmpty else { return [] }
        let expected = c.polarity.expectedType
        if let t = c.polarity.observedType, t != c.recipe.assembly.polarity.standardType {
            return [Diagnosis(code: .wrongPolarityType, fibers: mismatches.map(\.fiber),
                              message: "built as Type \(t.rawValue), recipe requires "
                                  + "\(expected == "explicit" ? "an explicit map" : "Type \(expected)")",
                              action: "check the polarity of the build (key orientation at end B); relabel or rework")]
        }
        let text = mismatches.map { "\($0.fiber)->\($0.observed.map(String.init) ?? "-") (expected \($0.expected))" }
        return [Diagnosis(code: .crossedFibers, fibers: mismatches.map(\.fiber), message: "crossed fibers: \(text.joined(separator: ", "))",
                          action: "rework the fiber order in the ferrule")]
    }

    /// Adjacent high-IL fibers point at a contaminated end face, not at the fibers.
    static let contamination: Diagnoser = { c in
        c.contaminated.map { cluster in
            let end = contaminatedEnd(cluster, c)
            return Diagnosis(code: .contaminatedEndFace, fibers: cluster, end: end,
                             message: "adjacent fibers \(Judge.list(cluster)) all have high IL: a contaminated end face at "
                                 + "\(end.map { "end \($0.rawValue)" } ?? "one end")",
                             action: "inspect and clean \(end.map { "end \($0.rawValue)" } ?? "both ends"), then retest")
        }
    }

    static let highLoss: Diagnoser = { c in
        let clustered = Set(c.contaminated.joined())
        let lonely = c.highIL.filter { !clustered.contains($0) }
        guard !lonely.isEmpty else { return [] }
        return [Diagnosis(code: .highLossFiber, fibers: lonely,
            message: "IL above the limit on fiber\(plural(lonely.count)) \(Judge.list(lonely))",
                          action: "inspect the end faces of those fibers; clean and retest once, then rework")]
    }

    static let lowReturnLoss: Diagnoser = { c in
        let clustered = Set(c.contaminated.joined())
        return [End.a, .b].compactMap { end in
            let low = Set(c.measurements.filter { m in
                let (rl, min) = end == .a ? (m.rlDb, m.rlMinDb) : (m.rlBDb, m.rlBMinDb)
                guard let rl, let min else { return false }
                return rl < min
            }.map(\.fiber)).subtracting(clustered).sorted()
            guard !low.isEmpty else { return nil }
            return Diagnosis(code: .lowReturnLoss, fibers: low, end: end,
                             message: "RL below the limit at end \(end.rawValue) on fiber\(plural(low.count)) \(Judge.list(low))",
                             action: "inspect end \(end.rawValue) for scratches, pits or contamination; clean or repolish")
        }
    }

    /// The unit's length (the median of what the instrument measured on its lit paths) against
    /// `assembly.lengthM` ± `lengthToleranceM`; nothing where no instrument measures length.
    static let wrongLength: Diagnoser = { c in
        let spec = c.recipe.assembly
        guard let nominal = spec.lengthM, let tolerance = spec.lengthToleranceM else { return [] }
        let lengths = c.measurements.compactMap(\.lengthM).sorted()
        guard !lengths.isEmpty else { return [] }
        let measured = lengths[lengths.count / 2]
        guard abs(measured - nominal) > tolerance else { return [] }
        let word = measured < nominal ? "short" : "long"
        return [Diagnosis(code: .wrongLength, fibers: [],
                          message: String(format: "the cable measures %.2f m, %.2f m too %@ for %.2f m \u{00B1} %.2f m", measured,
                                          abs(measured - nominal), word, nominal, tolerance),
                          action: "check the cut length against the work order; a cable of the wrong length is scrapped or "
                              + "relabelled as the route says, never shipped as this part")]
    }

    static let meanIL: Diagnoser = { c in
        guard let meanMax = c.recipe.limits.meanIlMaxDb else { return [] }
        return c.recipe.wavelengthsNm.compactMap { wl in
            let ils = c.measurements.filter { $0.wavelengthNm == wl }.compactMap(\.ilDb)
            guard ils.count == c.layout.usedPositions.count else { return nil }
            let mean = ils.reduce(0, +) / Double(ils.count)
            guard mean > meanMax else { return nil }
            return Diagnosis(code: .meanIlHigh, fibers: [], message: String(format: "mean IL %.3f dB at %d nm exceeds %.3f dB", mean, wl,
                meanMax),
                             action: "clean both ends and retest")
        }
    }

    static let suspectReference: Diagnoser = { c in
        let tol = c.recipe.reference.negativeIlToleranceDb
        let fibers = c.measurements.filter { ($0.ilDb ?? 0) < -tol }.map(\.fiber)
        guard !fibers.isEmpty else { return [] }
        return [Diagnosis(code: .referenceSuspect, fibers: fibers,
                          message: "negative IL beyond the meter's uncertainty: the reference no longer matches the bench",
                          action: "clean the test cords and take a new reference, then retest this unit")]
    }

    /// A cluster at end A lowers the RL measured there, one at end B the RL at B. A fan-out has
    /// single-fiber legs at B, so a cluster there can only be end A. Without RL the end cannot be told.
    static func contaminatedEnd(_ cluster: [Int], _ c: DiagnosisContext) -> End? {
        if c.recipe.assembly.kind == .fanout { return .a }
        let rls = c.measurements.compactMap(\.rlDb)
        guard !rls.isEmpty else { return nil }
        let median = rls.sorted()[rls.count / 2]
        let limit = c.recipe.limits.rlMinDb ?? -.infinity
        let degraded = Set(c.measurements.filter { m in
            guard cluster.contains(m.fiber), let rl = m.rlDb else { return false }
            return rl < limit || rl < median - c.rules.rlDegradedDb
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
}
