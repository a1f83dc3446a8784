// MPO geometry: which positions of the MT ferrule exist and which carry fiber.
//
// Numbering (IEC 61754-7 / TIA-604-5): end face seen with the key up, position 1 far left.
// A second row continues the numbering (13..24 for MPO-24, 17..32 for MPO-32).

/// Single-mode or one of the multimode grades, as a recipe names it.
public enum FiberType: String, Codable, Sendable, CaseIterable {
    case sm = "SM"
    case om3 = "OM3"
    case om4 = "OM4"
    case om5 = "OM5"

    public var isSingleMode: Bool { self == .sm }

    /// The wavelengths a recipe tests when it names none: SM 1310/1550 nm, MM 850/1300 nm.
    public var defaultWavelengthsNm: [Int] { isSingleMode ? [1310, 1550] : [850, 1300] }
}

/// The end-face polish: angled (APC) or flat (UPC, PC); it sets the RL that can be expected.
public enum Polish: String, Codable, Sendable, CaseIterable {
    case apc = "APC"
    case upc = "UPC"
    case pc = "PC"
}

/// An MPO connector with guide pins (pinned, "male") or without (unpinned, "female").
public enum Gender: String, Codable, Sendable, CaseIterable {
    case pinned
    case unpinned
}

/// A trunk (MPO to MPO) or a fan-out (MPO to single-fiber legs).
public enum AssemblyKind: String, Codable, Sendable, CaseIterable {
    /// MPO to MPO.
    case trunk
    /// MPO to N simplex legs labelled 1..N.
    case fanout
}

/// An end of the assembly: A is the launch side, B the receive side.
public enum End: String, Codable, Sendable, CaseIterable {
    case a = "A"
    case b = "B"
}

/// The position layout of one MPO ferrule for a given fiber count.
public struct MPOLayout: Sendable, Hashable, Codable {
    public static let supportedFiberCounts = [8, 12, 16, 24, 32]

    public let fiberCount: Int
    public let positionsPerRow: Int
    public let rows: Int
    /// End-A positions that carry fiber, ascending.
    public let usedPositions: [Int]

    public init(fiberCount: Int) throws(DomainError) {
        switch fiberCount {
        case 8:  // Base-8 (SR4/DR4 style) in a 12-position ferrule: 1-4 and 9-12.
            positionsPerRow = 12; rows = 1; usedPositions = [1, 2, 3, 4, 9, 10, 11, 12]
        case 12:
            positionsPerRow = 12; rows = 1; usedPositions = Array(1...12)
        case 16:
            positionsPerRow = 16; rows = 1; usedPositions = Array(1...16)
        case 24:
            positionsPerRow = 12; rows = 2; usedPositions = Array(1...24)
        case 32:
            positionsPerRow = 16; rows = 2; usedPositions = Array(1...32)
        default:
            throw DomainError("unsupported fiber count \(fiberCount)",
                              fix: "use one of \(Self.supportedFiberCounts.map(String.init).joined(separator: ", "))")
        }
        self.fiberCount = fiberCount
    }

    public var positionCount: Int { positionsPerRow * rows }
    public var allPositions: [Int] { Array(1...positionCount) }
    /// Positions that exist in the ferrule but carry no fiber (Base-8: 5-8). Reported as `unused`.
    public var unusedPositions: [Int] { allPositions.filter { !usedPositions.contains($0) } }

    /// Row index starting at 0.
    public func row(of position: Int) -> Int { (position - 1) / positionsPerRow }

    /// Physical neighbours: same row, positions one apart, both carrying fiber.
    public func areAdjacent(_ a: Int, _ b: Int) -> Bool {
        abs(a - b) == 1 && row(of: a) == row(of: b)
            && usedPositions.contains(a) && usedPositions.contains(b)
    }
}

/// One end's connector: its type, polish and gender.
public struct ConnectorEnd: Sendable, Hashable, Codable {
    public var connector: String
    public var polish: Polish
    public var gender: Gender?

    public init(connector: String, polish: Polish, gender: Gender? = nil) {
        self.connector = connector
        self.polish = polish
        self.gender = gender
    }
}

/// What is being built: the fiber layout, kind, ends, fiber type and polarity.
public struct AssemblySpec: Sendable, Hashable, Codable {
    public var layout: MPOLayout
    public var kind: AssemblyKind
    public var fiberType: FiberType
    public var endA: ConnectorEnd
    public var endB: ConnectorEnd
    public var lengthM: Double?
    /// How far the measured length may be from `lengthM` (judged where an instrument measures length).
    public var lengthToleranceM: Double?
    public var polarity: PolaritySpec

    public init(layout: MPOLayout, kind: AssemblyKind, fiberType: FiberType, endA: ConnectorEnd,
                endB: ConnectorEnd, lengthM: Double?, polarity: PolaritySpec, lengthToleranceM: Double? = nil) {
        self.lengthToleranceM = lengthToleranceM
        self.layout = layout
        self.kind = kind
        self.fiberType = fiberType
        self.endA = endA
        self.endB = endB
        self.lengthM = lengthM
        self.polarity = polarity
    }

    public var fiberCount: Int { layout.fiberCount }

    /// Receive-side positions: end-B ferrule positions for a trunk, legs 1..N for a fan-out.
    public var receivePositions: [Int] {
        switch kind {
        case .trunk: return layout.allPositions
        case .fanout: return Array(1...layout.fiberCount)
        }
    }

    /// The map every fiber must follow: the standard map for the type, or the recipe's own.
    public func expectedMap() -> PolarityMap {
        switch polarity {
        case .standard(let type): return PolarityMap.standard(type, layout: layout, kind: kind)
        case .explicit(let map): return map
        }
    }
}

/// A domain rule was broken. `fix` says what to do about it.
public struct DomainError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var fix: String?

    public init(_ message: String, fix: String? = nil) {
        self.message = message
        self.fix = fix
    }

    public var description: String { fix.map { "\(message); fix: \($0)" } ?? message }
}
