import ArgumentParser
import FerruleCore
import FerruleProtocol
import Foundation

// What the station has tested: history, yield and a unit's reports.

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Past units, newest first; retests of a serial show their attempt number.")
    @OptionGroup var connection: Connection
    @Option(help: "Only this serial.") var serial: String?
    @Option(help: "Only this part number.") var part: String?
    @Option(help: "Only this verdict (pass, fail, error, aborted, interrupted).", transform: verdictOption) var verdict: Verdict?
    @Option(help: "Started at or after (ISO 8601, e.g. 2026-11-21 or 2026-11-21T06:00:00Z).", transform: isoTime) var since: Date?
    @Option(help: "Started before (ISO 8601).", transform: isoTime) var until: Date?
    @Option(help: "At most this many (a page, up to 500).") var limit = 50
    @Option(help: "Skip this many, newest first (the next page).") var offset = 0

    func run() async throws {
        let r = try await connection.session { s in
            try await connection.call(
                &s,
                request(
                    .history(
                        HistoryQuery(
                            serial: serial, partNumber: part, verdict: verdict, window: TimeWindow(since: since, until: until),
                            limit: limit, offset: offset))))
        }
        if connection.json {
            printJSON(r)
            return
        }
        for x in r.array ?? [] {
            let codes = (x["failureCodes"]?.array ?? []).compactMap(\.string).joined(separator: ",")
            let attempt = x["attempt"]?.int ?? 1
            print(
                "\(x["startedAt"]?.text ?? "")  \(x["serial"]?.text ?? "")\(attempt > 1 ? " (retest \(attempt))" : "")  "
                    + "\(x["partNumber"]?.text ?? "")  fixture \(x["fixture"]?.int ?? 0)  \(x["verdict"]?.text ?? x["state"]?.text ?? "") "
                    + " worst IL \(fmt(x["worstIlDb"]))  \(codes)\(x["archive"]?.text.map { "  (archived, \($0))" } ?? "")")
        }
    }
}

struct Yield: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "First-pass yield per part number, and the Pareto of failure reasons.")
    @OptionGroup var connection: Connection
    @Option(help: "From (ISO 8601).", transform: isoTime) var since: Date?
    @Option(help: "Until (ISO 8601).", transform: isoTime) var until: Date?
    @Option(help: "Pareto for this part number only.") var part: String?

    func run() async throws {
        let (y, p) = try await connection.session { s in
            (
                try await connection.call(
                    &s,
                    request(.yield(TimeWindow(since: since, until: until)))),
                try await connection.call(
                    &s,
                    request(.pareto(partNumber: part, TimeWindow(since: since, until: until))))
            )
        }
        if connection.json {
            printJSON(JSONValue.object(["yield": y, "pareto": p]))
            return
        }
        print("part number            serials  first pass  (warned)  FPY      final   retests")
        for x in y.array ?? [] {
            let fpy = x["firstPassYield"]?.number.map { String(format: "%5.1f %%", $0 * 100) } ?? "   -   "
            let fin = x["finalYield"]?.number.map { String(format: "%5.1f %%", $0 * 100) } ?? "   -   "
            print(
                "\((x["partNumber"]?.text ?? "").padding(toLength: 22, withPad: " ", startingAt: 0)) "
                    + "\(String(format: "%7d", x["serials"]?.int ?? 0))  \(String(format: "%10d", x["firstPass"]?.int ?? 0))  "
                    + "\(String(format: "%8d", x["firstPassWithWarning"]?.int ?? 0))  \(fpy)  "
                    + "\(fin)  \(x["retests"]?.int ?? 0)")
        }
        print("\nfailure reasons (Pareto)\(part.map { " for \($0)" } ?? ""):")
        for x in p.array ?? [] {
            let share = (x["share"]?.number ?? 0) * 100
            let cum = (x["cumulative"]?.number ?? 0) * 100
            print(
                "  \((x["code"]?.text ?? "").padding(toLength: 22, withPad: " ", startingAt: 0)) "
                    + "\(String(format: "%5d  %5.1f %%  (cumulative %5.1f %%)", x["units"]?.int ?? 0, share, cum))")
        }
    }
}

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Where a unit's reports and certificates are, and which sinks have them.")
    @OptionGroup var connection: Connection
    @Argument(help: "Serial number.") var serial: String

    func run() async throws {
        let r = try await connection.session { s in try await connection.call(&s, request(.report(serial: serial))) }
        if connection.json {
            printJSON(r)
            return
        }
        for x in r.array ?? [] {
            let attempt = x["attempt"]?.int ?? 1
            print(
                "\(Escaped.text(serial)) test \(attempt)\(attempt > 1 ? " (retest)" : ""): "
                    + "\(x["verdict"]?.text ?? x["state"]?.text ?? "")  started \(x["startedAt"]?.text ?? "")  report "
                    + "\(x["reportId"]?.text ?? "")")
            if let p = x["reportPath"]?.string {
                print("  report       \(p)\(x["filesExist"] == .bool(false) ? "  (not written yet)" : "")")
                print("  certificate  \(x["certificatePath"]?.text ?? "")")
            }
            for d in x["deliveries"]?.array ?? [] {
                print("  sink \(d["sink"]?.text ?? ""): \(d["state"]?.text ?? "")\(d["detail"]?.text.map { " (\($0))" } ?? "")")
            }
        }
    }
}

struct SPCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spc",
        abstract: "A part number's control charts: IL per fiber position and wavelength, the run rules broken, Ppk against its limit.")
    @OptionGroup var connection: Connection
    @OptionGroup var units: PartWindow
    @Flag(help: "One CSV row per chart (for a spreadsheet) instead of the table.") var csv = false

    func run() async throws {
        let r = try await connection.session { s in
            try await connection.call(&s, request(.spc(partNumber: units.part, units.window)), as: PartSPC.self)
        }
        if connection.json {
            printJSON(r)
            return
        }
        let header = ["wavelengthNm", "fiber", "end", "n", "meanDb", "centerDb", "sigmaDb", "uclDb", "ilMaxDb", "ppkNormal",
                      "ppkNormalLower95", "ppkPercentile", "breaks", "lastAlarm"]
        if !csv {
            print("\(Escaped.text(r.partNumber)): \(r.units) unit(s); limits from each chart's first \(r.charts.first?.baselineUnits ?? 0)")
        }
        let columns = "  wl    fiber end      n   mean    UCL    limit  Ppk    Ppk(95%) Ppk(pct)  rules broken"
        print(csv ? header.joined(separator: ",") : columns)
        for c in r.charts {
            let breaks = c.breaks.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: "; ")
            let last = c.alarms.last.map { "\($0.rule) at \(Escaped.text($0.serials.last ?? ""))" } ?? ""
            func f(_ v: Double?, _ digits: Int = 3) -> String { v.map { String(format: "%.\(digits)f", $0) } ?? "" }
            if csv {
                let cells = [
                    "\(c.position.wavelengthNm)", "\(c.position.fiber)", c.position.end.rawValue, "\(c.n)", f(c.meanDb, 4),
                    f(c.limits?.center, 4), f(c.limits?.sigma, 4), f(c.limits?.upper, 4), f(c.ilMaxDb), f(c.capability?.ppkNormal, 2),
                    f(c.capability?.ppkNormalLower95, 2), f(c.capability?.ppkPercentile, 2), breaks, last,
                ]
                print(cells.map(csvCell).joined(separator: ","))
            } else {
                let figures = [
                    f(c.meanDb), f(c.limits?.upper), f(c.ilMaxDb), f(c.capability?.ppkNormal, 2), f(c.capability?.ppkNormalLower95, 2),
                    f(c.capability?.ppkPercentile, 2),
                ]
                print(
                    String(format: "  %4d  %3d   %@  %6d  ", c.position.wavelengthNm, c.position.fiber, c.position.end.rawValue, c.n)
                        + figures.map { $0.padding(toLength: 6, withPad: " ", startingAt: 0) }.joined(separator: " ") + "  "
                        + (breaks.isEmpty ? "-" : breaks + " (last: \(last))"))
            }
        }
    }

    /// A CSV cell: quoted when it holds a comma or a quote; a leading =, +, - or @ is prefixed so
    /// that a spreadsheet does not take it for a formula.
    func csvCell(_ s: String) -> String {
        let safe = s.first.map { "=+-@".contains($0) && Double(s) == nil } == true ? "'" + s : s
        return safe.contains(",") || safe.contains("\"") ? "\"" + safe.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : safe
    }
}

struct LotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lot",
        abstract: "A lot's IL (the part's units first tested in the window that ship): mean and 97th percentile, and the grade.")
    @OptionGroup var connection: Connection
    @OptionGroup var units: PartWindow

    func run() async throws {
        let r = try await connection.session { s in
            try await connection.call(&s, request(.lot(partNumber: units.part, units.window)), as: LotReport.self)
        }
        if connection.json {
            printJSON(r)
            return
        }
        let grade = r.grade.map { String(format: "grade: mean <= %.3f dB, 97%% <= %.3f dB", $0.meanIlMaxDb, $0.p97IlMaxDb) } ?? "no grade"
        let verdict = r.meetsGrade.map { $0 ? "MEETS the grade" : "DOES NOT MEET the grade" } ?? "not judged"
        print("lot of \(Escaped.text(r.partNumber)): \(r.units) unit(s); \(grade); \(verdict)")
        for w in r.wavelengths {
            let meets = w.meetsGrade.map { $0 ? "meets" : "DOES NOT MEET" } ?? ""
            print(String(format: "  %4d nm: %6d readings, mean %.3f dB, 97%% %.3f dB, worst %.3f dB  ", w.wavelengthNm, w.il.n, w.il.meanDb,
                         w.il.p97Db, w.il.maxDb) + meets)
        }
        print("method: \(r.method)")
    }
}

/// A part number and a window of its units: what `spc` and `lot` ask about.
struct PartWindow: ParsableArguments {
    @Option(help: "The part number.") var part: String
    @Option(help: "From (ISO 8601).", transform: isoTime) var since: Date?
    @Option(help: "Until (ISO 8601).", transform: isoTime) var until: Date?

    var window: TimeWindow { TimeWindow(since: since, until: until) }
}
