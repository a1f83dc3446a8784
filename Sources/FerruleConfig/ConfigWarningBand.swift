import FerruleCore

extension StationConfig {
    /// `0.35` for every wavelength, or `{ 1310: 0.35, 1550: 0.40 }` naming each one.
    static func perWavelength(_ e: PerKeyLimit, _ wls: [Int], _ p: ConfigPath) throws -> [Int: Double] {
        var out: [Int: Double] = [:]
        switch e {
        case .all(let v): for wl in wls { out[wl] = v }
        case .each(let m):
            for (k, v) in m {
                guard let wl = Int(k), wls.contains(wl) else {
                    throw ConfigIssue(
                        path: p.key(k), message: "'\(k)' is not one of the recipe's wavelengths \(wls)",
                        fix: "key the limits by the wavelengths tested")
                }
                out[wl] = v
            }
            if let missing = wls.first(where: { out[$0] == nil }) {
                throw ConfigIssue(path: p, message: "no value for \(missing) nm", fix: "add '\(missing): <dB>'")
            }
        }
        return out
    }

    /// `limits.ilWarnDb` and `limits.rlWarnDb`: each inside its limit (IL warn below the IL max,
    /// RL warn above the RL min at the same end), and an RL band only where RL is judged.
    static func warningBand(_ e: LimitsEntry, _ wls: [Int], into limits: inout Limits, _ p: ConfigPath) throws {
        if let w = e.ilWarnDb {
            let warn = try perWavelength(w, wls, p.key("ilWarnDb"))
            for wl in wls.sorted() {
                guard let v = warn[wl], let max = limits.ilMaxDb[wl], v > 0, v < max else {
                    throw ConfigIssue(
                        path: p.key("ilWarnDb"), message: "the IL warning at \(wl) nm (\(warn[wl] ?? 0) dB) is not between 0 and "
                            + "its limit \(limits.ilMaxDb[wl] ?? 0) dB",
                        fix: "give where the warning band starts, below ilMaxDb, e.g. 0.30 for a 0.35 dB limit")
                }
            }
            limits.ilWarnDb = warn
        }
        guard let w = e.rlWarnDb else { return }
        let (a, b) = try returnLossLimits(w, p.key("rlWarnDb"))
        for (end, warn, min) in [("A", a, limits.rlMinDb), ("B", b, limits.rlMinDbB)] {
            guard let warn else { continue }
            guard let min, warn > min else {
                throw ConfigIssue(
                    path: p.key("rlWarnDb"),
                    message: min.map { "the RL warning at end \(end) (\(warn) dB) is not above its limit \($0) dB" }
                        ?? "an RL warning at end \(end) where the recipe judges no RL",
                    fix: "give where the warning band starts, above rlMinDb at that end, e.g. 62 for a 60 dB limit")
            }
        }
        limits.rlWarnDb = a
        limits.rlWarnDbB = b
    }
}
