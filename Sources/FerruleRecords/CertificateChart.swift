import FerruleCore
import Foundation

/// The certificate's chart as inline SVG, so the certificate stays one file. Numbers only: it
/// carries no text from the record that would need escaping.
enum CertificateChart {
    static let palette = ["#1f5fa8", "#c7711d", "#2e8b57", "#7a3e9d"]

    /// Bars of IL per fiber, one colour per wavelength, the limit as a dashed line, failed
    /// values outlined in red. Inline SVG, so the certificate stays one file.
    static func svg(_ r: UnitReport) -> String {
        let fibers = Array(Set(r.measurements.map(\.fiber))).sorted()
        let wls = r.wavelengthsNm
        guard !fibers.isEmpty else { return "<p class=\"small\">No fiber was measured.</p>" }
        let limits = r.limits.il.map(\.ilMaxDb).filter(\.isFinite)
        let top = max((limits.max() ?? 0.5) * 1.25, (r.measurements.compactMap(\.ilDb).max() ?? 0) * 1.1, 0.1)
        let w = 680.0
        let h = 230.0
        let left = 44.0
        let bottom = 30.0
        let topPad = 10.0
        let plotW = w - left - 10
        let plotH = h - bottom - topPad
        func y(_ v: Double) -> Double { topPad + plotH * (1 - min(max(v, 0), top) / top) }
        let slot = plotW / Double(fibers.count)
        let barW = max(1.5, slot * 0.8 / Double(max(wls.count, 1)))
        var s =
            """
            <svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" role=\"img\" aria-label=\"Insertion loss \
            per fiber\" font-size=\"9\" font-family=\"sans-serif\">\n
            """
        // Axis and grid.
        for i in 0...4 {
            let v = top * Double(i) / 4
            s += "<line x1=\"\(left)\" x2=\"\(w - 10)\" y1=\"\(fmt(y(v)))\" y2=\"\(fmt(y(v)))\" stroke=\"#ddd\"/>"
            s += "<text x=\"\(left - 4)\" y=\"\(fmt(y(v) + 3))\" text-anchor=\"end\">\(num(v, 2))</text>\n"
        }
        s +=
            """
            <text x=\"10\" y=\"\(fmt(topPad + plotH / 2))\" transform=\"rotate(-90 10 \(fmt(topPad + plotH / 2)))\" \
            text-anchor=\"middle\">IL (dB)</text>\n
            """
        let byKey = Dictionary(grouping: r.measurements) { "\($0.fiber)|\($0.wavelengthNm)" }
        for (fi, f) in fibers.enumerated() {
            let x0 = left + Double(fi) * slot + slot * 0.1
            for (wi, wl) in wls.enumerated() {
                guard let m = byKey["\(f)|\(wl)"]?.first, let il = m.ilDb else { continue }
                let x = x0 + Double(wi) * barW
                let fail = m.verdict != .pass
                s +=
                    """
                    <rect x=\"\(fmt(x))\" y=\"\(fmt(y(il)))\" width=\"\(fmt(barW * 0.9))\" height=\"\(fmt(max(0.5, y(0) - y(il))))\" \
                    fill=\"\(palette[wi % palette.count])\"
                    """
                    + (fail ? " stroke=\"#d00\" stroke-width=\"1.5\"" : "") + "><title>fiber \(f), \(wl) nm: \(num(il)) dB</title></rect>\n"
            }
            if fibers.count <= 48 || fi % 2 == 0 {
                s +=
                    """
                    <text x=\"\(fmt(left + (Double(fi) + 0.5) * slot))\" y=\"\(fmt(h - bottom + 12))\" \
                    text-anchor=\"middle\">\(f)</text>\n
                    """
            }
        }
        for (wi, l) in r.limits.il.enumerated() where l.ilMaxDb.isFinite {
            s +=
                """
                <line x1=\"\(left)\" x2=\"\(w - 10)\" y1=\"\(fmt(y(l.ilMaxDb)))\" y2=\"\(fmt(y(l.ilMaxDb)))\" \
                stroke=\"\(palette[wi % palette.count])\" stroke-dasharray=\"5 3\"/>\n
                """
        }
        s += "<text x=\"\(fmt(left + plotW / 2))\" y=\"\(fmt(h - 4))\" text-anchor=\"middle\">fiber (end A position)</text>\n"
        for (wi, wl) in wls.enumerated() {
            let lx = left + 8 + Double(wi) * 120
            s +=
                """
                <rect x=\"\(fmt(lx))\" y=\"\(fmt(topPad))\" width=\"9\" height=\"9\" fill=\"\(palette[wi % palette.count])\"/><text \
                x=\"\(fmt(lx + 13))\" y=\"\(fmt(topPad + 8))\">\(wl) nm (limit dashed)</text>\n
                """
        }
        return s + "</svg>"
    }

    static func fmt(_ v: Double) -> String { num(v, 1) }
}
