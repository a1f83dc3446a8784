/// Where to look first for a fiber's light, learned from where the unit's earlier fibers arrived.
///
/// A unit built as another polarity type, or with its fibers shifted by some positions, sends
/// every fiber somewhere the recipe does not expect. Searching each fiber from the recipe's
/// position would pay for that on every fiber; once a fiber has arrived where another rule puts
/// it (a standard type, or a constant offset from the recipe's position), the next fiber is
/// looked for there first, so only the first fiber pays for the search.
public struct ArrivalPredictor: Sendable {
    /// A rule that says where each fiber arrives.
    public enum Rule: Sendable, Hashable {
        /// The recipe's map.
        case recipe
        /// A standard polarity type's map for the assembly's layout and kind.
        case standard(PolarityType)
        /// The recipe's position shifted by this many positions.
        case offset(Int)
    }

    private let expected: PolarityMap
    private let standards: [(PolarityType, PolarityMap)]
    /// The rule that explained the latest lit fiber.
    public private(set) var rule: Rule = .recipe

    public init(expected: PolarityMap, layout: MPOLayout, kind: AssemblyKind) {
        self.expected = expected
        standards = PolarityType.allCases.map { ($0, PolarityMap.standard($0, layout: layout, kind: kind)) }
    }

    func position(_ fiber: Int, under rule: Rule) -> Int? {
        switch rule {
        case .recipe: return expected[fiber]
        case .standard(let t): return standards.first { $0.0 == t }?.1[fiber]
        case .offset(let d): return expected[fiber].map { $0 + d }
        }
    }

    /// The receive positions to try for `fiber`, best first: where the learned rule puts it, the
    /// recipe's position, where the standard types put it, then every other position in `positions`.
    public func candidates(_ fiber: Int, positions: [Int]) -> [Int] {
        var order: [Int] = []
        let guesses = [position(fiber, under: rule), expected[fiber]] + standards.map { $0.1[fiber] }
        for q in guesses.compactMap({ $0 }) + positions where positions.contains(q) && !order.contains(q) {
            order.append(q)
        }
        return order
    }

    /// Learns from a fiber whose light arrived at `arrival`: keeps the current rule if it
    /// predicted it, else takes the first rule that does (recipe, a standard type, an offset).
    public mutating func observe(fiber: Int, arrival: Int) {
        if position(fiber, under: rule) == arrival { return }
        let rules: [Rule] =
            [.recipe] + standards.map { .standard($0.0) } + [expected[fiber].map { .offset(arrival - $0) }].compactMap { $0 }
        if let r = rules.first(where: { position(fiber, under: $0) == arrival }) { rule = r }
    }
}
