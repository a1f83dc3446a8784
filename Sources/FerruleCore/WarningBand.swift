/// The recipe's warning band (`limits.ilWarnDb`, `rlWarnDb`): readings that pass but lie close to
/// the limit. The unit still passes; the operator sees the warning, the report carries it, and
/// yield counts such units apart, so a quality engineer sees a process drifting toward its limit
/// before units fail.
public enum WarningBand {
    /// One line per kind of reading in the band, with the fibers and wavelengths it was seen at.
    public static func summary(_ measurements: [Measurement]) -> [String] {
        var il: [Int: Set<Int>] = [:]
        var rl: [String: Set<Int>] = [:]
        for m in measurements {
            for w in m.warnings ?? [] {
                if w.hasPrefix("IL") { il[m.wavelengthNm, default: []].insert(m.fiber) }
                if w.hasPrefix("RL"), let end = w.range(of: "at end ").map({ String(w[$0.upperBound...].prefix(1)) }) {
                    rl[end, default: []].insert(m.fiber)
                }
            }
        }
        let ils = il.keys.sorted().map { wl in "IL in the warning band at \(wl) nm on fibers \(Judge.list(il[wl]!.sorted()))" }
        let rls = rl.keys.sorted().map { end in "RL in the warning band at end \(end) on fibers \(Judge.list(rl[end]!.sorted()))" }
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
