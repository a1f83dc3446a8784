import Foundation
import Synchronization

/// What came of one request sent through the broker.
public enum AMQPAnswer: Sendable, Equatable {
    /// The body of the answer whose key is the request's.
    case answered([UInt8])
    /// The broker took the request, and no answer came within the time allowed.
    case noAnswer
    /// The request did not reach the broker (no connection, refused credentials, TLS), or the
    /// broker would not take it.
    case notSent(String)
}

/// Request and answer through a broker: the request goes to the responder's address with a
/// reply-to naming this requester's own queue, which it reads on a second link of the same
/// connection; answers are matched to requests by a key read from the answer's body (CFX's
/// RequestID), so a late answer to a request already given up is dropped, not mistaken for the
/// next one. One connection is kept open between requests and opened again after it fails.
public final class AMQPRequester: Sendable {
    /// The queue answers come to (RabbitMQ declares `/queue/NAME` when the link attaches).
    public let replyAddress: String
    private let keyOfAnswer: @Sendable ([UInt8]) -> String?
    private let current = Mutex<ProtonConnection?>(nil)
    private let slots = Mutex<[String: Slot]>([:])

    private enum Slot {
        case pending(CheckedContinuation<[UInt8]?, Never>?)
        case arrived([UInt8])
    }

    public init(replyAddress: String, keyOfAnswer: @escaping @Sendable ([UInt8]) -> String?) {
        self.replyAddress = replyAddress
        self.keyOfAnswer = keyOfAnswer
    }

    /// Sends `request` (its reply-to set here) and waits, `timeout` in all, for the answer keyed `key`.
    public func request(_ request: AMQPMessage, key: String, to endpoint: AMQPEndpoint, timeout: Duration) async -> AMQPAnswer {
        let start = ContinuousClock.now
        slots.withLock { $0[key] = .pending(nil) }
        var message = request
        message.replyTo = replyAddress
        message.timeToLive = timeout  // an answer nobody waits for is worth nothing: the broker may drop it
        let sent = await connection(to: endpoint).publish([message], timeout: timeout)
        switch sent.first {
        case .accepted: break
        case .rejected(let why), .notDelivered(let why):
            slots.withLock { _ = $0.removeValue(forKey: key) }
            return .notSent(await TLSDiagnosis.refine(why, endpoint: endpoint))  // unchanged unless a certificate failed
        case nil:
            slots.withLock { _ = $0.removeValue(forKey: key) }
            return .notSent("nothing was sent")
        }
        let timer = Task {
            try await Task.sleep(until: start + timeout, clock: .continuous)
            self.finish(key, with: nil)
        }
        defer { timer.cancel() }
        let body: [UInt8]? = await withCheckedContinuation { c in
            let ready: [UInt8]?? = slots.withLock { s in
                switch s[key] {
                case .arrived(let body):
                    s[key] = nil
                    return .some(body)
                case .pending:
                    s[key] = .pending(c)
                    return nil
                case nil:
                    return .some(nil)  // the time ran out first
                }
            }
            if let ready { c.resume(returning: ready) }
        }
        return body.map(AMQPAnswer.answered) ?? .noAnswer
    }

    private func connection(to endpoint: AMQPEndpoint) -> ProtonConnection {
        current.withLock { current in
            if let c = current, c.endpoint == endpoint, c.isAlive { return c }
            current?.disconnect()
            let inbox = ReplyInbox(address: replyAddress) { [weak self] body in self?.arrived(body) }
            let c = ProtonConnection(endpoint: endpoint, inbox: inbox)
            current = c
            return c
        }
    }

    /// An answer came: to its waiting request, kept until the request waits, or dropped when
    /// no request has that key (late, or another requester's).
    private func arrived(_ body: [UInt8]) {
        guard let key = keyOfAnswer(body) else { return }
        let waiting: CheckedContinuation<[UInt8]?, Never>? = slots.withLock { s in
            guard case .pending(let c) = s[key] else { return nil }
            if c == nil { s[key] = .arrived(body) } else { s[key] = nil }
            return c
        }
        waiting?.resume(returning: body)
    }

    private func finish(_ key: String, with body: [UInt8]?) {
        let waiting: CheckedContinuation<[UInt8]?, Never>? = slots.withLock { s in
            guard case .pending(let c) = s[key] else { return nil }  // an answer that arrived stays for its request
            s[key] = nil
            return c
        }
        waiting?.resume(returning: body)
    }

    /// Closes the connection (ferruled stopping).
    public func close() {
        current.withLock {
            $0?.disconnect()
            $0 = nil
        }
    }
}
