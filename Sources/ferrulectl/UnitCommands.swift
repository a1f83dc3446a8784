import ArgumentParser
import FerruleCore
import FerruleProtocol
import Foundation

// Units: test, abort and (on a simulated bench) fault injection.

struct Test: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a unit. With --wait: follow it and exit 0 pass, 1 fail, 2 error or aborted.")
    @OptionGroup var connection: Connection
    @Option(help: "The unit's serial number.") var serial: String
    @Option(help: "Part number (selects the recipe).") var part: String
    @Option(help: "Fixture (default: the first idle one that fits).") var fixture: Int?
    @Option(name: .customLong("operator"), help: "Operator id, recorded in the report.") var operatorId: String?
    @Flag(help: "Wait for the verdict.") var wait = false

    func run() async throws {
        let code: Int32 = try await connection.session { s in
            if wait { _ = try await connection.call(&s, request(.subscribe)) }
            let accepted = try await connection.call(
                &s,
                request(.test(UnitToTest(serial: serial, partNumber: part, fixture: fixture)), operator: operatorId))
            let fx = accepted["fixture"]?.int ?? 0
            if !connection.json { print("\(Escaped.text(serial)) started on fixture \(fx)") } else { printJSON(accepted) }
            guard wait else { return 0 }
            while let m = try await s.next() {
                guard m.type == .event, let e = m.event else {
                    if m.type == .bye {
                        stderr("ferrulectl: station dropped the connection: \(m.reason ?? "")")
                        return 2
                    }
                    continue
                }
                if connection.json { printJSON(e) }
                let mine = e["fixture"]?.int == fx && e["serial"]?.string == serial
                switch e["kind"]?.string {
                case "prompt"?:
                    let p = e["prompt"]
                    if !connection.json {
                        print(
                            "PROMPT \(p?["id"]?.text ?? ""): \(p?["text"]?.text ?? "")  (ferrulectl answer "
                                + "\(p?["id"]?.text ?? "") ok)")
                    }
                case "unitFinished"? where mine:
                    let verdict = e["verdict"]?.string ?? "error"
                    if !connection.json {
                        print("\(Escaped.text(serial)): \(verdict.uppercased())  report \(e["reportPath"]?.text ?? "")")
                        // A pass in the recipe's warning band stays a pass (exit 0), said on its own lines.
                        for w in e["warnings"]?.array ?? [] { print("  WARNING: \(w.text ?? "")") }
                    }
                    return verdict == "pass" ? 0 : (verdict == "fail" ? 1 : 2)
                case "unitHeld"? where mine:
                    // Measured but not stored (disk full, read-only): the station keeps it and
                    // stores it by itself; there is no report to ship yet, so not a verdict.
                    if !connection.json {
                        let measured = e["verdict"]?.text.map { "measured \($0.uppercased())" } ?? "measured, NO VERDICT (not kept)"
                        print(
                            "\(Escaped.text(serial)): \(measured), NOT STORED YET: "
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
    static let configuration = CommandConfiguration(
        abstract: "Abort the unit on a fixture (source off, switches parked, report 'aborted').")
    @OptionGroup var connection: Connection
    @Option(help: "Fixture.") var fixture: Int

    func run() async throws {
        let r = try await connection.session { s in try await connection.call(&s, request(.abort(fixture: fixture))) }
        if connection.json { printJSON(r) } else { print("aborting fixture \(fixture)") }
    }
}

struct Fault: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inject a fault into a simulated instrument (rehearsing the line; 'none' clears it).",
        discussion:
            """
                Faults: noReply, garbage, queueError, disconnect, slowSwitch, unplug, overRange, measurementFault, none. \
                Only instruments the station simulates on the wire ('simulate:' in its config) take faults.
                """
    )
    @OptionGroup var connection: Connection
    @Argument(help: "Instrument name, as in the station's config.") var instrument: String
    @Argument(help: "The fault.") var fault: String
    @Option(help: "Only on lines with this command, e.g. READ:RL?") var command: String?
    @Option(help: "Only while this launch position is lit.") var fiber: Int?

    func run() async throws {
        let r = try await connection.session { s in
            try await connection.call(
                &s,
                request(.fault(FaultToInject(instrument: instrument, fault: fault, command: command, fiber: fiber))))
        }
        if connection.json {
            printJSON(r)
        } else {
            print(
                Escaped.text(
                    "\(instrument): "
                        + "\(fault == "none" ? "fault cleared" : "now \(fault) \(r["scope"]?.string ?? "")")"))
        }
    }
}
