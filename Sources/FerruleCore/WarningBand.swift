/// The recipe's warning band (`limits.ilWarnDb`, `rlWarnDb`): readings that pass but lie close to
/// the limit. The unit still passes; the operator sees the warning, the report carries it, and
/// yield counts such units apart, so a quality engineer sees a process drifting toward its limit
/// before units fail.
public enum WarningBand {
    /// One line per kind of reading in the band, with the fibers it was seen on: read from the
    /// values and the recipe's band, for the passing readings only.
    public static func summary(_ measurements: [Measurement], limits: Limits) -> [String] {
        var il: [Int: Set<Int>] = [:]
        var rl: [End: Set<Int>] = [:]
        for m in measurements where m.verdict == .pass {
            if let v = m.ilDb, let warn = limits.ilWarnDb?[m.wavelengthNm], v > warn { il[m.wavelengthNm, default: []].insert(m.fiber) }
            if let v = m.rlDb, let warn = limits.rlWarnDb, v < warn { rl[.a, default: []].insert(m.fiber) }
            if let v = m.rlBDb, let warn = limits.rlWarnDbB, v < warn { rl[.b, default: []].insert(m.fiber) }
        }
        let ils = il.keys.sorted().map { wl in "IL in the warning band at \(wl) nm on fibers \(Judge.list(il[wl, default: []].sorted()))" }
        let rls = [End.a, .b].compactMap { end in
            rl[end].map { "RL in the warning band at end \(end.rawValue) on fibers \(Judge.list($0.sorted()))" }
        }
        return ils + rls
    }
}

extension Measurement {
    /// A passing reading in the warning band: it still passes, and says so.
    mutating func warn(_ why: String) {
        guard verdict == .pass else { return }
        warnings = (warnings ?? []) + [why]
    }
}
