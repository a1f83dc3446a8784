import FerruleCore
import Foundation
import Logging
import Synchronization

/// The faults the line has been told of and not yet told cleared, each under its own
/// FaultOccurrenceId (CFX FaultOccurred, then FaultCleared with the same id), by cause and subject.
struct FaultLedger: Sendable {
    struct Key: Hashable, Sendable {
        var cause: LineMessage.FaultCause
        var subject: String
    }

    private(set) var open: [Key: UUID] = [:]

    /// The messages that bring the line from what it was told of `cause` to `current` (subject: detail).
    mutating func reconcile(_ current: [String: String], cause: LineMessage.FaultCause, at: Date) -> [LineMessage] {
        var out: [LineMessage] = []
        for (subject, detail) in current.sorted(by: { $0.key < $1.key }) {
            if let m = raise(subject, detail: detail, cause: cause, at: at) { out.append(m) }
        }
        for key in open.keys.filter({ $0.cause == cause && current[$0.subject] == nil }).sorted(by: { $0.subject < $1.subject }) {
            if let m = clear(key.subject, cause: cause, at: at) { out.append(m) }
        }
        return out
    }

    /// FaultOccurred, unless the fault is open already; `id` where the fault has one of its own
    /// (a worn cord keeps the same one across restarts, so the MES sees one fault, not two).
    mutating func raise(_ subject: String, detail: String, cause: LineMessage.FaultCause, at: Date, id given: UUID? = nil)
        -> LineMessage?
    {
        let key = Key(cause: cause, subject: subject)
        guard open[key] == nil else { return nil }
        let id = given ?? UUID()
        open[key] = id
        // An instrument's fault is written as older versions wrote it (no cause), so they read it back.
        let stored = cause == .instrument ? nil : cause
        return LineMessage(at: at, .faultOccurred(fault: id, instrument: subject, detail: detail, cause: stored))
    }

    /// FaultCleared, if the fault is open.
    mutating func clear(_ subject: String, cause: LineMessage.FaultCause, at: Date) -> LineMessage? {
        guard let id = open.removeValue(forKey: Key(cause: cause, subject: subject)) else { return nil }
        return LineMessage(at: at, .faultCleared(fault: id, instrument: subject))
    }
}

/// Every fault that stops the station, told to the line in the order it happened (through the
/// delivery's ordered queue), and the station told when it goes from no fault to some or back
/// (its state for the line, CFX StationStateChanged), after the fault's own message.
final class LineFaults: Sendable {
    private let ledger = Mutex(FaultLedger())
    private let delivery: Delivery
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let onFaulted = Mutex<@Sendable (Bool) async -> Void>({ _ in })

    init(delivery: Delivery, logger: Logger, now: @escaping @Sendable () -> Date) {
        self.delivery = delivery
        self.logger = logger
        self.now = now
    }

    /// Who hears that the station has a fault now, or none.
    func whenFaultedChanges(_ handler: @escaping @Sendable (Bool) async -> Void) { onFaulted.withLock { $0 = handler } }

    func raise(_ cause: LineMessage.FaultCause, _ subject: String, detail: String, id: UUID? = nil) {
        update { $0.raise(subject, detail: detail, cause: cause, at: now(), id: id).map { [$0] } ?? [] }
    }

    func clear(_ cause: LineMessage.FaultCause, _ subject: String) {
        update { $0.clear(subject, cause: cause, at: now()).map { [$0] } ?? [] }
    }

    /// The faults of `cause` are now exactly `current` (subject: detail).
    func reconcile(_ cause: LineMessage.FaultCause, _ current: [String: String]) {
        update { $0.reconcile(current, cause: cause, at: now()) }
    }

    private func update(_ change: (inout FaultLedger) -> [LineMessage]) {
        // Posted under the lock: two changes racing reach the queue in the order the ledger took them.
        ledger.withLock { ledger in
            let before = ledger.open.isEmpty
            let messages = change(&ledger)
            for m in messages { delivery.postInOrder(m, logger: logger) }
            guard ledger.open.isEmpty != before else { return }
            let faulted = !ledger.open.isEmpty
            let handler = onFaulted.withLock { $0 }
            delivery.lineQueue.add { await handler(faulted) }
        }
    }
}
