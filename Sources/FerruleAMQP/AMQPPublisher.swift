import Foundation
import Synchronization

/// Where and as whom to publish: a broker, the target address (a queue or an exchange), the
/// SASL PLAIN credentials (none: ANONYMOUS) and the container id the broker sees.
public struct AMQPEndpoint: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var address: String
    public var user: String?
    public var password: String?
    public var containerId: String

    public init(host: String, port: Int, address: String, user: String?, password: String?, containerId: String) {
        self.host = host
        self.port = port
        self.address = address
        self.user = user
        self.password = password
        self.containerId = containerId
    }
}

/// One message: its body (bytes, sent as an AMQP data section), subject and message id.
public struct AMQPMessage: Sendable {
    public var body: [UInt8]
    public var subject: String
    public var messageId: String
    public var contentType: String

    public init(body: [UInt8], subject: String, messageId: String, contentType: String = "application/json; charset=utf-8") {
        self.body = body
        self.subject = subject
        self.messageId = messageId
        self.contentType = contentType
    }
}

/// What became of one message.
public enum AMQPOutcome: Sendable, Equatable {
    /// The broker accepted it: settled, the proof of delivery.
    case accepted
    /// The broker took it and refused it (a bad address, a message it will never take):
    /// sending the same again will not help.
    case rejected(String)
    /// Not settled: no connection, credentials refused, the broker released it or did not answer
    /// in time. It may or may not have arrived; send it again (at least once).
    case notDelivered(String)
}

/// Publishes to one broker over one AMQP 1.0 connection at a time, kept open between batches
/// and opened again after it fails or when the endpoint changes (a rotated password). Each
/// batch goes out in order on one sending link; the caller gets every message's settlement.
public final class AMQPPublisher: Sendable {
    private let current = Mutex<ProtonConnection?>(nil)

    public init() {}

    /// Publishes `messages` in order and returns each one's outcome, waiting at most `timeout`
    /// for the broker to settle them all (those it has not settled by then are `notDelivered`,
    /// and the connection is dropped, so that a late answer cannot be mistaken).
    public func publish(_ messages: [AMQPMessage], to endpoint: AMQPEndpoint, timeout: Duration) async -> [AMQPOutcome] {
        guard !messages.isEmpty else { return [] }
        let connection = current.withLock { current -> ProtonConnection in
            if let c = current, c.endpoint == endpoint, c.isAlive { return c }
            current?.disconnect()
            let c = ProtonConnection(endpoint: endpoint)
            current = c
            return c
        }
        return await connection.publish(messages, timeout: timeout)
    }

    /// Closes the connection (ferruled stopping); a later publish opens a new one.
    public func close() {
        current.withLock {
            $0?.disconnect()
            $0 = nil
        }
    }
}
