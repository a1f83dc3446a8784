import FerruleCore
import Foundation

// The `recipes:` and `diagnosis:` sections: assemblies, polarity, limits and reference policy.
extension StationConfig {
    /// `recipes:`: one per part number, each testable on some fixture at wavelengths a source has.
    static func recipesSection(
        _ entries: [RecipeEntry], instruments: [InstrumentSpec], fixtures: [FixtureWiring],
        _ path: ConfigPath
    ) throws -> (recipes: [String: Recipe], order: [String]) {
        var recipes: [String: Recipe] = [:]
        var order: [String] = []
        for (i, e) in entries.enumerated() {
            let p = path.index(i)
            let recipe = try validateRecipe(e, p)
            if recipes[recipe.partNumber] != nil {
                throw ConfigIssue(
                    path: p.key("partNumber"), message: "part number '\(recipe.partNumber)' has two recipes",
                    fix: "keep one recipe per part number")
            }
            for wl in recipe.wavelengthsNm
            where !fixtures.contains(where: { w in
                instruments.first { $0.name == w.source }?.wavelengthsNm.contains(wl) ?? false
            }) {
                throw ConfigIssue(
                    path: p.key("wavelengthsNm"), message: "no fixture's source has a \(wl) nm laser",
                    fix: "test at wavelengths the sources have, or add a source with \(wl) nm")
            }
            if fixtures.allSatisfy({ $0.cannotTest(recipe.assembly) != nil }) {
                let why = fixtures.compactMap { $0.cannotTest(recipe.assembly) }.first ?? ""
                throw ConfigIssue(
                    path: p.key("assembly"), message: "no fixture is cabled for this assembly (\(why))",
                    fix: "cable a fixture with enough launch and receive channels")
            }
            try checkReturnLossMeters(recipe, fixtures: fixtures, p)
            recipes[recipe.partNumber] = recipe
            order.append(recipe.partNumber)
        }
        return (recipes, order)
    }

    /// `diagnosis:`: the thresholds of the diagnosis rules.
    static func diagnosisSection(_ d: DiagnosisEntry?, _ path: ConfigPath) throws -> DiagnosisRules {
        var rules = DiagnosisRules()
        guard let d else { return rules }
        if let v = d.contaminationClusterMin {
            guard v >= 2 else {
                throw ConfigIssue(path: path.key("contaminationClusterMin"), message: "\(v) is below 2", fix: "use 2 or more")
            }
            rules.contaminationClusterMin = v
        }
        if let v = d.lightThresholdIlDb { rules.lightThresholdIlDb = v }
        if let v = d.rlDegradedDb { rules.rlDegradedDb = v }
        if let v = d.allDarkAfterFibers {
            guard (0...32).contains(v) else {
                throw ConfigIssue(path: path.key("allDarkAfterFibers"), message: "\(v) fibers is not within 0...32",
                                  fix: "give 2 (stop after two dark fibers), or 0 to scan every fiber")
            }
            rules.allDarkAfterFibers = v
        }
        return rules
    }

    static func validateRecipe(_ e: RecipeEntry, _ p: ConfigPath) throws -> Recipe {
        guard !e.partNumber.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ConfigIssue(path: p.key("partNumber"), message: "the part number is empty", fix: "give the part number")
        }
        let spec = try assemblySpec(e.assembly, p.key("assembly"))
        let fiberType = spec.fiberType

        let wls = e.wavelengthsNm ?? fiberType.defaultWavelengthsNm
        guard !wls.isEmpty, wls.allSatisfy({ (600...1700).contains($0) }), Set(wls).count == wls.count else {
            throw ConfigIssue(
                path: p.key("wavelengthsNm"), message: "wavelengths \(wls) are not distinct values in 600...1700 nm",
                fix: "list wavelengths such as [1310, 1550] (SM) or [850, 1300] (MM)")
        }
        let ilMax = try perWavelength(e.limits.ilMaxDb, wls, p.key("limits").key("ilMaxDb"))
        if let (wl, v) = ilMax.first(where: { $0.value <= 0 || $0.value > 30 }) {
            throw ConfigIssue(
                path: p.key("limits").key("ilMaxDb"), message: "IL max \(v) dB at \(wl) nm is not in (0, 30]",
                fix: "give the per-fiber IL limit in dB, e.g. 0.35")
        }
        if let v = e.limits.meanIlMaxDb, v <= 0 {
            throw ConfigIssue(
                path: p.key("limits").key("meanIlMaxDb"), message: "mean IL max \(v) dB is not positive",
                fix: "give a positive dB value or remove it")
        }
        var (rlA, rlB) = try returnLossLimits(e.limits.rlMinDb, p.key("limits").key("rlMinDb"))
        if let a = e.limits.rlMinDbA { rlA = try returnLossLimits(.all(a), p.key("limits").key("rlMinDbA")).0 }
        if let b = e.limits.rlMinDbB { rlB = try returnLossLimits(.all(b), p.key("limits").key("rlMinDbB")).1 }
        let r = e.reference
        let validity = try r?.validity.map { try duration($0, p.key("reference").key("validity"), within: 60...(31 * 86400)) } ?? 8 * 3600
        let tol = r?.negativeIlToleranceDb ?? (fiberType.isSingleMode ? 0.05 : 0.10)
        guard tol >= 0 else {
            throw ConfigIssue(
                path: p.key("reference").key("negativeIlToleranceDb"), message: "\(tol) is negative",
                fix: "give the tolerance as a positive dB value")
        }
        let method =
            try r?.method.map { try oneOf($0, ReferenceMethod.self, p.key("reference").key("method"), what: "reference method") }
            ?? .oneCord
        var limits = Limits(ilMaxDb: ilMax, meanIlMaxDb: e.limits.meanIlMaxDb, rlMinDb: rlA, rlMinDbB: rlB)
        try warningBand(e.limits, wls, into: &limits, p.key("limits"))
        var recipe = Recipe(
            partNumber: e.partNumber, description: e.description ?? e.partNumber, assembly: spec, wavelengthsNm: wls,
            limits: limits,
            reference: ReferencePolicy(validitySeconds: validity, negativeIlToleranceDb: tol, method: method),
            rlWindow: try e.rl.map { try returnLossWindow($0, p.key("rl")) })
        if let g = e.grade {
            guard g.meanIlMaxDb > 0, g.p97IlMaxDb >= g.meanIlMaxDb, g.p97IlMaxDb <= 30 else {
                throw ConfigIssue(
                    path: p.key("grade"), message: "mean \(g.meanIlMaxDb) dB and 97th percentile \(g.p97IlMaxDb) dB are not a grade",
                    fix: "give a positive mean and a 97th percentile at least as large, e.g. { meanIlMaxDb: 0.12, p97IlMaxDb: 0.25 }")
            }
            recipe.grade = GradeSpec(meanIlMaxDb: g.meanIlMaxDb, p97IlMaxDb: g.p97IlMaxDb)
        }
        return recipe
    }

    /// `rl:`: how an instrument that gates RL places its markers around each connector.
    static func returnLossWindow(_ e: ReturnLossWindowEntry, _ p: ConfigPath) throws -> ReturnLossWindow {
        let method = try oneOf(e.method, ReturnLossWindow.Method.self, p.key("method"), what: "RL method")
        let w = ReturnLossWindow(method: method, aOffsetM: e.aOffsetM ?? -0.5, bOffsetM: e.bOffsetM ?? 0.5)
        guard (-100...100).contains(w.aOffsetM), (-100...100).contains(w.bOffsetM), w.aOffsetM < w.bOffsetM else {
            throw ConfigIssue(
                path: p, message: "markers A at \(w.aOffsetM) m and B at \(w.bOffsetM) m are not a window",
                fix: "put marker A before marker B, within 100 m of the connector, e.g. aOffsetM: -0.5, bOffsetM: 0.5")
        }
        return w
    }

    /// `assembly:`: its MPO layout, kind, fiber type, both ends and polarity.
    static func assemblySpec(_ a: AssemblyEntry, _ ap: ConfigPath) throws -> AssemblySpec {
        let layout: MPOLayout
        do { layout = try MPOLayout(fiberCount: a.fibers) } catch {
            throw ConfigIssue(path: ap.key("fibers"), message: error.message, fix: error.fix ?? "")
        }
        let kind = try a.kind.map { try oneOf($0, AssemblyKind.self, ap.key("kind"), what: "assembly kind") } ?? .trunk
        let fiberType = try oneOf(a.fiberType, FiberType.self, ap.key("fiberType"), what: "fiber type")
        func end(_ x: EndEntry, _ ep: ConfigPath) throws -> ConnectorEnd {
            ConnectorEnd(
                connector: x.connector, polish: try oneOf(x.polish, Polish.self, ep.key("polish"), what: "polish"),
                gender: try x.gender.map { try oneOf($0, Gender.self, ep.key("gender"), what: "gender") })
        }
        let endA = try end(a.endA, ap.key("endA"))
        let endB = try end(a.endB, ap.key("endB"))
        let polarity: PolaritySpec
        switch (a.polarity, a.polarityMap) {
        case (let t?, nil):
            polarity = .standard(try oneOf(t, PolarityType.self, ap.key("polarity"), what: "polarity type"))
        case (nil, let m?):
            let receive = kind == .trunk ? layout.allPositions : Array(1...layout.fiberCount)
            polarity = .explicit(try polarityMap(m, layout: layout, receivePositions: receive, ap.key("polarityMap")))
        case (nil, nil):
            throw ConfigIssue(path: ap, message: "no polarity given", fix: "add 'polarity: A', 'B' or 'C', or an explicit 'polarityMap'")
        case (_?, _?):
            throw ConfigIssue(path: ap.key("polarityMap"), message: "both 'polarity' and 'polarityMap' are given", fix: "keep one of them")
        }
        if let l = a.lengthM, l <= 0 {
            throw ConfigIssue(path: ap.key("lengthM"), message: "length \(l) m is not positive", fix: "give the length in metres")
        }
        if let t = a.lengthToleranceM {
            guard a.lengthM != nil else {
                throw ConfigIssue(path: ap.key("lengthToleranceM"), message: "a length tolerance without a length",
                                  fix: "add 'lengthM: <metres>' or remove lengthToleranceM")
            }
            guard t > 0 else {
                throw ConfigIssue(path: ap.key("lengthToleranceM"), message: "length tolerance \(t) m is not positive",
                                  fix: "give the tolerance in metres, e.g. 0.1")
            }
        }
        return AssemblySpec(
            layout: layout, kind: kind, fiberType: fiberType, endA: endA, endB: endB, lengthM: a.lengthM, polarity: polarity,
            lengthToleranceM: a.lengthToleranceM)
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
            guard v > 0, v <= 90 else {
                throw ConfigIssue(
                    path: at, message: "RL min \(v) dB is not in (0, 90]",
                    fix: "give the RL limit in dB, e.g. 60 for SM APC")
            }
            return v
        }
        switch e {
        case nil: return (nil, nil)
        case .all(let v):
            let x = try check(v, p)
            return (x, x)
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
        for w in fixtures where w.cannotTest(recipe.assembly) == nil && w.rlMeter == nil && w.sequencer == nil {
            throw ConfigIssue(
                path: p.key("limits").key("rlMinDb"),
                message: "recipe \(recipe.partNumber) judges RL, but fixture \(w.id) (which can test it) has no RL meter",
                fix: "add 'rlMeter: NAME' to fixture \(w.id), or remove rlMinDb from \(recipe.partNumber)")
        }
    }
}
