// Polarity (TIA-568): where the light launched into end-A position p arrives at end B.

/// The TIA-568 polarity methods, or an explicit map.
public enum PolarityType: String, Codable, Sendable, CaseIterable {
    /// Straight, key-up to key-down: p -> p.
    case a = "A"
    /// Reversed, key-up to key-up: p -> N+1-p (mirrored within each row).
    case b = "B"
    /// Pair-flipped, key-up to key-down: 1->2, 2->1, 3->4, 4->3 ...
    case c = "C"
}

/// A recipe's polarity: a standard type or a map of launch position to receive position.
public enum PolaritySpec: Sendable, Hashable, Codable {
    case standard(PolarityType)
    /// A recipe's own map (conversion harnesses, or a multi-row convention other than ours).
    case explicit(PolarityMap)

    public var standardType: PolarityType? {
        if case .standard(let t) = self { return t }
        return nil
    }
}

/// A map from end-A positions to receive positions (end-B positions, or legs for a fan-out).
public struct PolarityMap: Sendable, Hashable, Codable {
    public private(set) var pairs: [Int: Int]

    public init(_ pairs: [Int: Int]) { self.pairs = pairs }

    public subscript(position: Int) -> Int? { pairs[position] }
    public var launchPositions: [Int] { pairs.keys.sorted() }

    /// The map read backwards: receive position -> end-A position. Nil if two fibers share a destination.
    public var inverse: PolarityMap? {
        var inv: [Int: Int] = [:]
        for (a, b) in pairs {
            if inv[b] != nil { return nil }
            inv[b] = a
        }
        return PolarityMap(inv)
    }

    /// The built-in map for a standard type.
    ///
    /// Trunks map used positions within one ferrule layout. Type B mirrors within each row
    /// and keeps the row (1->12, 13->24 for MPO-24; 1->16, 17->32 for MPO-32).
    /// UNCONFIRMED: the two-row Type B convention is the common industry practice but was not
    /// confirmed from the text of TIA-568; a recipe overrides it with `polarityMap`.
    ///
    /// Fan-outs map the i-th used position to leg i (A), leg N+1-i (B) or the pair-flipped leg (C).
    public static func standard(_ type: PolarityType, layout: MPOLayout, kind: AssemblyKind) -> PolarityMap {
        let used = layout.usedPositions
        var pairs: [Int: Int] = [:]
        switch kind {
        case .trunk:
            for p in used {
                switch type {
                case .a:
                    pairs[p] = p
                case .b:
                    let row = layout.row(of: p)
                    let first = row * layout.positionsPerRow + 1
                    let last = first + layout.positionsPerRow - 1
                    pairs[p] = first + last - p
                case .c:
                    let i = used.firstIndex(of: p)!
                    pairs[p] = used[i.isMultiple(of: 2) ? i + 1 : i - 1]
                }
            }
        case .fanout:
            let n = used.count
            for (i, p) in used.enumerated() {
                let leg = i + 1
                switch type {
                case .a: pairs[p] = leg
                case .b: pairs[p] = n + 1 - leg
                case .c: pairs[p] = leg.isMultiple(of: 2) ? leg - 1 : leg + 1
                }
            }
        }
        return PolarityMap(pairs)
    }

    /// Which standard type (if any) this map is, for the given layout and kind.
    public func standardType(layout: MPOLayout, kind: AssemblyKind) -> PolarityType? {
        PolarityType.allCases.first { PolarityMap.standard($0, layout: layout, kind: kind) == self }
    }

    /// Check that this map is usable for a layout: every used position mapped, every
    /// destination a real receive position, no two fibers to one destination.
    public func validate(layout: MPOLayout, receivePositions: [Int]) throws(DomainError) {
        let used = Set(layout.usedPositions)
        let keys = Set(pairs.keys)
        if let missing = used.subtracting(keys).min() {
            throw DomainError("position \(missing) carries fiber but has no destination in the map",
                              fix: "map every used position: \(layout.usedPositions.map(String.init).joined(separator: ","))")
        }
        if let extra = keys.subtracting(used).min() {
            throw DomainError("position \(extra) is not a used position of a \(layout.fiberCount)-fiber ferrule",
                              fix: "map only the used positions")
        }
        let allowed = Set(receivePositions)
        for (a, b) in pairs.sorted(by: { $0.key < $1.key }) where !allowed.contains(b) {
            throw DomainError("position \(a) maps to \(b), which is not a receive position (1...\(receivePositions.max() ?? 0))",
                              fix: "use receive positions 1...\(receivePositions.max() ?? 0)")
        }
        if inverse == nil {
            throw DomainError("two fibers map to the same receive position", fix: "each destination may appear once")
        }
    }

    // Encoded as a list of {from, to} so that JSON keys stay strings and order stays stable.
    private struct Pair: Codable { var from: Int; var to: Int }

    public init(from decoder: any Decoder) throws {
        let list = try decoder.singleValueContainer().decode([Pair].self)
        pairs = Dictionary(list.map { ($0.from, $0.to) }, uniquingKeysWith: { a, _ in a })
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(launchPositions.map { Pair(from: $0, to: pairs[$0]!) })
    }
}
