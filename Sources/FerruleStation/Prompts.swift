import FerruleConfig
import FerruleCore
import FerruleProtocol
import Foundation

/// The operator did not answer a prompt in time.
public struct PromptTimedOut: Error, Sendable, CustomStringConvertible {
    public var prompt: Prompt
    public var description: String { "no answer to \"\(prompt.text)\" within the timeout" }
}

/// An answer that does not fit the prompt (unknown id or choice).
public struct PromptAnswerRejected: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// The questions waiting for an operator (load this unit, connect that cord) and their answers.
public actor PromptCenter {
    private var open: [String: (prompt: Prompt, continuation: CheckedContinuation<String, any Error>)] = [:]
    private var counter = 0
    private let events: EventBus

    public init(events: EventBus) { self.events = events }

    public var pending: [Prompt] { open.values.map(\.prompt).sorted { $0.id < $1.id } }

    /// Asks and waits for an answer, a timeout or cancellation.
    public func ask(_ text: String, fixture: Int?, choices: [String] = ["ok", "cancel"], timeout: Duration) async throws -> String {
        counter += 1
        let id = "p\(counter)"
        let seconds = timeout.seconds
        let prompt = Prompt(id: id, fixture: fixture, text: text, choices: choices, expiresAt: Date().addingTimeInterval(seconds))
        await events.publish(.prompt(prompt))
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            await self?.fail(id, PromptTimedOut(prompt: prompt))
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { c in open[id] = (prompt, c) }
        } onCancel: {
            Task { await self.fail(id, CancellationError()) }
        }
    }

    public func answer(_ id: String, _ text: String) async throws(PromptAnswerRejected) {
        guard let entry = open[id] else {
            throw PromptAnswerRejected(description: "no open prompt '\(id)' (open: \(open.keys.sorted().joined(separator: ", ")))")
        }
        guard entry.prompt.choices.isEmpty || entry.prompt.choices.contains(text) else {
            throw PromptAnswerRejected(
                description: "'\(text)' is not an answer to prompt \(id); choose one of \(entry.prompt.choices.joined(separator: ", "))")
        }
        open[id] = nil
        entry.continuation.resume(returning: text)
        await events.publish(.promptClosed(id: id, answer: text))
    }

    private func fail(_ id: String, _ error: any Error) async {
        guard let entry = open.removeValue(forKey: id) else { return }
        entry.continuation.resume(throwing: error)
        await events.publish(.promptClosed(id: id, answer: nil))
    }
}
