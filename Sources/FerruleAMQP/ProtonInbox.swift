import CProton
import Foundation

/// Where a connection receives answers (a queue the station reads), and what it does with each
/// message's body. Called on the proactor thread: it must not block.
struct ReplyInbox: Sendable {
    var address: String
    var deliver: @Sendable ([UInt8]) -> Void
}

extension ProtonConnection {
    /// Credit kept open on the answers' link: answers are small and taken at once.
    static let inboxCredit: Int32 = 16

    func openInbox(_ session: OpaquePointer?, _ inbox: ReplyInbox) {
        let link = pn_receiver(session, "ferrule-answers-\(endpoint.containerId)")
        pn_terminus_set_address(pn_link_source(link), inbox.address)
        pn_link_open(link)
        pn_link_flow(link, Self.inboxCredit)
        receiver = link
    }

    /// One message arrived on the answers' link: accepted (it was read; what it says is the
    /// inbox's business), its credit given back.
    func receive(_ delivery: OpaquePointer?) {
        guard pn_delivery_readable(delivery), !pn_delivery_partial(delivery), let link = pn_delivery_link(delivery) else { return }
        var bytes = [CChar](repeating: 0, count: pn_delivery_pending(delivery))
        let read = bytes.withUnsafeMutableBufferPointer { pn_link_recv(link, $0.baseAddress, $0.count) }
        pn_link_advance(link)
        if read >= 0, let body = ProtonCodec.body(ofEncoded: Array(bytes.prefix(read))) { inbox?.deliver(body) }
        pn_delivery_update(delivery, UInt64(PN_ACCEPTED))
        pn_delivery_settle(delivery)
        pn_link_flow(link, 1)
    }
}
