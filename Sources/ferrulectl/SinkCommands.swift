import ArgumentParser
import FerruleCore
import FerruleProtocol
import Foundation

// Where the reports go: each sink's queue, its parked reports, and sending them again.

struct SinksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sinks", abstract: "Each sink's backlog and parked reports; send reports again.",
        subcommands: [SinksList.self, Resend.self], defaultSubcommand: SinksList.self)
}

struct SinksList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Each sink's backlog, whether it is failing, and every parked report with the reason.")
    @OptionGroup var connection: Connection
    @Argument(help: "Only this sink.") var sink: String?

    func run() async throws {
        let r = try await connection.session { s in try await connection.call(&s, request(.sinks(sink: sink))) }
        if connection.json {
            printJSON(r)
            return
        }
        for k in r.array ?? [] {
            var line =
                "sink \(k["name"]?.text ?? "") (\(k["kind"]?.text ?? "")): "
                + "\(k["pending"]?.int ?? 0) waiting, \(k["parked"]?.int ?? 0) parked"
            if let f = k["failing"]?.text { line += "; FAILING since \(k["failingSince"]?.text ?? "?"): \(f)" }
            print(line)
            for p in k["parkedReports"]?.array ?? [] {
                print(
                    "  parked \(p["serial"]?.text ?? "")  report \(p["reportId"]?.text ?? "")  at \(p["at"]?.text ?? ""): "
                        + (p["reason"]?.text ?? ""))
            }
        }
    }
}

struct Resend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put a report, or every parked one, back in a sink's queue (after the receiver was fixed, or lost it).")
    @OptionGroup var connection: Connection
    @Argument(help: "The sink (as 'ferrulectl sinks' names it).") var sink: String
    @Argument(help: "A report id, or a serial (its latest test).") var report: String?
    @Flag(help: "Every report the sink has parked.") var parked = false

    func validate() throws {
        if (report == nil) == !parked { throw ValidationError("give a report id or serial, or --parked (one of the two)") }
    }

    func run() async throws {
        let r = try await connection.session { s in
            try await connection.call(
                &s,
                request(.resend(sink: sink, report.map(ResendTarget.report) ?? .parked)))
        }
        if connection.json {
            printJSON(r)
            return
        }
        let queued = r["queued"]?.array?.count ?? 0
        print("\(Escaped.text(sink)): \(queued) report(s) queued again; \(r["waiting"]?.int ?? 0) waiting to be sent again")
    }
}
