import FerruleCore
import Foundation

/// The test certificate that ships with the assembly: one self-contained HTML page (no scripts,
/// no external files) that prints on A4 and Letter alike: the content is at most 186 mm wide,
/// tables repeat their header on each page and rows never split.
enum Certificate {
    static let palette = ["#1f5fa8", "#c7711d", "#2e8b57", "#7a3e9d"]

    static func render(_ r: UnitReport) -> String {
        var h = head(r)
        h += reasons(r)
        h += "<h2>Insertion loss per fiber</h2>\n<div class=\"keep\">\(chart(r))</div>\n"
        h += measurementTables(r)
        h += polarityAndTraceability(r)
        return h
    }

    /// The page head, the verdict and the unit's identity, limits and test conditions.
    static func head(_ r: UnitReport) -> String {
        let e = escapeMarkup
        let verdictClass = r.verdict == .pass ? "pass" : "fail"
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>Test certificate \(e(r.unit.serial))</title>
            <style>
            @page { margin: 12mm; }
            * { box-sizing: border-box; }
            body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; font-size: 9pt; color: #111; max-width: 186mm; \
            margin: 0 auto; }
            h1 { font-size: 15pt; margin: 0 0 2mm 0; }
            h2 { font-size: 11pt; margin: 5mm 0 1.5mm 0; border-bottom: 0.3mm solid #888; }
            table { border-collapse: collapse; width: 100%; }
            thead { display: table-header-group; }
            tr, .keep { break-inside: avoid; page-break-inside: avoid; }
            th, td { border: 0.2mm solid #bbb; padding: 0.6mm 1.5mm; text-align: left; }
            td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
            .kv td:first-child { width: 38%; color: #444; }
            .verdict { font-size: 14pt; font-weight: bold; padding: 1mm 4mm; border: 0.6mm solid; display: inline-block; }
            .verdict.pass, .mark.pass { color: #176b2c; }
            .verdict.fail, .mark.fail { color: #a4161a; }
            .head { display: flex; justify-content: space-between; align-items: flex-start; gap: 4mm; }
            .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 4mm; }
            svg { width: 100%; height: auto; }
            .small { font-size: 7.5pt; color: #444; }
            @media print { a { color: inherit; text-decoration: none; } }
            </style>
            </head>
            <body>
            <div class="head keep">
            <div>
            <h1>Optical test certificate</h1>
            <div>\(e(r.unit.description))</div>
            <div class="small">Report \(e(r.reportId.uuidString.lowercased()))</div>
            </div>
            <div class="verdict \(verdictClass)">\(r.verdict.rawValue.uppercased())</div>
            </div>
            <div class="grid keep">
            <table class="kv"><tbody>
            <tr><td>Serial number</td><td><b>\(e(r.unit.serial))</b></td></tr>
            <tr><td>Part number</td><td>\(e(r.unit.partNumber))</td></tr>
            <tr><td>Assembly</td><td>\(r.assembly.fiberCount)-fiber \(e(r.assembly.kind.rawValue)), \(e(r.assembly.fiberType.rawValue)), \
            polarity \(e(r.assembly.polarity))\(r.assembly.lengthM.map { ", \(num($0, 1)) m" } ?? "")</td></tr>
            <tr><td>End A</td><td>\(e(endText(r.assembly.endA)))</td></tr>
            <tr><td>End B</td><td>\(e(endText(r.assembly.endB)))</td></tr>
            </tbody></table>
            <table class="kv"><tbody>
            <tr><td>Tested</td><td>\(e(iso(r.startedAt))) to \(e(iso(r.finishedAt)))</td></tr>
            <tr><td>Station / fixture</td><td>\(e(r.station.id)) / \(r.fixture)</td></tr>
            <tr><td>Operator</td><td>\(e(r.operator))</td></tr>
            <tr><td>Limits</td><td>\(e(limitsText(r)))</td></tr>
            <tr><td>Wavelengths</td><td>\(r.wavelengthsNm.map { "\($0) nm" }.joined(separator: ", "))</td></tr>
            </tbody></table>
            </div>

            """
    }

    /// Why a unit did not pass, and the diagnoses' actions.
    static func reasons(_ r: UnitReport) -> String {
        let e = escapeMarkup
        var h = ""
        if r.verdict != .pass, !r.reasons.isEmpty {
            h += "<h2>Why not pass</h2>\n<ul>\n" + r.reasons.map { "<li>\(e($0))</li>" }.joined(separator: "\n") + "\n</ul>\n"
            if !r.diagnoses.isEmpty {
                h +=
                    "<ul class=\"small\">\n" + r.diagnoses.map { "<li>\(e($0.message)) (\(e($0.action)))</li>" }.joined(separator: "\n")
                    + "\n</ul>\n"
            }
        }
        return h
    }

    /// One table per end and wavelength.
    static func measurementTables(_ r: UnitReport) -> String {
        let e = escapeMarkup
        var h = ""
        let groups = Dictionary(grouping: r.measurements) { "\($0.end.rawValue)|\($0.wavelengthNm)" }
        for end in End.allCases {
            for wl in r.wavelengthsNm {
                guard let ms = groups["\(end.rawValue)|\(wl)"], !ms.isEmpty else { continue }
                h += """
                    <h2>End \(end.rawValue) launch, \(wl) nm</h2>
                    <table>
                    <thead><tr><th class="n">Fiber</th><th class="n">Arrives at</th><th class="n">IL dB</th><th class="n">IL max</th><th \
                    class="n">Margin</th>\
                    <th class="n">RL A dB</th><th class="n">RL B dB</th><th class="n">RL min A/B</th><th>Result</th></tr></thead>
                    <tbody>

                    """
                for m in ms.sorted(by: { $0.fiber < $1.fiber }) {
                    let mark =
                        m.verdict == .pass
                        ? "<span class=\"mark pass\">&#10004; pass</span>"
                        : "<span class=\"mark fail\">&#10008; \(m.verdict.rawValue)</span>"
                    let why = m.reasons.isEmpty ? "" : " <span class=\"small\">\(e(m.reasons.joined(separator: "; ")))</span>"
                    h +=
                        "<tr><td class=\"n\">\(m.fiber)</td><td class=\"n\">\(m.receivePosition.map(String.init) ?? "none")</td>"
                        + """
                            <td class=\"n\">\(dash(m.ilDb, 3))</td><td class=\"n\">\(dash(m.ilMaxDb, 2))</td><td \
                            class=\"n\">\(dash(m.ilMarginDb, 3))</td>
                            """
                        + "<td class=\"n\">\(dash(m.rlDb, 1))</td><td class=\"n\">\(dash(m.rlBDb, 1))</td>"
                        + "<td class=\"n\">\(dash(m.rlMinDb, 0))/\(dash(m.rlBMinDb, 0))</td><td>\(mark)\(why)</td></tr>\n"
                }
                h += "</tbody>\n</table>\n"
            }
        }
        return h
    }

    /// Polarity, then the instruments, references, cords and software the numbers came from.
    static func polarityAndTraceability(_ r: UnitReport) -> String {
        let e = escapeMarkup
        let p = r.polarity
        let observedText = p.observedMap.map { "\($0.fiber)\u{2192}\($0.receivePosition.map(String.init) ?? "none")" }
            .joined(separator: " ")
        let mismatchText = p.mismatches.map { "fiber \($0.fiber) at \($0.observed.map(String.init) ?? "none"), expected \($0.expected)" }
            .joined(separator: "; ")
        var h = """
            <h2>Polarity</h2>
            <table class="kv keep"><tbody>
            <tr><td>Expected</td><td>Type \(e(p.expectedType))</td></tr>
            <tr><td>Observed</td><td>\(p.observedType.map { "Type \($0.rawValue)" } ?? "not a standard type") \
            (\(e(observedText)))</td></tr>
            <tr><td>Result</td><td><span class="mark \(p.verdict == .pass ? "pass" : "fail")">\(p.verdict.rawValue)</span>\
            \(p.mismatches.isEmpty ? "" : ": " + e(mismatchText))</td></tr>
            </tbody></table>

            <h2>Traceability</h2>
            <table class="keep">
            <thead><tr><th>Role</th><th>Instrument</th><th>Identity</th><th>Calibration due</th></tr></thead>
            <tbody>

            """
        for i in r.instruments {
            let id = i.identity.map { "\($0.manufacturer) \($0.model), s/n \($0.serial), fw \($0.firmware)" } ?? "not identified"
            h += "<tr><td>\(e(i.role))</td><td>\(e(i.name)) (\(e(i.driver)), \(e(i.address)))</td>"
                + "<td>\(e(id))</td><td>\(e(i.calibrationDue ?? "-"))</td></tr>\n"
        }
        h += "</tbody>\n</table>\n<table class=\"kv keep\"><tbody>\n"
        for ref in r.references {
            h +=
                "<tr><td>Reference</td><td>cord \(e(ref.cord.id)) (Type \(e(ref.cord.polarity))), \(e(ref.method.rawValue)), taken "
                + "\(e(iso(ref.takenAt))), "
                + "valid until \(e(iso(ref.validUntil))); \(ref.values.count) path values (\(e(ref.pairs)))</td></tr>\n"
        }
        for c in r.cords {
            h += "<tr><td>Cord</td><td>\(e(c.role)) \(e(c.id)): \(c.matings) of \(c.maxMatings) rated matings (\(e(c.state)))</td></tr>\n"
        }
        h += """
            <tr><td>Software</td><td>ferrule \(e(r.station.softwareVersion)), config \(e(r.station.configHash))</td></tr>
            </tbody></table>
            <p class="small">Rendered from the station's stored record \(e(r.reportId.uuidString.lowercased())). IL to 0.001 dB, RL to \
            0.1 dB; margin is limit minus value.</p>
            </body>
            </html>

            """
        return h
    }

    static func dash(_ v: Double?, _ digits: Int) -> String { v.map { num($0, digits) } ?? "&ndash;" }

    static func endText(_ end: ConnectorEnd) -> String {
        "\(end.connector) \(end.polish.rawValue)\(end.gender.map { ", \($0.rawValue)" } ?? "")"
    }

    static func limitsText(_ r: UnitReport) -> String {
        var parts = r.limits.il.map { "IL \u{2264} \(num($0.ilMaxDb, 2)) dB at \($0.wavelengthNm) nm" }
        if let m = r.limits.meanIlMaxDb { parts.append("mean IL \u{2264} \(num(m, 2)) dB") }
        if let rl = r.limits.rlMinDb { parts.append("RL at A \u{2265} \(num(rl, 0)) dB") }
        if let rl = r.limits.rlMinDbB { parts.append("RL at B \u{2265} \(num(rl, 0)) dB") }
        return parts.joined(separator: "; ")
    }

    /// Bars of IL per fiber, one colour per wavelength, the limit as a dashed line, failed
    /// values outlined in red. Inline SVG, so the certificate stays one file.
    static func chart(_ r: UnitReport) -> String {
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

    static func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
}
