import ArgumentParser
import FerruleCore
import FerruleProtocol
import Foundation

// References and cords.

struct Reference: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Take a reference on a fixture (the station asks for the reference cord).")
    @OptionGroup var connection: Connection
    @Option(help: "Fixture.") var fixture: Int
    @Option(help: "The reference cord: its id (RC-B-004) or its polarity (A, B, C: the fixture's one cord of that polarity).")
    var cord: String?
    @Option(name: .customLong("operator"), help: "Operator id.") var operatorId: String?

    func run() async throws {
        let r = try await connection.session { s in
            try await connection.call(
                &s,
                request(.reference(fixture: fixture, cord: cord), operator: operatorId)
            ) { e in
                if e["kind"]?.string == "prompt", let p = e["prompt"], !connection.json {
                    print("PROMPT \(p["id"]?.text ?? ""): \(p["text"]?.text ?? "")  (ferrulectl answer \(p["id"]?.text ?? "") ok)")
                }
            }
        }
        if connection.json {
            printJSON(r)
        } else {
            print(
                "fixture \(fixture): reference taken with cord \(r["cord"]?.text ?? "?") "
                    + "(Type \(r["polarity"]?.text ?? "?")) "
                    + "at \(r["takenAt"]?.text ?? "?") (\(r["values"]?.int ?? 0) path values)")
        }
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
            try await connection.call(
                &s,
                request(.cordReset(cord: cord), operator: operatorId))
        }
        if connection.json { printJSON(r) } else { print("cord \(Escaped.text(cord)): matings reset to 0") }
    }
}
