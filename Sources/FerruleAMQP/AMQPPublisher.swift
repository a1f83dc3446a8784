import Foundation
import Synchronization

/// Where and as whom to publish: a broker, the target address (a queue or an exchange), the
/// SASL PLAIN credentials (none: ANONYMOUS), the container id the broker sees, and TLS (amqps).
public struct AMQPEndpoint: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var address: String
    public var user: String?
    public var password: String?
    public var containerId: String
    /// nil: plain AMQP; set: TLS, the broker's certificate checked against the CA and its name.
    public var tls: AMQPTLS?

    public init(
        host: String, port: Int, address: String, user: String?, password: String?, containerId: String, tls: AMQPTLS? = nil
    ) {
        self.host = host
        self.port = port
        self.address = address
        self.user = user
        self.password = password
        self.containerId = containerId
        self.tls = tls
    }

    /// `amqp://host:port` or `amqps://host:port`, for messages.
    public var url: String { "\(tls == nil ? "amqp" : "amqps")://\(host):\(port)" }

}

/// A broker and how to log in to it: where, the SASL user with the file that holds the password
/// (read at every attempt, so a rotated password needs no restart; no user: ANONYMOUS), and TLS.
public struct BrokerAccount: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var user: String?
    public var passwordFile: String?
    public var tls: AMQPTLS?

    public init(host: String, port: Int, user: String?, passwordFile: String?, tls: AMQPTLS? = nil) {
        self.host = host
        self.port = port
        self.user = user
        self.passwordFile = passwordFile
        self.tls = tls
    }

    /// `amqp://host:port` or `amqps://host:port`, for messages.
    public var url: String { "\(tls == nil ? "amqp" : "amqps")://\(host):\(port)" }

    /// The endpoint for `address` as `containerId`, with the password as its file holds it now.
    func endpoint(address: String, containerId: String) -> Result<AMQPEndpoint, UnreadablePassword> {
        var password: String?
        if let passwordFile {
            guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
                return .failure(UnreadablePassword(description: "cannot read the broker password from \(passwordFile)"))
            }
            password = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return .success(AMQPEndpoint(
            host: host, port: port, address: address, user: user, password: password, containerId: containerId, tls: tls))
    }
}

struct UnreadablePassword: Error, CustomStringConvertible {
    var description: String
}

/// TLS to the broker: the CA file its certificate must chain to (the certificate must also name
/// the host connected to), and the station's own certificate and key where the broker asks.
public struct AMQPTLS: Sendable, Hashable {
    public var caFile: String
    public var certFile: String?
    public var keyFile: String?

    public init(caFile: String, certFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
    }
}

/// One message: its body (bytes, sent as an AMQP data section), subject and message id; a
/// request also carries where its answer goes and how long it is worth delivering.
public struct AMQPMessage: Sendable {
    public var body: [UInt8]
    public var subject: String
    public var messageId: String
    public var contentType: String
    public var replyTo: String?
    public var timeToLive: Duration?

    public init(
        body: [UInt8], subject: String, messageId: String, contentType: String = "application/json; charset=utf-8",
        replyTo: String? = nil, timeToLive: Duration? = nil
    ) {
        self.body = body
        self.subject = subject
        self.messageId = messageId
        self.contentType = contentType
        self.replyTo = replyTo
        self.timeToLive = timeToLive
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
        let outcomes = await connection.publish(messages, timeout: timeout)
        guard case .notDelivered(let why) = outcomes.first, TLSDiagnosis.isCertificateFailure(why) else { return outcomes }
        let refined = await TLSDiagnosis.refine(why, endpoint: endpoint)
        return outcomes.map { if case .notDelivered = $0 { .notDelivered(refined) } else { $0 } }
    }

    /// Closes the connection (ferruled stopping); a later publish opens a new one.
    public func close() {
        current.withLock {
            $0?.disconnect()
            $0 = nil
        }
    }
}
