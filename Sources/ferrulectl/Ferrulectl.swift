import ArgumentParser
import FerruleCore
import FerruleProtocol
import Foundation

@main
struct Ferrulectl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferrulectl",
        abstract: "Operator and engineer client for a Ferrule station.",
        discussion:
            """
                Talks to ferruled over its status socket. Exit codes: 0 ok (or pass), 1 fail, 2 error, aborted or refused, 3 station \
                unreachable.
                """,
        subcommands: [
            Status.self, Watch.self, Test.self, Abort.self, Reference.self, Cord.self, Recipes.self, HistoryCommand.self,
            Prompts.self, Answer.self, ShowReport.self, Fault.self, Yield.self, SPCCommand.self, LotCommand.self, ReportCommand.self,
            SinksCommand.self
        ])
}

struct Connection: ParsableArguments {
    @Option(
        help:
            """
                Status socket of the station (default: $FERRULE_SOCKET, /run/ferrule/ferruled.sock, \
                $XDG_RUNTIME_DIR/ferrule/ferruled.sock, ~/.local/state/ferrule/ferruled.sock).
                """
    )
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
            if json {
                printJSON(m)
            } else {
                stderr("ferrulectl: \(e.message)")
                if let fix = e.fix { stderr("fix: \(fix)") }
                if let remedy = e.refusal?.remedy { stderr("run: \(remedy.commandLine)") }
            }
            throw ExitCode(2)
        }
        return m.result ?? .null
    }

    /// Sends one request and reads its result as the type the station answers it with.
    func call<T: Decodable>(_ s: inout ControlSession, _ r: ControlRequest, as type: T.Type) async throws -> T {
        let result = try await call(&s, r)
        return try UnitReport.decoder().decode(T.self, from: ControlProtocol.encoder().encode(result))
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

func request(_ request: StationRequest, operator: String? = nil) -> ControlRequest {
    ControlRequest(request, operator: `operator`)
}

/// An ISO 8601 option (`--since 2026-11-21`), checked here so that the error names the option.
func isoTime(_ text: String) throws -> Date {
    guard let d = ControlProtocol.time(text) else {
        throw ValidationError("'\(Escaped.text(text))' is not an ISO 8601 time: use e.g. 2026-11-21 or 2026-11-21T06:00:00Z")
    }
    return d
}

func verdictOption(_ text: String) throws -> Verdict {
    guard let v = Verdict(rawValue: text) else {
        let known = Verdict.allCases.map(\.rawValue).joined(separator: ", ")
        throw ValidationError("'\(Escaped.text(text))' is not a verdict: use one of \(known)")
    }
    return v
}

func fmt(_ v: JSONValue?, _ digits: Int = 3) -> String {
    guard let n = v?.number else { return "-" }
    return String(format: "%.\(digits)f", n)
}

struct Recipes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The part numbers this station tests.")
    @OptionGroup var connection: Connection

    func run() async throws {
        let r = try await connection.session { s in try await connection.call(&s, request(.recipes)) }
        if connection.json {
            printJSON(r)
            return
        }
        for x in r.array ?? [] {
            print(
                "\(x["partNumber"]?.text ?? "")  \(x["fibers"]?.int ?? 0)F \(x["kind"]?.text ?? "") \(x["fiberType"]?.text ?? "") "
                    + "Type \(x["polarity"]?.text ?? "")  \(x["description"]?.text ?? "")")
        }
    }
}
