import FerruleCore
import FerruleStation
import Foundation

/// The Quality page's charts as SVG: one position's individuals chart (its readings, the center
/// line, the control limits from its baseline, the recipe's limit, the points where a run rule
/// broke) and each position's capability against the limit. Labels come from the user's catalog.
extension Charts {
    static let plot = (left: 70.0, right: 660.0, top: 20.0, bottom: 250.0)  // room on the right for the lines' names

    static func control(_ trace: ChartTrace, messages: [String: String]) -> String {
        let c = trace.chart
        guard !trace.ilDb.isEmpty else { return empty(messages["chart.noUnits"] ?? "no units") }
        var lines: [(Double, String, String)] = [(c.meanDb, "center", messages["quality.center"] ?? "mean")]
        if let l = c.limits {
            lines += [(l.upper, "control", messages["quality.ucl"] ?? "UCL"), (l.lower, "control", messages["quality.lcl"] ?? "LCL")]
        }
        if let limit = c.ilMaxDb { lines.append((limit, "limit", messages["quality.limit"] ?? "limit")) }
        let values = trace.ilDb + lines.map(\.0)
        let (low, high) = (values.min()!, values.max()!)
        let span = max(high - low, 0.01)
        let y = { (v: Double) in plot.bottom - (v - low + span * 0.05) / (span * 1.1) * (plot.bottom - plot.top) }
        let x = { (i: Int) in plot.left + (plot.right - plot.left) * Double(i) / Double(max(trace.ilDb.count - 1, 1)) }
        var body = ""
        for (v, kind, name) in lines {
            body += #"<line x1="\#(fmt(plot.left))" x2="\#(fmt(plot.right))" y1="\#(fmt(y(v)))" y2="\#(fmt(y(v)))" class="\#(kind)"/>"#
            body += text(plot.right + 6, y(v) + 5, name, anchor: "start")
            body += text(plot.left - 6, y(v) + 5, String(format: "%.3f", v), anchor: "end")
        }
        body += #"<polyline points="\#(outline(trace.ilDb, x: x, y: y))" class="trace"/>"#
        let alarmed = Set(c.alarms.map(\.at))
        for (i, unit) in trace.units.enumerated() where alarmed.contains(unit.at) {
            body += #"<circle cx="\#(fmt(x(i)))" cy="\#(fmt(y(trace.ilDb[i])))" r="5" class="alarm"/>"#
        }
        let day = DateFormatter.chartDay
        body += text(plot.left, plot.bottom + 24, trace.units.first.map { day.string(from: $0.at) } ?? "", anchor: "start")
        body += text(plot.right, plot.bottom + 24, trace.units.last.map { day.string(from: $0.at) } ?? "", anchor: "end")
        let axis = (messages["quality.axis"] ?? "IL (dB), {n} units").replacingOccurrences(of: "{n}", with: "\(trace.ilDb.count)")
        body += text(plot.left, plot.bottom + 48, axis, anchor: "start")
        return svg(height: plot.bottom + 60, body)
    }

    /// The readings as a line; past one point a pixel, each pixel's lowest and highest reading
    /// (the shape of a year's chart, not 20,000 points).
    private static func outline(_ v: [Double], x: (Int) -> Double, y: (Double) -> Double) -> String {
        let columns = Int(plot.right - plot.left)
        guard v.count > columns * 2 else { return v.indices.map { "\(fmt(x($0))),\(fmt(y(v[$0])))" }.joined(separator: " ") }
        var points: [String] = []
        for column in 0..<columns {
            let slice = v[(v.count * column / columns)..<(v.count * (column + 1) / columns)]
            guard let low = slice.min(), let high = slice.max() else { continue }
            let px = plot.left + Double(column)
            points += ["\(fmt(px)),\(fmt(y(high)))", "\(fmt(px)),\(fmt(y(low)))"]
        }
        return points.joined(separator: " ")
    }

    /// Each position's Ppk (percentile method) against its wavelength's limit, a bar each, with
    /// the usual 1.33 line; a position without a figure (no limit, no spread) shows none.
    static func capability(_ spc: PartSPC, messages: [String: String]) -> String {
        guard !spc.charts.isEmpty else { return empty(messages["chart.noUnits"] ?? "no units") }
        let figures = spc.charts.map { $0.capability.flatMap { $0.ppkPercentile ?? $0.ppkNormal } }
        let most = max(2.0, (figures.compactMap { $0 }.max() ?? 0) * 1.1)
        let slot = (plot.right - plot.left) / Double(spc.charts.count)
        let y = { (v: Double) in plot.bottom - min(max(v, 0), most) / most * (plot.bottom - plot.top) }
        var body = ""
        for (i, (chart, ppk)) in zip(spc.charts, figures).enumerated() {
            let left = plot.left + Double(i) * slot
            if let ppk {
                let kind = ppk >= 1.33 ? "good" : "low"
                body += #"<rect x="\#(fmt(left + 1))" y="\#(fmt(y(ppk)))" width="\#(fmt(max(slot - 2, 1)))" "#
                    + #"height="\#(fmt(plot.bottom - y(ppk)))" class="\#(kind)"/>"#
            }
            if i == 0 || chart.position.wavelengthNm != spc.charts[i - 1].position.wavelengthNm {
                body += text(left, plot.bottom + 24, "\(chart.position.wavelengthNm) nm", anchor: "start")
            }
        }
        body += #"<line x1="\#(fmt(plot.left))" x2="\#(fmt(plot.right))" y1="\#(fmt(y(1.33)))" y2="\#(fmt(y(1.33)))" class="ref"/>"#
        body += text(plot.left - 6, y(1.33) + 5, "1.33", anchor: "end")
        body += text(plot.left - 6, y(0) + 5, "0", anchor: "end")
        body += text(plot.left, plot.bottom + 48, messages["quality.ppkAxis"] ?? "Ppk (percentile) per position", anchor: "start")
        return svg(height: plot.bottom + 60, body)
    }
}

extension DateFormatter {
    /// A chart's first and last day, the same in every language (ISO 8601).
    static var chartDay: DateFormatter {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return f
    }
}
