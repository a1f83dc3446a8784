import FerruleCore
import Foundation

// The `fixtures:` and `referenceCords:` sections: cabling, roles, test and reference cords.
extension StationConfig {
    /// `fixtures:`: each fixture's cabling to the switches (no channel shared between fixtures)
    /// and the instruments it uses, each able to take its role.
    static func fixturesSection(_ entries: [FixtureEntry], instruments: [InstrumentSpec], _ path: ConfigPath) throws -> [FixtureWiring] {
        guard !entries.isEmpty else {
            throw ConfigIssue(path: path, message: "no fixtures", fix: "add at least one fixture")
        }
        var fixtures: [FixtureWiring] = []
        var taken: [String: Int] = [:]  // "switch#channel" -> fixture
        for (i, e) in entries.enumerated() {
            let p = path.index(i)
            guard e.id >= 1 else {
                throw ConfigIssue(path: p.key("id"), message: "fixture id \(e.id) is not positive", fix: "number fixtures from 1")
            }
            if fixtures.contains(where: { $0.id == e.id }) {
                throw ConfigIssue(path: p.key("id"), message: "fixture id \(e.id) is used twice", fix: "give every fixture its own id")
            }
            if let sequencer = e.sequencer {
                fixtures.append(
                    try sequencedFixture(e, by: sequencer, instruments: instruments, taken: &taken, others: fixtures, p))
                continue
            }
            let launch = try cabling(e.launch, fixture: e.id, instruments: instruments, taken: &taken, p.key("launch"))
            let receive = try cabling(e.receive, fixture: e.id, instruments: instruments, taken: &taken, p.key("receive"))
            let source = try named(e.source, p, key: "source")
            let powerMeter = try named(e.powerMeter, p, key: "powerMeter")
            _ = try instrument(source, in: instruments, p.key("source"), role: .lightSource, alsoNeeds: \.canBeSource)
            _ = try instrument(powerMeter, in: instruments, p.key("powerMeter"), role: .powerMeter)
            if let rl = e.rlMeter { _ = try instrument(rl, in: instruments, p.key("rlMeter"), role: .rlMeter) }
            try checkIO(e.io, instruments: instruments, others: fixtures, p)
            fixtures.append(
                FixtureWiring(
                    id: e.id, launchSwitch: e.launch.switch ?? "", launchChannels: launch,
                    receiveSwitch: e.receive.switch ?? "", receiveChannels: receive,
                    source: source, powerMeter: powerMeter, rlMeter: e.rlMeter, io: e.io,
                    testCords: try testCords(e.testCords, p.key("testCords"))))
        }
        return fixtures
    }

    /// A fixture's I/O module: one that can be, and serves no other fixture.
    static func checkIO(_ io: String?, instruments: [InstrumentSpec], others: [FixtureWiring], _ p: ConfigPath) throws {
        guard let io else { return }
        _ = try instrument(io, in: instruments, p.key("io"), role: .fixtureIO)
        if let other = others.first(where: { $0.io == io }) {
            throw ConfigIssue(path: p.key("io"), message: "I/O module '\(io)' already serves fixture \(other.id)",
                              fix: "give each fixture its own I/O module")
        }
    }

    static func named(_ name: String?, _ p: ConfigPath, key: String) throws -> String {
        guard let name else {
            throw ConfigIssue(path: p, message: "missing required key '\(key)'",
                              fix: "add '\(key): NAME', or 'sequencer: NAME' for an instrument that measures the fixture itself")
        }
        return name
    }

    /// A fixture measured by one self-sequencing instrument: its SW1/SW2 channels, no other instrument but the I/O.
    static func sequencedFixture(
        _ e: FixtureEntry, by name: String, instruments: [InstrumentSpec], taken: inout [String: Int], others: [FixtureWiring],
        _ p: ConfigPath
    ) throws -> FixtureWiring {
        let ins = try instrument(name, in: instruments, p.key("sequencer"), role: .pathSetMeter)
        for (key, present) in [("source", e.source), ("powerMeter", e.powerMeter), ("rlMeter", e.rlMeter),
                               ("launch.switch", e.launch.switch), ("receive.switch", e.receive.switch)] where present != nil {
            throw ConfigIssue(path: p.key(key), message: "'\(key)' is given beside 'sequencer: \(name)', which is all of them",
                              fix: "remove '\(key)'")
        }
        let port = e.launchPort ?? 1
        guard port == 1 || port == 2 else {
            throw ConfigIssue(path: p.key("launchPort"), message: "launch port \(port) is not J1 or J2", fix: "use 1 or 2")
        }
        var sides: [[Int: Int]] = []
        for (side, entry) in [("launch", e.launch), ("receive", e.receive)] {
            var map: [Int: Int] = [:]
            for (k, ch) in try channels(entry.channels, p.key(side).key("channels")).enumerated() {
                let sw = side == "launch" ? "SW1" : "SW2"
                guard (1...(ins.channels ?? 0)).contains(ch) else {
                    throw ConfigIssue(path: p.key(side).key("channels"), message: "channel \(ch) is outside \(name)'s \(sw) "
                        + "(1...\(ins.channels ?? 0))", fix: "use channels 1...\(ins.channels ?? 0), or set 'channels' on \(name)")
                }
                if let other = taken["\(name)/\(sw)#\(ch)"] {
                    throw ConfigIssue(path: p.key(side).key("channels"),
                                      message: "channel \(ch) of \(name)'s \(sw) is already cabled to fixture \(other)",
                                      fix: "give each fixture its own channels")
                }
                taken["\(name)/\(sw)#\(ch)"] = e.id
                map[k + 1] = ch
            }
            sides.append(map)
        }
        try checkIO(e.io, instruments: instruments, others: others, p)
        return FixtureWiring.sequenced(
            id: e.id, instrument: name, launchPort: port, launchChannels: sides[0], receiveChannels: sides[1], io: e.io,
            testCords: try testCords(e.testCords, p.key("testCords")))
    }

    /// One side's switch channels by MPO position (position k on channel `map[k]`).
    static func cabling(
        _ port: PortEntry, fixture: Int, instruments: [InstrumentSpec], taken: inout [String: Int],
        _ p: ConfigPath
    ) throws -> [Int: Int] {
        let sw = try instrument(try named(port.switch, p, key: "switch"), in: instruments, p.key("switch"), role: .opticalSwitch)
        var map: [Int: Int] = [:]
        for (k, ch) in try channels(port.channels, p.key("channels")).enumerated() {
            guard ch >= 1, ch <= sw.channels ?? 0 else {
                throw ConfigIssue(
                    path: p.key("channels"), message: "channel \(ch) is outside switch '\(sw.name)' (1...\(sw.channels ?? 0))",
                    fix: "use channels 1...\(sw.channels ?? 0) or a larger switch")
            }
            if let other = taken["\(sw.name)#\(ch)"] {
                throw ConfigIssue(
                    path: p.key("channels"), message: "channel \(ch) of switch '\(sw.name)' is already cabled to fixture \(other)",
                    fix: "give each fixture its own channels")
            }
            taken["\(sw.name)#\(ch)"] = fixture
            map[k + 1] = ch
        }
        return map
    }

    /// The instrument a fixture names for a role, which must exist and whose driver must play the
    /// role (and pass `alsoNeeds`, where the driver alone does not decide: a mainframe's source slot).
    static func instrument(
        _ name: String, in instruments: [InstrumentSpec], _ p: ConfigPath, role: InstrumentRole,
        alsoNeeds: (InstrumentSpec) -> Bool = { _ in true }
    ) throws -> InstrumentSpec {
        guard let ins = instruments.first(where: { $0.name == name }) else {
            throw ConfigIssue(
                path: p, message: "no instrument named '\(name)'",
                fix: "use one of: \(instruments.map(\.name).joined(separator: ", "))")
        }
        guard ins.driver.can(role), alsoNeeds(ins) else {
            throw ConfigIssue(
                path: p, message: "instrument '\(name)' (driver \(ins.driver.name)) cannot act as \(role.rawValue)",
                fix: "name an instrument whose driver is a \(role.rawValue)")
        }
        return ins
    }

    static func cordId(_ id: String, _ p: ConfigPath) throws {
        guard !id.isEmpty, id.count <= 64, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw ConfigIssue(
                path: p, message: "cord id '\(Escaped.text(id))' is not 1-64 letters, digits, '-', '_' or '.'",
                fix: "use the id printed on the cord's label, e.g. RC-B-004")
        }
    }

    static func wear(max: Int?, warn: Int?, _ p: ConfigPath) throws -> CordWear {
        let w = CordWear(maxMatings: max ?? 1000, warnMatings: warn)
        guard (1...1_000_000).contains(w.maxMatings) else {
            throw ConfigIssue(
                path: p.key("maxMatings"), message: "\(w.maxMatings) matings is not in 1...1000000",
                fix: "MTP connectors are rated about 1000")
        }
        guard (0...w.maxMatings).contains(w.warnMatings) else {
            throw ConfigIssue(
                path: p.key("warnMatings"),
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
            case (nil, let m?):
                polarity = .explicit(
                    try polarityMap(
                        m, layout: layout, receivePositions: layout.allPositions,
                        cp.key("polarityMap")))
            case (nil, nil):
                throw ConfigIssue(
                    path: cp, message: "reference cord '\(e.id)' has no polarity",
                    fix: "add 'polarity: A', 'B' or 'C', or a 'polarityMap'")
            case (_?, _?):
                throw ConfigIssue(
                    path: cp.key("polarityMap"), message: "both 'polarity' and 'polarityMap' are given",
                    fix: "keep one of them")
            }
            cords.append(
                ReferenceCord(
                    id: e.id, polarity: polarity, fibers: e.fibers,
                    wear: try wear(
                        max: e.maxMatings,
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
                    throw ConfigIssue(
                        path: p.index(i).key("assembly"),
                        message: "no reference cord covers the path \(a)->\(b) that \(recipe.partNumber) needs on "
                            + "fixture \(w.id)",
                        fix: "declare a reference cord with \(kind) and at least \(recipe.assembly.fiberCount) fibers "
                            + "under 'referenceCords'")
                }
            }
        }
    }
}
