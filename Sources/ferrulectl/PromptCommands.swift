import ArgumentParser
import FerruleCore
import FerruleProtocol
import Foundation

// Questions the station puts to the operator, and their answers.

struct Prompts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Questions the station is waiting on.")
    @OptionGroup var connection: Connection

    func run() async throws {
        let prompts = try await connection.session { s in try await connection.call(&s, request(.prompts), as: [Prompt].self) }
        if connection.json {
            printJSON(prompts)
            return
        }
        for p in prompts {
            print("\(Escaped.text(p.id)): \(Escaped.text(p.text))  [\(p.choices.map(Escaped.text).joined(separator: "/"))]")
        }
    }
}

struct Answer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Answer a prompt, e.g. 'ferrulectl answer p3 ok'.")
    @OptionGroup var connection: Connection
    @Argument(help: "Prompt id.") var prompt: String
    @Argument(help: "Answer (one of the prompt's choices).") var answer: String

    func run() async throws {
        let r = try await connection.session { s in
            try await connection.call(
                &s,
                request(.answer(prompt: prompt, answer: answer)))
        }
        if connection.json { printJSON(r) } else { print("answered \(prompt): \(answer)") }
    }
}
