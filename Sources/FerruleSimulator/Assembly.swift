import FerruleCore
import FerruleSimSpec
import Foundation

/// A deterministic pseudo-random generator (SplitMix64), so a seed reproduces a bench.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Standard normal deviate (Box-Muller).
    public mutating func gaussian() -> Double {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
    /// A stable seed from text (FNV-1a); Swift's Hasher is randomised per process.
    public static func seed(_ text: String, _ base: UInt64) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ base
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}

/// The optical truth of one simulated unit: per-fiber loss and reflection, where each fiber's
/// light really arrives, and the faults that made it so.
public struct SimulatedAssembly: Sendable {
    public let serial: String
    public let recipe: Recipe
    public let faults: [AssemblyFault]
    /// End-A position -> receive position, nil for a dark fiber.
    public let arrival: [Int: Int]
    /// End-A position -> wavelength -> IL (dB).
    public let loss: [Int: [Int: Double]]
    /// End-A position -> RL at end A and at end B (dB).
    public let returnLoss: [Int: Double]
    public let returnLossB: [Int: Double]
    /// End-A position -> wavelengths at which its light does not arrive (a macrobend).
    public let darkAt: [Int: Set<Int>]
    public let mates: Bool
    /// The cable's length (m): the recipe's (3 m where it gives none), unless cut wrong.
    public let lengthM: Double

    public init(serial: String, recipe: Recipe, faults: [AssemblyFault] = [], seed: UInt64 = 1) {
        self.serial = serial
        self.recipe = recipe
        self.faults = faults
        var rng = SplitMix64(seed: SplitMix64.seed(serial, seed))
        let spec = recipe.assembly
        var map = spec.expectedMap().pairs
        var loss: [Int: [Int: Double]] = [:]
        var rl: [Int: Double] = [:], rlB: [Int: Double] = [:], darkAt: [Int: Set<Int>] = [:]
        func typicalMin(_ end: ConnectorEnd) -> Double { spec.fiberType.isSingleMode ? (end.polish == .apc ? 60 : 45) : 20 }
        let rlMin = recipe.limits.rlMinDb ?? typicalMin(spec.endA), rlMinB = recipe.limits.rlMinDbB ?? typicalMin(spec.endB)
        for p in spec.layout.usedPositions {
            // A good fiber sits near 30% of its limit (typical values in vendors' data sheets).
            let q = max(-2, min(2, rng.gaussian()))
            var perWl: [Int: Double] = [:]
            for wl in recipe.wavelengthsNm {
                let max = recipe.limits.ilMaxDb[wl] ?? 0.75
                perWl[wl] = max * (0.3 + 0.08 * q) + 0.005 * rng.gaussian()
            }
            loss[p] = perWl
            rl[p] = Swift.max(rlMin + 4, rlMin + 8 + 1.5 * rng.gaussian())
            rlB[p] = Swift.max(rlMinB + 4, rlMinB + 8 + 1.5 * rng.gaussian())
        }
        var mates = true
        var length = spec.lengthM ?? 3
        for fault in faults {
            switch fault {
            case .highLoss(let f, let extra):
                loss[f] = loss[f]?.mapValues { $0 + extra }
            case .darkFiber(let f):
                map[f] = nil
            case .swappedPair(let a, let b):
                let ta = map[a], tb = map[b]
                map[a] = tb
                map[b] = ta
            case .wrongPolarity(let t):
                map = PolarityMap.standard(t, layout: spec.layout, kind: spec.kind).pairs
            case .dirtyEndFace(let end, let fibers, let extra):
                for f in fibers {
                    loss[f] = loss[f]?.mapValues { $0 + extra }
                    if end == .a { rl[f] = rlMin - 12 + rng.gaussian() } else { rlB[f] = rlMinB - 12 + rng.gaussian() }
                }
            case .genderMismatch:
                mates = false
            case .darkAtWavelength(let f, let wl):
                darkAt[f, default: []].insert(wl)
            case .wrongLength(let delta):
                length += delta
            }
        }
        self.lengthM = length
        self.arrival = mates ? map : [:]
        self.loss = loss
        self.returnLoss = rl
        self.returnLossB = rlB
        self.darkAt = darkAt
        self.mates = mates
    }

    /// What a correct station must conclude about this unit.
    public var truth: (verdict: Verdict, diagnoses: [DiagnosisCode: [Int]]) {
        var d: [DiagnosisCode: [Int]] = [:]
        let layout = recipe.assembly.layout
        for fault in faults {
            switch fault {
            case .highLoss(let f, _):
                if loss[f]?.contains(where: { wl, il in il > (recipe.limits.ilMaxDb[wl] ?? .infinity) }) ?? false {
                    d[.highLossFiber, default: []].append(f)
                }
            case .darkFiber(let f): d[.darkFiber, default: []].append(f)
            case .swappedPair(let a, let b): d[.crossedFibers, default: []] += [a, b]
            case .wrongPolarity: d[.wrongPolarityType] = layout.usedPositions.filter {
                    arrival[$0] != recipe.assembly.expectedMap()[$0]
                }
            case .dirtyEndFace(let end, let fibers, _):
                if fibers.count >= DiagnosisRules().contaminationClusterMin {
                    d[.contaminatedEndFace, default: []] += fibers
                } else {
                    d[.highLossFiber, default: []] += fibers
                }
                let limit = end == .a ? recipe.limits.rlMinDb : recipe.limits.rlMinDbB
                if fibers.count < DiagnosisRules().contaminationClusterMin && limit != nil {
                    d[.lowReturnLoss, default: []] += fibers
                }
            case .genderMismatch: d = [.allDark: layout.usedPositions]
            case .darkAtWavelength(let f, _): d[.darkAtWavelength, default: []].append(f)
            case .wrongLength(let delta):
                if let tolerance = recipe.assembly.lengthToleranceM, abs(delta) > tolerance { d[.wrongLength] = [] }
            }
        }
        for k in d.keys { d[k] = Array(Set(d[k]!)).sorted() }
        return (d.isEmpty ? .pass : .fail, d)
    }
}
