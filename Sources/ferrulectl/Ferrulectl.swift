import ArgumentParser
import FerruleProtocol
import FerruleCore
import Foundation

@main
struct Ferrulectl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferrulectl",
        abstract: "Operator and engineer client for a Ferrule station.",
        discussion: "Talks to ferruled over its status socket. Exit codes: 0 ok (or pass), 1 fail, 2 error, aborted or refused, 3 station unreachable.",
        subcommands: [Status.self, Watch.self, Test.self, Abort.self, Reference.self, Cord.self, Recipes.self, HistoryCommand.self,
                      Prompts.self, Answer.self, ShowReport.self, Fault.self, Yield.self, ReportCommand.self])
}

struct Connection: ParsableArguments {
    @Option(help: "Status socket of the station (default: $FERRULE_SOCKET, /run/ferrule/ferruled.sock, $XDG_RUNTIME_DIR/ferrule/ferruled.sock, ~/.local/state/ferrule/ferruled.sock).")
    var socket: String?

    @Flag(help: "Print the station's JSON replies (one object per line) instead of text.")
    var json = false

    var path: String { socket ?? SocketPath.clientDefault() }

    /// Runs a session; connection and protocol problems become a message and exit code 3 / 2.
    func session<T: Sendable>(_ body: (inout ControlSession) async throws -> T) async throws -> T {
        do {
            return try await ControlSession.with(path: path, body)
        } catch let e as ConnectError {
            stderr(e.description)
            throw ExitCode(3)
        }
    }

    /// Sends one request; prints the error and exits 2 if the station refuses.
    func call(_ s: inout ControlSession, _ r: ControlRequest, onEvent: (JSONValue) -> Void = { _ in }) async throws -> JSONValue {
        let m = try await s.call(r, onEvent: onEvent)
        if let e = m.error {
            if json { printJSON(m) } else { stderr("ferrulectl: \(e.message)"); if let fix = e.fix { stderr("fix: \(fix)") } }
            throw ExitCode(2)
        }
        return m.result ?? .null
    }
}

/// Everything printed for the operator comes from the station and may hold what a client typed:
/// it is escaped (`Escaped.text`) so a serial with a newline, ESC or U+202E cannot forge a line
/// or drive the terminal.
func stderr(_ s: String) { FileHandle.standardError.write(Data((Escaped.text(s) + "\n").utf8)) }

extension JSONValue {
    /// A string value, escaped for the terminal.
    var text: String? { string.map(Escaped.text) }
}

func printJSON<T: Encodable>(_ v: T) {
    if let d = try? ControlProtocol.encoder().encode(v) { print(String(decoding: d, as: UTF8.self)) }
}

func request(_ type: ControlRequest.Kind, _ fill: (inout ControlRequest) -> Void = { _ in }) -> ControlRequest {
    var r = ControlRequest(id: nil, type: type.rawValue)
    fill(&r)
    return r
}

func fmt(_ v: JSONValue?, _ digits: Int = 3) -> String {
    guard let n = v?.number else { return "-" }
    return String(format: "%.\(digits)f", n)
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Fixtures, instruments, references and the units in progress.")
    @OptionGroup var connection: Connection

    func run() async throws {
        let result = try await connection.session { s in try await connection.call(&s, request(.status)) }
        if connection.json { printJSON(result); return }
        print("station \(result["stationId"]?.text ?? "?") (ferrule \(result["softwareVersion"]?.text ?? "?")), config "
            + "\(result["configPath"]?.text ?? "?")")
        for f in result["fixtures"]?.array ?? [] {
            let ref = f["reference"]
            var line = "fixture \(f["id"]?.int ?? 0): \(f["state"]?.string ?? "?")"
            if let u = f["unit"] {
                line += " \(u["serial"]?.text ?? "") \(u["partNumber"]?.text ?? "") "
                    + "\(u["fibersDone"]?.int ?? 0)/\(u["fibersTotal"]?.int ?? 0) fibers"
            }
            line += "; reference \(ref?["state"]?.string ?? "?")"
            if let until = ref?["validUntil"]?.string { line += " until \(until)" }
            if let light = f["sourceMayBeOn"]?.text { line += "; \(light.uppercased())" }
            print(line)
            let refs = (f["references"]?.array ?? []).map { r in
                "\(r["cord"]?.text ?? "?") (Type \(r["polarity"]?.text ?? "?")) \(r["state"]?.text ?? "?")"
            }
            if !refs.isEmpty { print("  references: \(refs.joined(separator: ", "))") }
            let cords = (f["cords"]?.array ?? []).map { c in
                let state = c["state"]?.string == "ok" ? "" : " \(c["state"]?.text?.uppercased() ?? "")"
                return "\(c["role"]?.text ?? "") \(c["id"]?.text ?? "") \(c["matings"]?.int ?? 0)/\(c["maxMatings"]?.int ?? 0)\(state)"
            }
            if !cords.isEmpty { print("  cords (matings/rated): \(cords.joined(separator: ", "))") }
        }
        for i in result["instruments"]?.array ?? [] {
            let id = i["identity"]
            print("instrument \(i["name"]?.text ?? ""): \(i["state"]?.text ?? "") \(id?["model"]?.text ?? "") "
                + "\(id?["serial"]?.text ?? "")\(i["lastError"]?.text.map { " last error: \($0)" } ?? "")")
        }
        if let st = result["storage"] {
            let size = (st["sizeBytes"]?.number ?? 0) / 1_048_576, free = (st["freeBytes"]?.number).map { String(format: "%.0f MB free", $0 / 1_048_576) } ?? "free space unknown"
            var line = String(format: "store %@: %.1f MB, %@", st["path"]?.string ?? "?", size, free)
            if let p = st["problem"]?.text { line += "; CANNOT STORE: \(p) (\(st["unstoredUnits"]?.int ?? 0) unit(s) waiting in memory)" }
            if let p = st["reportFilesProblem"]?.text {
                line += "; REPORT FILES LATE: \(st["reportFilesUnwritten"]?.int ?? 0) unit(s): \(p)"
            }
            print(line)
        }
        for k in result["sinks"]?.array ?? [] {
            var line = "sink \(k["name"]?.string ?? "") (\(k["kind"]?.string ?? "")): \(k["pending"]?.int ?? 0) pending, \(k["parked"]?.int ?? 0) parked"
            if let f = k["failing"]?.string { line += "; FAILING since \(k["failingSince"]?.string ?? "?"): \(f)" }
            print(line)
        }
    }
}

struct Test: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start a unit. With --wait: follow it and exit 0 pass, 1 fail, 2 error or aborted.")
    @OptionGroup var connection: Connection
    @Option(help: "The unit's serial number.") var serial: String
    @Option(help: "Part number (selects the recipe).") var part: String
    @Option(help: "Fixture (default: the first idle one that fits).") var fixture: Int?
    @Option(name: .customLong("operator"), help: "Operator id, recorded in the report.") var operatorId: String?
    @Flag(help: "Wait for the verdict.") var wait = false

    func run() async throws {
        let code: Int32 = try await connection.session { s in
            if wait { _ = try await connection.call(&s, request(.subscribe)) }
            let accepted = try await connection.call(&s, request(.test) {
                $0.serial = serial; $0.partNumber = part; $0.fixture = fixture; $0.operator = operatorId
            })
            let fx = accepted["fixture"]?.int ?? 0
            if !connection.json { print("\(Escaped.text(serial)) started on fixture \(fx)") } else { printJSON(accepted) }
            guard wait else { return 0 }
            while let m = try await s.next() {
                guard m.type == .event, let e = m.event else {
                    if m.type == .bye { stderr("ferrulectl: station dropped the connection: \(m.reason ?? "")"); return 2 }
                    continue
                }
                if connection.json { printJSON(e) }
                let mine = e["fixture"]?.int == fx && e["serial"]?.string == serial
                switch e["kind"]?.string {
                case "prompt"?:
                    let p = e["prompt"]
                    if !connection.json { print("PROMPT \(p?["id"]?.text ?? ""): \(p?["text"]?.text ?? "")  (ferrulectl answer "
                        + "\(p?["id"]?.text ?? "") ok)") }
                case "unitFinished"? where mine:
                    let verdict = e["verdict"]?.string ?? "error"
                    if !connection.json { print("\(Escaped.text(serial)): \(verdict.uppercased())  report \(e["reportPath"]?.text ?? "")") }
                    return verdict == "pass" ? 0 : (verdict == "fail" ? 1 : 2)
                case "unitHeld"? where mine:
                    // Measured but not stored (disk full, read-only): the station keeps it and
                    // stores it by itself; there is no report to ship yet, so not a verdict.
                    if !connection.json {
                        print("\(Escaped.text(serial)): measured \(e["verdict"]?.text?.uppercased() ?? ""), NOT STORED YET: "
                            + "\(e["reason"]?.text ?? ""); the station keeps it and stores it when it can (watch for unitFinished)")
                    }
                    return 2
                case "unitNotStarted"? where mine:
                    if !connection.json { print("\(Escaped.text(serial)): not started: \(e["reason"]?.text ?? "")") }
                    return 2
                default: break
                }
            }
            stderr("ferrulectl: the station closed the connection before \(serial) finished")
            return 2
        }
        if code != 0 { throw ExitCode(code) }
    }
}

struct Abort: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Abort the unit on a fixture (source off, switches parked, report 'aborted').")
    @OptionGroup var connection: Connection
    @Option(help: "Fixture.") var fixture: Int

    func run() async throws {
        let r = try await connection.session { s in try await connection.call(&s, request(.abort) { $0.fixture = fixture }) }
        if connection.json { printJSON(r) } else { print("aborting fixture \(fixture)") }
    }
}

struct Fault: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inject a fault into a simulated instrument (rehearsing the line; 'none' clears it).",
        discussion: "Faults: noReply, garbage, queueError, disconnect, slowSwitch, unplug, none. Only instruments the station simulates on the wire ('simulate:' in its config) take faults.")
    @OptionGroup var connection: Connection
    @Argument(help: "Instrument name, as in the station's config.") var instrument: String
    @Argument(help: "The fault.") var fault: String
    @Option(help: "Only on lines with this command, e.g. READ:RL?") var command: String?
    @Option(help: "Only while this launch position is lit.") var fiber: Int?

    func run() async throws {
        let r = try await connection.session { s in
            try await connection.call(&s,
                request(.fault) { $0.instrument = instrument; $0.fault = fault; $0.command = command; $0.fiber = fiber })
        }
        if connection.json { printJSON(r) } else { print(Escaped.text("\(instrument): "
            + "\(fault == "none" ? "fault cleared" : "now \(fault) \(r["scope"]?.string ?? "")")")) }
    }
}

struct Reference: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Take a reference on a fixture (the station asks for the reference cord).")
    @OptionGroup var connection: Connection
    @Option(help: "Fixture.") var fixture: Int
    @Option(help: "The reference cord: its id (RC-B-004) or its polarity (A, B, C: the fixture's one cord of that polarity).")
    var cord: String?
    @Option(name: .customLong("operator"), help: "Operator id.") var operatorId: String?

    func run() async throws {
        let r = try await connection.session { s in
            try await connection.call(&s, request(.reference) { $0.fixture = fixture; $0.cord = cord; $0.operator = operatorId }) { e in
                if e["kind"]?.string == "prompt", let p = e["prompt"], !connection.json {
                    print("PROMPT \(p["id"]?.text ?? ""): \(p["text"]?.text ?? "")  (ferrulectl answer \(p["id"]?.text ?? "") ok)")
                }
            }
        }
        if connection.json { printJSON(r) } else { print("fixture \(fixture): reference taken with cord \(r["cord"]?.text ?? "?") "
            + "(Type \(r["polarity"]?.text ?? "?")) "
                  + "at \(r["takenAt"]?.text ?? "?") (\(r["values"]?.int ?? 0) path values)") }
    }
}

struct Recipes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The part numbers this station tests.")
    @OptionGroup var connection: Connection

    func run() async throws {
        let r = try await connection.session { s in try await connection.call(&s, request(.recipes)) }
        if connection.json { printJSON(r); return }
        for x in r.array ?? [] {
            print("\(x["partNumber"]?.text ?? "")  \(x["fibers"]?.int ?? 0)F \(x["kind"]?.text ?? "") \(x["fiberType"]?.text ?? "") "
                + "Type \(x["polarity"]?.text ?? "")  \(x["description"]?.text ?? "")")
        }
    }
}

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "Past units, newest first; retests of a serial show their attempt number.")
    @OptionGroup var connection: Connection
    @Option(help: "Only this serial.") var serial: String?
    @Option(help: "Only this part number.") var part: String?
    @Option(help: "Only this verdict (pass, fail, error, aborted, interrupted).") var verdict: String?
    @Option(help: "Started at or after (ISO 8601, e.g. 2026-11-21 or 2026-11-21T06:00:00Z).") var since: String?
    @Option(help: "Started before (ISO 8601).") var until: String?
    @Option(help: "At most this many (a page, up to 500).") var limit = 50
    @Option(help: "Skip this many, newest first (the next page).") var offset = 0

    func run() async throws {
        let r = try await connection.session { s in
            try await connection.call(&s, request(.history) {
                $0.serial = serial; $0.partNumber = part; $0.verdict = verdict; $0.limit = limit; $0.offset = offset
                $0.since = since; $0.until = until
            })
        }
        if connection.json { printJSON(r); return }
        for x in r.array ?? [] {
            let codes = (x["failureCodes"]?.array ?? []).compactMap(\.string).joined(separator: ",")
            let attempt = x["attempt"]?.int ?? 1
            print("\(x["startedAt"]?.text ?? "")  \(x["serial"]?.text ?? "")\(attempt > 1 ? " (retest \(attempt))" : "")  "
                + "\(x["partNumber"]?.text ?? "")  fixture \(x["fixture"]?.int ?? 0)  \(x["verdict"]?.text ?? x["state"]?.text ?? "") "
                    + " worst IL \(fmt(x["worstIlDb"]))  \(codes)")
        }
    }
}

struct Yield: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "First-pass yield per part number, and the Pareto of failure reasons.")
    @OptionGroup var connection: Connection
    @Option(help: "From (ISO 8601).") var since: String?
    @Option(help: "Until (ISO 8601).") var until: String?
    @Option(help: "Pareto for this part number only.") var part: String?

    func run() async throws {
        let (y, p) = try await connection.session { s in
            (try await connection.call(&s, request(.yield) { $0.since = since; $0.until = until }),
             try await connection.call(&s, request(.pareto) { $0.since = since; $0.until = until; $0.partNumber = part }))
        }
        if connection.json { printJSON(JSONValue.object(["yield": y, "pareto": p])); return }
        print("part number            serials  first pass  FPY      final   retests")
        for x in y.array ?? [] {
            let fpy = x["firstPassYield"]?.number.map { String(format: "%5.1f %%", $0 * 100) } ?? "   -   "
            let fin = x["finalYield"]?.number.map { String(format: "%5.1f %%", $0 * 100) } ?? "   -   "
            print("\((x["partNumber"]?.text ?? "").padding(toLength: 22, withPad: " ", startingAt: 0)) "
                + "\(String(format: "%7d", x["serials"]?.int ?? 0))  \(String(format: "%10d", x["firstPass"]?.int ?? 0))  \(fpy)  "
                    + "\(fin)  \(x["retests"]?.int ?? 0)")
        }
        print("\nfailure reasons (Pareto)\(part.map { " for \($0)" } ?? ""):")
        for x in p.array ?? [] {
            let share = (x["share"]?.number ?? 0) * 100, cum = (x["cumulative"]?.number ?? 0) * 100
            print("  \((x["code"]?.text ?? "").padding(toLength: 22, withPad: " ", startingAt: 0)) "
                + "\(String(format: "%5d  %5.1f %%  (cumulative %5.1f %%)", x["units"]?.int ?? 0, share, cum))")
        }
    }
}

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Where a unit's reports and certificates are, and which sinks have them.")
    @OptionGroup var connection: Connection
    @Argument(help: "Serial number.") var serial: String

    func run() async throws {
        let r = try await connection.session { s in try await connection.call(&s, request(.report) { $0.serial = serial }) }
        if connection.json { printJSON(r); return }
        for x in r.array ?? [] {
            let attempt = x["attempt"]?.int ?? 1
            print("\(Escaped.text(serial)) test \(attempt)\(attempt > 1 ? " (retest)" : ""): "
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

struct Prompts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Questions the station is waiting on.")
    @OptionGroup var connection: Connection

    func run() async throws {
        let r = try await connection.session { s in try await connection.call(&s, request(.prompts)) }
        if connection.json { printJSON(r); return }
        for p in r.array ?? [] {
            print("\(p["id"]?.text ?? ""): \(p["text"]?.text ?? "")  "
                + "[\((p["choices"]?.array ?? []).compactMap(\.string).joined(separator: "/"))]")
        }
    }
}

struct Answer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Answer a prompt, e.g. 'ferrulectl answer p3 ok'.")
    @OptionGroup var connection: Connection
    @Argument(help: "Prompt id.") var prompt: String
    @Argument(help: "Answer (one of the prompt's choices).") var answer: String

    func run() async throws {
        let r = try await connection.session { s in try await connection.call(&s, request(.answer) { $0.prompt = prompt; $0.answer = answer }) }
        if connection.json { printJSON(r) } else { print("answered \(prompt): \(answer)") }
    }
}

struct Cord: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cords and their matings.",
        discussion: "'ferrulectl cord reset ID' after replacing or cleaning a cord: its count starts again; a test cord's fixture "
            + "needs new references.")
    @OptionGroup var connection: Connection
    @Argument(help: "reset") var action: String
    @Argument(help: "The cord's id, e.g. TC-L-1.") var cord: String
    @Option(name: .customLong("operator"), help: "Operator id.") var operatorId: String?

    func run() async throws {
        guard action == "reset" else {
            stderr("ferrulectl: unknown cord action '\(action)'")
            stderr("fix: use 'ferrulectl cord reset ID'")
            throw ExitCode(2)
        }
        let r = try await connection.session { s in
            try await connection.call(&s, request(.cordReset) { $0.cord = cord; $0.operator = operatorId })
        }
        if connection.json { printJSON(r) } else { print("cord \(Escaped.text(cord)): matings reset to 0") }
    }
}
