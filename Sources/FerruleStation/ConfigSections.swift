import FerruleCore
import FerruleDevices
import FerruleSimSpec
import Foundation
import Yams

// Validation of the config sections added for references by cord, both-end RL, meter floors,
// Keysight modules and scoped simulator faults. Each throws a `ConfigIssue` naming the key and the fix.
extension StationConfig {
    static let maxConfigBytes = 1 << 20
    static let maxConfigNodes = 200_000

    /// How many nodes `node` expands to, counting shared (aliased) nodes every time they are
    /// used; stops counting past `limit`.
    static func expandedNodeCount(_ node: Node, limit: Int) -> Int {
        var count = 0
        var stack = [node]
        while let n = stack.popLast() {
            count += 1
            if count > limit { return count }
            switch n {
            case .mapping(let m): for (k, v) in m { stack.append(k); stack.append(v) }
            case .sequence(let s): stack.append(contentsOf: s)
            default: break
            }
        }
        return count
    }

    /// Quoted mapping keys read like plain ones: `'1': 2` (what PyYAML writes) is the key 1.
    /// Yams looks keys up by value and tag, and a quoted '1' is a string where a plain 1 is not.
    static func plainScalarKeys(_ node: Node) -> Node {
        switch node {
        case .mapping(let m):
            let pairs = m.map { (k, v) -> (Node, Node) in
                guard case .scalar(var s) = k, s.style == .singleQuoted || s.style == .doubleQuoted else { return (k, plainScalarKeys(v)) }
                s.style = .plain
                s.string = s.string  // resets the tag to implicit, as a plain key has
                return (.scalar(s), plainScalarKeys(v))
            }
            return .mapping(Node.Mapping(pairs, m.tag, m.style, m.mark))
        case .sequence(let seq):
            return .sequence(Node.Sequence(seq.map(plainScalarKeys), seq.tag, seq.style, seq.mark))
        default:
            return node
        }
    }

    /// `polarityMap: {1: 12, 2: 11, ...}` keyed by end-A position.
    static func polarityMap(_ m: [String: Int], layout: MPOLayout, receivePositions: [Int], _ p: ConfigPath) throws -> PolarityMap {
        var pairs: [Int: Int] = [:]
        for (k, v) in m {
            guard let from = Int(k.trimmingCharacters(in: .whitespaces)) else {
                throw ConfigIssue(path: p.key(k), message: "'\(k)' is not a position number", fix: "key the map by end-A position numbers")
            }
            pairs[from] = v
        }
        let map = PolarityMap(pairs)
        do { try map.validate(layout: layout, receivePositions: receivePositions) } catch {
            throw ConfigIssue(path: p, message: error.message, fix: error.fix ?? "")
        }
        return map
    }

    /// `rlMinDb: 60` (both ends) or `{ A: 60, B: 45 }`.
    static func returnLossLimits(_ e: PerKeyLimit?, _ p: ConfigPath) throws -> (Double?, Double?) {
        func check(_ v: Double, _ at: ConfigPath) throws -> Double {
            guard v > 0, v <= 90 else { throw ConfigIssue(path: at, message: "RL min \(v) dB is not in (0, 90]",
                fix: "give the RL limit in dB, e.g. 60 for SM APC") }
            return v
        }
        switch e {
        case nil: return (nil, nil)
        case .all(let v): let x = try check(v, p); return (x, x)
        case .each(let m):
            if let bad = m.keys.first(where: { !["A", "B"].contains($0.uppercased()) }) {
                throw ConfigIssue(path: p.key(bad), message: "'\(bad)' is not an end", fix: "key the RL limits by end: { A: 60, B: 45 }")
            }
            let a = try m.first { $0.key.uppercased() == "A" }.map { try check($0.value, p.key($0.key)) }
            let b = try m.first { $0.key.uppercased() == "B" }.map { try check($0.value, p.key($0.key)) }
            return (a, b)
        }
    }

    /// A recipe that judges RL needs an RL meter on every fixture that can test it.
    static func checkReturnLossMeters(_ recipe: Recipe, fixtures: [FixtureWiring], _ p: ConfigPath) throws {
        guard recipe.limits.judgesReturnLoss else { return }
        for w in fixtures where w.cannotTest(recipe.assembly) == nil && w.rlMeter == nil {
            throw ConfigIssue(path: p.key("limits").key("rlMinDb"),
                              message: "recipe \(recipe.partNumber) judges RL, but fixture \(w.id) (which can test it) has no RL meter",
                              fix: "add 'rlMeter: NAME' to fixture \(w.id), or remove rlMinDb from \(recipe.partNumber)")
        }
    }

    /// `noLightFloorDbm` for any power meter; `source`/`powerMeter` module slots for a Keysight 816x.
    static func meterSettings(_ e: InstrumentEntry, driver: DriverKind, into spec: inout InstrumentSpec, _ p: ConfigPath) throws {
        if let floor = e.noLightFloorDbm {
            guard driver.isPowerMeter else {
                throw ConfigIssue(path: p.key("noLightFloorDbm"),
                    message: "'noLightFloorDbm' is for power meters, not \(driver.rawValue)", fix: "remove it")
            }
            guard (-120 ... -30).contains(floor) else {
                throw ConfigIssue(path: p.key("noLightFloorDbm"), message: "a no-light floor of \(floor) dBm is not in -120...-30 dBm",
                                  fix: "give the meter's lowest trustworthy power, e.g. -80")
            }
            spec.noLightFloorDbm = floor
        }
        guard driver == .keysight816x else {
            for (key, present) in [("source", e.source != nil), ("powerMeter", e.powerMeter != nil)] where present {
                throw ConfigIssue(path: p.key(key), message: "'\(key)' module slots are for keysight-816x, not \(driver.rawValue)",
                    fix: "remove it")
            }
            return
        }
        var slots = Keysight816x.Slots()
        if let s = e.source {
            guard (0...17).contains(s.slot) else {
                throw ConfigIssue(path: p.key("source").key("slot"), message: "slot \(s.slot) is not a mainframe slot",
                    fix: "use 0 (the 8164B's built-in laser) to 17")
            }
            slots.sourceSlot = s.slot
        }
        if let m = e.powerMeter {
            let mp = p.key("powerMeter")
            if let n = m.slot {
                guard (1...17).contains(n) else { throw ConfigIssue(path: mp.key("slot"), message: "slot \(n) is not a module slot",
                    fix: "use 1 to 17") }
                slots.meterSlot = n
            }
            if let c = m.channel {
                guard (1...4).contains(c) else { throw ConfigIssue(path: mp.key("channel"),
                    message: "channel \(c) is not a sensor channel", fix: "use 1 or 2") }
                slots.meterChannel = c
            }
            if let t = m.averagingTime {
                let s = try duration(t, mp.key("averagingTime"))
                guard s >= 0.0001, s <= 10 else {
                    throw ConfigIssue(path: mp.key("averagingTime"), message: "averaging time \(t) is not in 100us...10s",
                        fix: "use e.g. 100ms")
                }
                slots.averagingTime = s
            }
            if slots.sourceSlot == slots.meterSlot {
                throw ConfigIssue(path: mp.key("slot"), message: "the power meter and the source are both in slot \(slots.meterSlot)",
                                  fix: "give each module its own slot")
            }
        }
        spec.keysight = slots
    }

    /// `fault: noReply` or `fault: { kind: noReply, command: "READ:RL?", fiber: 9 }`.
    static func simulatedFault(_ e: FaultEntry, _ p: ConfigPath) throws -> (WireFault, FaultScope) {
        switch e {
        case .kind(let k): return (try oneOf(k, WireFault.self, p, what: "simulated fault"), FaultScope())
        case .scoped(let f):
            let kind = try oneOf(f.kind, WireFault.self, p.key("kind"), what: "simulated fault")
            if let n = f.fiber, !(1...72).contains(n) {
                throw ConfigIssue(path: p.key("fiber"), message: "fiber \(n) is not an MPO position", fix: "give a launch position 1...72")
            }
            if let c = f.command, c.trimmingCharacters(in: .whitespaces).isEmpty {
                throw ConfigIssue(path: p.key("command"), message: "the command is empty", fix: "give the command's header, e.g. READ:RL?")
            }
            return (kind, FaultScope(command: f.command, fiber: f.fiber))
        }
    }

    /// A number within its range, or an error that gives the range.
    static func within(_ v: Double, _ range: ClosedRange<Double>, _ p: ConfigPath, _ unit: String) throws -> Double {
        guard v.isFinite, range.contains(v) else {
            throw ConfigIssue(path: p, message: "\(v) \(unit) is outside \(range.lowerBound)...\(range.upperBound) \(unit)",
                              fix: "give a value from \(range.lowerBound) to \(range.upperBound) \(unit)")
        }
        return v
    }

    static func cordId(_ id: String, _ p: ConfigPath) throws {
        guard !id.isEmpty, id.count <= 64, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw ConfigIssue(path: p, message: "cord id '\(Escaped.text(id))' is not 1-64 letters, digits, '-', '_' or '.'",
                              fix: "use the id printed on the cord's label, e.g. RC-B-004")
        }
    }

    static func wear(max: Int?, warn: Int?, _ p: ConfigPath) throws -> CordWear {
        let w = CordWear(maxMatings: max ?? 1000, warnMatings: warn)
        guard (1...1_000_000).contains(w.maxMatings) else {
            throw ConfigIssue(path: p.key("maxMatings"), message: "\(w.maxMatings) matings is not in 1...1000000",
                fix: "MTP connectors are rated about 1000")
        }
        guard (0...w.maxMatings).contains(w.warnMatings) else {
            throw ConfigIssue(path: p.key("warnMatings"),
                message: "a warning at \(w.warnMatings) matings is not within 0...\(w.maxMatings)",
                              fix: "warn before the limit, e.g. at 900 of 1000")
        }
        return w
    }

    static func testCords(_ e: TestCordsEntry?, _ p: ConfigPath) throws -> TestCords {
        guard let e else { return TestCords() }
        func cord(_ c: TestCordEntry?, _ cp: ConfigPath) throws -> TestCords.Cord? {
            guard let c else { return nil }
            try cordId(c.id, cp.key("id"))
            return TestCords.Cord(id: c.id, wear: try wear(max: c.maxMatings, warn: c.warnMatings, cp))
        }
        return TestCords(launch: try cord(e.launch, p.key("launch")), receive: try cord(e.receive, p.key("receive")))
    }

    /// The reference cords; none configured means one straight cord as wide as the widest fixture.
    static func referenceCords(_ entries: [ReferenceCordEntry]?, fixtures: [FixtureWiring], _ p: ConfigPath) throws -> [ReferenceCord] {
        guard let entries, !entries.isEmpty else {
            let width = fixtures.map { $0.launchCapacity }.max() ?? 12
            let fibers = MPOLayout.supportedFiberCounts.first { $0 >= width } ?? 32
            return [ReferenceCord(id: "straight-A", polarity: .standard(.a), fibers: fibers)]
        }
        var cords: [ReferenceCord] = []
        for (i, e) in entries.enumerated() {
            let cp = p.index(i)
            try cordId(e.id, cp.key("id"))
            if cords.contains(where: { $0.id == e.id }) || fixtures.contains(where: { $0.testCords.all.contains { $0.id == e.id } }) {
                throw ConfigIssue(path: cp.key("id"), message: "cord id '\(e.id)' is used twice", fix: "give every cord its own id")
            }
            let layout: MPOLayout
            do { layout = try MPOLayout(fiberCount: e.fibers) } catch {
                throw ConfigIssue(path: cp.key("fibers"), message: error.message, fix: error.fix ?? "")
            }
            let polarity: PolaritySpec
            switch (e.polarity, e.polarityMap) {
            case (let t?, nil): polarity = .standard(try oneOf(t, PolarityType.self, cp.key("polarity"), what: "polarity type"))
            case (nil, let m?): polarity = .explicit(try polarityMap(m, layout: layout, receivePositions: layout.allPositions,
                cp.key("polarityMap")))
            case (nil, nil): throw ConfigIssue(path: cp, message: "reference cord '\(e.id)' has no polarity",
                fix: "add 'polarity: A', 'B' or 'C', or a 'polarityMap'")
            case (_?, _?): throw ConfigIssue(path: cp.key("polarityMap"), message: "both 'polarity' and 'polarityMap' are given",
                fix: "keep one of them")
            }
            cords.append(ReferenceCord(id: e.id, polarity: polarity, fibers: e.fibers, wear: try wear(max: e.maxMatings,
                warn: e.warnMatings, cp)))
        }
        return cords
    }

    /// Every recipe must be coverable: on each fixture that can test it, the cords together cover every pair its map needs.
    static func checkCoverage(recipes: [Recipe], cords: [ReferenceCord], fixtures: [FixtureWiring], _ p: ConfigPath) throws {
        for (i, recipe) in recipes.enumerated() {
            let needed = recipe.assembly.expectedMap()
            for w in fixtures where w.cannotTest(recipe.assembly) == nil {
                let covered = cords.flatMap { w.cabled($0.map).map { "\($0.key)>\($0.value)" } }
                if let (a, b) = needed.pairs.sorted(by: { $0.key < $1.key }).first(where: { !covered.contains("\($0.key)>\($0.value)") }) {
                    let kind = recipe.assembly.polarity.standardType.map { "polarity \($0.rawValue)" } ?? "polarityMap of the recipe"
                    throw ConfigIssue(path: p.index(i).key("assembly"),
                                      message: "no reference cord covers the path \(a)->\(b) that \(recipe.partNumber) needs on "
                                          + "fixture \(w.id)",
                                      fix: "declare a reference cord with \(kind) and at least \(recipe.assembly.fiberCount) fibers "
                                          + "under 'referenceCords'")
                }
            }
        }
    }
}
