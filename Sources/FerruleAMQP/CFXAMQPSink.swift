import Crypto
import FerruleCore
import FerruleRecords
import Foundation

/// Publishes the line's IPC-CFX messages to an AMQP 1.0 broker: each unit's WorkStarted at its
/// start and the station's moments (references, faults, operators) from the line's message
/// outbox, then each finished unit's UnitsTested and WorkCompleted from the report outbox; like
/// every sink at least once, in order, retried with backoff, and delivered only when the broker
/// has accepted them (its settlement is the proof). A message sent again keeps its UniqueID. A
/// refused credential or a broker that is down is retried and shown as the sink failing; a
/// message the broker rejects is parked. The password is read from its file at every attempt,
/// so a rotated password needs no restart.
public final class CFXAMQPSink: Sink {
    public let name: String
    public var kind: SinkKind { .cfxAMQP }
    public let broker: BrokerAccount
    public let address: String
    /// The station's CFX handle: every envelope's Source.
    public let handle: String
    public let timeout: Duration
    let publisher = AMQPPublisher()

    public init(name: String, broker: BrokerAccount, address: String, handle: String, timeout: Duration = .seconds(10)) {
        self.name = name
        self.broker = broker
        self.address = address
        self.handle = handle
        self.timeout = timeout
    }

    public func deliver(_ report: UnitReport) async -> DeliveryOutcome {
        let messages: [CFXMessage]
        do {
            messages = try CFXUnitMessages.messages(report, source: handle) { Self.uniqueID(report: report.reportId, message: $0) }
        } catch {
            return .park("cannot render the CFX messages: \(error)")
        }
        return await publish(messages)
    }

    public var carriesLineMessages: Bool { true }

    public func deliver(_ message: LineMessage) async -> DeliveryOutcome {
        let rendered: CFXMessage
        do { rendered = try CFXLineMessages.message(message, source: handle) } catch {
            return .park("cannot render the CFX message: \(error)")
        }
        return await publish([rendered])
    }

    /// Publishes `messages` in one connection; delivered only when the broker settled all of them.
    private func publish(_ messages: [CFXMessage]) async -> DeliveryOutcome {
        let endpoint: AMQPEndpoint
        switch broker.endpoint(address: address, containerId: "\(handle)/\(name)") {
        case .success(let e): endpoint = e
        case .failure(let why): return .retry(why.description)
        }
        let outcomes = await publisher.publish(
            messages.map { AMQPMessage(body: Array($0.json), subject: $0.name, messageId: $0.uniqueID) }, to: endpoint,
            timeout: timeout)
        for (message, outcome) in zip(messages, outcomes) {
            switch outcome {
            case .accepted: continue
            case .rejected(let why): return .park("\(message.name): \(why)")
            case .notDelivered(let why): return .retry(explain(why))
            }
        }
        return .delivered
    }

    /// Says what to do when the broker refused the credentials, as the operator will read it.
    func explain(_ why: String) -> String {
        guard why.contains("unauthorized-access") || why.contains("Authentication failed") else { return why }
        return "the broker at \(broker.url) refused user '\(broker.user ?? "anonymous")' (\(why)): check the sink's user and passwordFile"
    }

    public func shutdown() async { publisher.close() }

    /// A UniqueID for one of a report's messages, the same at every attempt (see `CFXUnitMessages.stableID`).
    public static func uniqueID(report: UUID, message: String) -> String {
        CFXUnitMessages.stableID(report: report, message: message).uuidString.lowercased()
    }
}
