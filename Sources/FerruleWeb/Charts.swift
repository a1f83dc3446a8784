import FerruleRecords
import Foundation

/// The history page's charts as SVG, drawn here so the page needs no chart library: first-pass
/// yield per part number, and the failure Pareto (bars by units, the cumulative share as a line).
/// Every label is escaped; reason codes are named from the user's message catalog.
enum Charts {
    static let width = 760.0
    static let barHeight = 34.0
    static let labelWidth = 230.0

    static func yield(_ rows: [YieldRow], messages: [String: String]) -> String {
        guard !rows.isEmpty else { return empty(messages["chart.noUnits"] ?? "no units") }
        let height = Double(rows.count) * barHeight + 20
        var body = ""
        for (i, row) in rows.enumerated() {
            let y = Double(i) * barHeight + 10
            let fpy = row.firstPassYield ?? 0
            let w = (width - labelWidth - 110) * fpy
            body += text(8, y + 22, row.partNumber, anchor: "start")
            let kind = fpy >= 0.95 ? "good" : "low"
            body += #"<rect x="\#(labelWidth)" y="\#(y + 4)" width="\#(fmt(w))" height="\#(barHeight - 10)" class="\#(kind)"/>"#
            let label = String(format: "%.1f %% (%d/%d)", fpy * 100, row.firstPass, row.serials)
            body += text(labelWidth + w + 8, y + 22, label, anchor: "start")
        }
        return svg(height: height, body)
    }

    static func pareto(_ rows: [ParetoRow], messages: [String: String]) -> String {
        guard !rows.isEmpty else { return empty(messages["chart.noFailures"] ?? "no failures") }
        let top = rows.prefix(10)
        let height = 280.0
        let plotTop = 20.0
        let plotBottom = 200.0
        let slot = min((width - 60) / Double(top.count), 110)
        let most = Double(top.map(\.units).max() ?? 1)
        var body = ""
        var line: [String] = []
        for (i, row) in top.enumerated() {
            let x = 40 + Double(i) * slot
            let h = (plotBottom - plotTop) * Double(row.units) / most
            body += #"<rect x="\#(fmt(x + 6))" y="\#(fmt(plotBottom - h))" width="\#(fmt(slot - 12))" height="\#(fmt(h))" class="bar"/>"#
            body += text(x + slot / 2, plotBottom - h - 6, "\(row.units)", anchor: "middle")
            let name = messages["reason." + row.code] ?? row.code
            body +=
                #"<g transform="translate(\#(fmt(x + slot / 2)),\#(plotBottom + 14)) rotate(20)">"#
                + text(0, 0, name, anchor: "start") + "</g>"
            line.append("\(fmt(x + slot / 2)),\(fmt(plotBottom - (plotBottom - plotTop) * row.cumulative))")
        }
        body += #"<polyline points="\#(line.joined(separator: " "))" class="cumulative"/>"#
        body += text(width - 4, plotTop + 4, "100 %", anchor: "end")
        return svg(height: height, body)
    }

    static func svg(height: Double, _ body: String) -> String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(fmt(width)) \(fmt(height))" role="img" font-family="sans-serif" \
        font-size="15"><style>.good{fill:#2e7d32}.low{fill:#c62828}.bar{fill:#1565c0}\
        .cumulative{fill:none;stroke:#ef6c00;stroke-width:3}text{fill:#222}\
        .trace{fill:none;stroke:#1565c0;stroke-width:1.5}.center{stroke:#2e7d32;stroke-width:2}\
        .control{stroke:#c62828;stroke-width:2;stroke-dasharray:8 5}.limit{stroke:#222;stroke-width:2}.alarm{fill:#c62828}\
        .ref{stroke:#222;stroke-width:2;stroke-dasharray:4 4}</style>\(body)</svg>
        """
    }

    static func empty(_ message: String) -> String { svg(height: 40, text(8, 26, message, anchor: "start")) }

    static func text(_ x: Double, _ y: Double, _ s: String, anchor: String) -> String {
        #"<text x="\#(fmt(x))" y="\#(fmt(y))" text-anchor="\#(anchor)">\#(xml(s))</text>"#
    }

    static func xml(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters are not allowed in XML 1.0 at all.
                if c.value < 0x20 && c != "\t" && c != "\n" { out += "\u{FFFD}" } else { out.unicodeScalars.append(c) }
            }
        }
        return out
    }

    static func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
}
