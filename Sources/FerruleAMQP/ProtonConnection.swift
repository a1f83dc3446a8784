import CProton
import Foundation
import Synchronization

/// One AMQP connection driven by its own Proton proactor on its own thread. Proton objects are
/// touched only on that thread, inside event handling; other threads hand it messages through
/// `state` and wake it with `pn_connection_wake`, the one call Proton allows from anywhere (and
/// only while the connection lives: `alive` is cleared, under the same lock, once its
/// transport has closed). With an `inbox` it also receives, on a second link, the answers sent
/// to the inbox's address.
final class ProtonConnection: @unchecked Sendable {
    let endpoint: AMQPEndpoint
    let inbox: ReplyInbox?
    private let proactor: OpaquePointer
    private let connection: OpaquePointer
    private let state = Mutex(State())

    struct State {
        var alive = true
        /// The proactor thread has ended and freed the proactor: nothing may touch it.
        var finished = false
        /// Why the connection failed, for every message it could not send.
        var failure: String?
        var queue: [(tag: UInt64, message: AMQPMessage)] = []
        /// Tags sent or queued, not yet settled.
        var open: Set<UInt64> = []
        var settled: [UInt64: AMQPOutcome] = [:]
        var waiting: [UInt64: CheckedContinuation<AMQPOutcome, Never>] = [:]
        var nextTag: UInt64 = 1
        /// The broker's AMQP open arrived: the transport (and TLS, if any) is up.
        var opened = false
        var openWaiters: [CheckedContinuation<Bool, Never>] = []
    }

    // Confined to the proactor thread.
    private var sender: OpaquePointer?
    var receiver: OpaquePointer?
    private var remoteReason: String?

    var isAlive: Bool { state.withLock { $0.alive } }

    /// `checkName: false` only for the probe that tells a wrong CA from a wrong host name.
    init(endpoint: AMQPEndpoint, inbox: ReplyInbox? = nil, checkName: Bool = true) {
        self.endpoint = endpoint
        self.inbox = inbox
        proactor = pn_proactor()
        connection = pn_connection()
        pn_connection_set_container(connection, endpoint.containerId)
        pn_connection_set_hostname(connection, endpoint.host)
        if let user = endpoint.user { pn_connection_set_user(connection, user) }
        if let password = endpoint.password { pn_connection_set_password(connection, password) }
        var address = [CChar](repeating: 0, count: Int(PN_MAX_ADDR))
        _ = pn_proactor_addr(&address, address.count, endpoint.host, String(endpoint.port))
        let transport = pn_transport()
        if let tls = endpoint.tls, let failure = Self.secure(transport, tls, host: endpoint.host, checkName: checkName) {
            state.withLock { $0.failure = failure }
        }
        pn_proactor_connect2(proactor, connection, transport, address)
        let thread = Thread { [self] in run() }
        thread.name = "amqp-\(endpoint.host)"
        thread.start()
    }

    /// Queues the batch, wakes the proactor, and waits for every message's outcome.
    func publish(_ messages: [AMQPMessage], timeout: Duration) async -> [AMQPOutcome] {
        let tags: [UInt64]? = state.withLock { s in
            guard s.alive else { return nil }
            return messages.map { m in
                let tag = s.nextTag
                s.nextTag += 1
                s.queue.append((tag, m))
                s.open.insert(tag)
                return tag
            }
        }
        guard let tags else {
            let why = state.withLock { $0.failure } ?? "the connection to \(endpoint.host) closed"
            return messages.map { _ in .notDelivered(why) }
        }
        wake()
        let timer = Task {
            try await Task.sleep(for: timeout)
            self.resolve(tags, .notDelivered("the broker at \(self.endpoint.host):\(self.endpoint.port) settled nothing within \(timeout)"))
            self.disconnect()
        }
        defer { timer.cancel() }
        var outcomes: [AMQPOutcome] = []
        for tag in tags { outcomes.append(await outcome(of: tag)) }
        return outcomes
    }

    private func outcome(of tag: UInt64) async -> AMQPOutcome {
        await withCheckedContinuation { c in
            let ready: AMQPOutcome? = state.withLock { s in
                if let r = s.settled.removeValue(forKey: tag) { return r }
                s.waiting[tag] = c
                return nil
            }
            if let ready { c.resume(returning: ready) }
        }
    }

    /// Settles tags still open with `outcome`; a tag settled already keeps its first outcome.
    private func resolve(_ tags: some Sequence<UInt64>, _ outcome: AMQPOutcome) {
        let resume: [CheckedContinuation<AMQPOutcome, Never>] = state.withLock { s in
            var list: [CheckedContinuation<AMQPOutcome, Never>] = []
            for tag in tags where s.open.remove(tag) != nil {
                s.queue.removeAll { $0.tag == tag }
                if let c = s.waiting.removeValue(forKey: tag) { list.append(c) } else { s.settled[tag] = outcome }
            }
            return list
        }
        for c in resume { c.resume(returning: outcome) }
    }

    private func wake() {
        state.withLock { s in
            if s.alive { pn_connection_wake(connection) }
        }
    }

    /// Drops the connection from any thread (a timeout, a changed endpoint, shutdown).
    func disconnect() {
        state.withLock { s in
            if !s.finished { pn_proactor_disconnect(proactor, nil) }
        }
    }

    // MARK: The proactor thread

    private func run() {
        var running = true
        while running {
            let batch = pn_proactor_wait(proactor)
            while let event = pn_event_batch_next(batch) {
                if !handle(event) { running = false }
            }
            pn_proactor_done(proactor, batch)
        }
        state.withLock { s in
            s.finished = true
            pn_proactor_free(proactor)
        }
    }

    /// One Proton event; false once the proactor has nothing left to do.
    private func handle(_ event: OpaquePointer) -> Bool {
        switch pn_event_type(event) {
        case PN_CONNECTION_BOUND:
            // SASL PLAIN with a user, ANONYMOUS without; PLAIN is allowed in the clear only
            // without TLS (a loopback or line-network broker, as the config chose).
            let sasl = pn_sasl(pn_event_transport(event))
            pn_sasl_allowed_mechs(sasl, endpoint.user == nil ? "ANONYMOUS" : "PLAIN")
            pn_sasl_set_allow_insecure_mechs(sasl, endpoint.tls == nil)
            if state.withLock({ $0.failure }) != nil { pn_connection_close(pn_event_connection(event)) }
        case PN_CONNECTION_INIT:
            openLink(pn_event_connection(event))
        case PN_CONNECTION_REMOTE_OPEN:
            let waiters = state.withLock { s in
                s.opened = true
                defer { s.openWaiters = [] }
                return s.openWaiters
            }
            for w in waiters { w.resume(returning: true) }
        case PN_LINK_FLOW, PN_CONNECTION_WAKE:
            pump()
        case PN_DELIVERY:
            let delivery = pn_event_delivery(event)
            if receiver != nil, pn_delivery_link(delivery) == receiver { receive(delivery) } else { settle(delivery) }
        case PN_CONNECTION_REMOTE_CLOSE:
            note(pn_connection_remote_condition(pn_event_connection(event)), "the broker closed the connection")
            pn_connection_close(pn_event_connection(event))
        case PN_SESSION_REMOTE_CLOSE:
            note(pn_session_remote_condition(pn_event_session(event)), "the broker closed the session")
            pn_connection_close(pn_event_connection(event))
        case PN_LINK_REMOTE_CLOSE:
            note(pn_link_remote_condition(pn_event_link(event)), "the broker closed the link to \(endpoint.address)")
            pn_connection_close(pn_event_connection(event))
        case PN_TRANSPORT_CLOSED:
            note(pn_transport_condition(pn_event_transport(event)), "the connection to \(endpoint.host):\(endpoint.port) closed")
            closed()
        case PN_PROACTOR_INACTIVE:
            return false
        default:
            break
        }
        return true
    }

    private func openLink(_ c: OpaquePointer?) {
        pn_connection_open(c)
        let session = pn_session(c)
        pn_session_open(session)
        // The answers' link first: the broker attaches it (declaring its queue) before any request leaves.
        if let inbox { openInbox(session, inbox) }
        let link = pn_sender(session, "ferrule-\(endpoint.containerId)")
        pn_terminus_set_address(pn_link_target(link), endpoint.address)
        pn_link_set_snd_settle_mode(link, pn_snd_settle_mode_t(PN_SND_UNSETTLED.rawValue))
        pn_link_open(link)
        sender = link
    }

    /// Sends queued messages while the broker gives credit.
    private func pump() {
        guard let link = sender else { return }
        while pn_link_credit(link) > 0 {
            guard let (tag, message) = state.withLock({ s in s.queue.isEmpty ? nil : s.queue.removeFirst() }) else { return }
            var bigEndian = tag.bigEndian
            _ = withUnsafeBytes(of: &bigEndian) { raw in
                pn_delivery(link, pn_dtag(raw.baseAddress!.assumingMemoryBound(to: CChar.self), 8))
            }
            let encoded = ProtonCodec.encode(message)
            _ = encoded.withUnsafeBufferPointer { pn_link_send(link, $0.baseAddress, $0.count) }
            pn_link_advance(link)
        }
    }

    private func settle(_ delivery: OpaquePointer?) {
        let state = pn_delivery_remote_state(delivery)
        guard state != 0 else { return }  // no outcome yet
        let tagBytes = pn_delivery_tag(delivery)
        guard tagBytes.size == 8, let start = tagBytes.start else { return }
        var tag: UInt64 = 0
        withUnsafeMutableBytes(of: &tag) { $0.copyMemory(from: UnsafeRawBufferPointer(start: start, count: 8)) }
        tag = UInt64(bigEndian: tag)
        let outcome: AMQPOutcome
        switch state {
        case UInt64(PN_ACCEPTED): outcome = .accepted
        case UInt64(PN_REJECTED):
            let why = ProtonCodec.describe(pn_disposition_condition(pn_delivery_remote(delivery))) ?? "no reason given"
            outcome = .rejected("the broker rejected the message: \(why)")
        default: outcome = .notDelivered("the broker released the message without taking it")
        }
        resolve([tag], outcome)
        pn_delivery_settle(delivery)
    }

    /// Keeps the first reason the broker or the transport gave, for every message not settled.
    private func note(_ condition: OpaquePointer?, _ context: String) {
        if remoteReason == nil, let why = ProtonCodec.describe(condition) { remoteReason = "\(context): \(why)" }
    }

    /// The transport is gone: every message not settled is not delivered, with the reason.
    private func closed() {
        let (open, waiters, why): (Set<UInt64>, [CheckedContinuation<Bool, Never>], String) = state.withLock { s in
            let why = s.failure ?? explainTLS(remoteReason) ?? "the connection to \(endpoint.host):\(endpoint.port) closed"
            s.alive = false
            s.failure = why
            defer { s.openWaiters = [] }
            return (s.open, s.openWaiters, why)
        }
        for w in waiters { w.resume(returning: false) }
        resolve(open, .notDelivered(why))
    }

    /// Waits until the broker's AMQP open arrives (true) or the connection closes (false).
    func opened() async -> Bool {
        await withCheckedContinuation { c in
            let known: Bool? = state.withLock { s in
                if s.opened { return true }
                if !s.alive { return false }
                s.openWaiters.append(c)
                return nil
            }
            if let known { c.resume(returning: known) }
        }
    }
}
