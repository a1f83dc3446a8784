import CProton
import Foundation

/// AMQP messages to and from Proton's wire encoding, and Proton's error conditions as text.
enum ProtonCodec {
    static func describe(_ condition: OpaquePointer?) -> String? {
        guard let condition, pn_condition_is_set(condition) else { return nil }
        let name = pn_condition_get_name(condition).map { String(cString: $0) } ?? "amqp:error"
        let text = pn_condition_get_description(condition).map { String(cString: $0) } ?? ""
        return text.isEmpty ? name : "\(name): \(text)"
    }

    /// The message in AMQP's wire encoding: durable (the broker keeps it across a restart), the
    /// body as one data section; a request also names where its answer goes and how long it may
    /// wait at the broker (its ttl: nobody waits for the answer after that).
    static func encode(_ m: AMQPMessage) -> [CChar] {
        let msg = pn_message()
        defer { pn_message_free(msg) }
        pn_message_set_durable(msg, true)
        pn_message_set_inferred(msg, true)
        pn_message_set_content_type(msg, m.contentType)
        pn_message_set_subject(msg, m.subject)
        if let replyTo = m.replyTo { pn_message_set_reply_to(msg, replyTo) }
        if let ttl = m.timeToLive {
            let (seconds, attoseconds) = ttl.components
            pn_message_set_ttl(msg, pn_millis_t(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000))
        }
        var buffer = pn_rwbytes_t(size: 0, start: nil)
        defer { free(buffer.start) }
        let length: Int = m.messageId.withCString { id in
            m.body.withUnsafeBufferPointer { body in
                body.withMemoryRebound(to: CChar.self) { bytes in
                    pn_data_put_string(pn_message_id(msg), pn_bytes(strlen(id), id))
                    pn_data_put_binary(pn_message_body(msg), pn_bytes(bytes.count, bytes.baseAddress))
                    return pn_message_encode2(msg, &buffer)
                }
            }
        }
        guard length > 0, let start = buffer.start else { return [] }
        return Array(UnsafeBufferPointer(start: start, count: length))
    }

    /// The body of a received message: a data section, or a string (AMQP value) as some peers
    /// send JSON; nil for anything else or a message that does not decode.
    static func body(ofEncoded bytes: [CChar]) -> [UInt8]? {
        let msg = pn_message()
        defer { pn_message_free(msg) }
        guard bytes.withUnsafeBufferPointer({ pn_message_decode(msg, $0.baseAddress, $0.count) }) == 0 else { return nil }
        let data = pn_message_body(msg)
        pn_data_rewind(data)
        guard pn_data_next(data) else { return nil }
        let found: pn_bytes_t
        switch pn_data_type(data) {
        case PN_BINARY: found = pn_data_get_binary(data)
        case PN_STRING: found = pn_data_get_string(data)
        default: return nil
        }
        guard let start = found.start else { return [] }
        return Array(UnsafeRawBufferPointer(start: start, count: found.size))
    }
}
