import FerruleConfig
import FerruleCore
import FerruleRecords
import Foundation

/// What to put back in a sink's queue.
public enum ResendSelection: Sendable {
    /// One report: its id, or a serial (the serial's latest finished unit).
    case report(String)
    /// Every report the sink has parked.
    case parked
}

/// Reports queued again for a sink, and how many now wait there again.
public struct ResendOutcome: Sendable, Codable {
    public var sink: String
    public var queued: [UUID]
    public var waiting: Int
}

/// Why nothing was queued again.
public enum ResendProblem: Error, Sendable, CustomStringConvertible {
    case unknownSink(String, known: [String])
    case noReport(String)
    /// The sink has not had the report yet: it is still in the queue.
    case stillWaiting(String)
    case storage(String)

    public var description: String {
        switch self {
        case .unknownSink(let name, let known):
            "no sink is named '\(Escaped.text(name))' (sinks: \(known.isEmpty ? "none" : known.joined(separator: ", ")))"
        case .noReport(let what): "no finished unit has report id or serial '\(Escaped.text(what))'"
        case .stillWaiting(let what): "the sink has not had '\(Escaped.text(what))' yet; it is still in its queue"
        case .storage(let why): "the results store: \(why)"
        }
    }
}

extension Delivery {
    /// A sink's parked reports, oldest first.
    public func parked(sink: String) async throws(ResendProblem) -> [ParkedDelivery] {
        try known(sink)
        let store = store
        return try await storing { try await store.parked(sink: sink) }
    }

    /// Puts reports back in `sink`'s queue (a parked one once its receiver was fixed, a delivered
    /// one the receiver lost) and wakes its runner; `who` is noted with them and in the log.
    public func resend(sink: String, _ selection: ResendSelection, by who: String) async throws(ResendProblem) -> ResendOutcome {
        try known(sink)
        let ids: [UUID]
        switch selection {
        case .parked: ids = try await parked(sink: sink).map(\.reportId)
        case .report(let what): ids = [try await reportId(what, sink: sink)]
        }
        let store = store
        let waiting = try await storing { try await store.queueAgain(sink: sink, reportIds: ids, by: who, at: Date()) }
        runners.first { $0.sink.name == sink }?.wake()
        return ResendOutcome(sink: sink, queued: ids, waiting: waiting)
    }

    func known(_ sink: String) throws(ResendProblem) {
        let names = runners.map(\.sink.name)
        guard names.contains(sink) else { throw .unknownSink(sink, known: names) }
    }

    /// The report `what` names (an id, else a serial's latest finished unit), if the sink has had it.
    private func reportId(_ what: String, sink: String) async throws(ResendProblem) -> UUID {
        let store = store
        var found = UUID(uuidString: what)
        if found == nil {
            found = try await storing {
                try await store.history(HistoryFilter(serial: what, limit: 20)).first { $0.state != .running }?.reportId
            }
        }
        guard let id = found else { throw .noReport(what) }
        switch try await storing({ try await store.resendRefusal(sink: sink, reportId: id) }) {
        case nil: return id
        case .stillWaiting?: throw .stillWaiting(what)
        case .noSuchReport?: throw .noReport(what)
        }
    }

    /// A store call whose failure is the store's problem, said as such.
    func storing<T>(_ body: () async throws -> T) async throws(ResendProblem) -> T {
        do { return try await body() } catch { throw .storage("\(error)") }
    }
}
