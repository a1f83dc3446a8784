import FerruleCore
import Foundation
import GRDB

// The line's message outbox: messages written as their moment happens (a unit's WorkStarted in
// the same transaction as its start), delivered in order by the sinks that carry them, each
// sink's progress kept as a cursor like the report outbox's, so a restart resumes and a broker
// that is down loses nothing.
extension Store {
    /// Adds `message` to the line's outbox (again with the same id: nothing).
    public func post(_ message: LineMessage) async throws(StoreError) {
        try await transaction("post a line message") { db in try Self.insert(message, db) }
    }

    static func insert(_ message: LineMessage, _ db: Database) throws {
        let body = String(decoding: try Self.json.encode(message), as: UTF8.self)
        try db.execute(
            sql: "INSERT OR IGNORE INTO lineMessage (id, at, body) VALUES (?, ?, ?)",
            arguments: [message.id.uuidString.lowercased(), message.at.timeIntervalSince1970, body])
    }

    /// The first line message past the sink's cursor.
    func nextLineMessage(for sink: String) async throws(StoreError) -> (seq: Int64, message: LineMessage)? {
        try await readOnly("read the line's messages") { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT seq, body FROM lineMessage \
                    WHERE seq > COALESCE((SELECT seq FROM lineMessageCursor WHERE sink = ?), 0) ORDER BY seq LIMIT 1
                    """, arguments: [sink])
            guard let row else { return nil }
            let body: String = row["body"]
            return (seq: row["seq"], message: try UnitReport.decoder().decode(LineMessage.self, from: Data(body.utf8)))
        }
    }

    /// Moves the sink's cursor past a delivered (or refused) line message.
    func settleLineMessage(sink: String, seq: Int64) async throws(StoreError) {
        try await transaction("record a line message's delivery") { db in
            try db.execute(
                sql: "INSERT INTO lineMessageCursor (sink, seq) VALUES (?, ?) ON CONFLICT (sink) DO UPDATE SET seq = excluded.seq",
                arguments: [sink, seq])
        }
    }

    /// Whether the sink has delivered the line message `id` (false while it waits, or if no such message).
    public func hasDelivered(lineMessage id: UUID, to sink: String) async throws(StoreError) -> Bool {
        try await readOnly("read the line's messages") { db in
            try Bool.fetchOne(
                db,
                sql: """
                    SELECT seq <= COALESCE((SELECT seq FROM lineMessageCursor WHERE sink = ?), 0) FROM lineMessage WHERE id = ?
                    """, arguments: [sink, id.uuidString.lowercased()]) ?? false
        }
    }

    /// The newest `limit` line messages, oldest first.
    public func lineMessages(limit: Int = 100) async throws(StoreError) -> [LineMessage] {
        try await readOnly("read the line's messages") { db in
            try String.fetchAll(db, sql: "SELECT body FROM lineMessage ORDER BY seq DESC LIMIT ?", arguments: [limit])
                .reversed().map { try UnitReport.decoder().decode(LineMessage.self, from: Data($0.utf8)) }
        }
    }
}

extension SinkRunner {
    /// Delivers the line's messages past this sink's cursor, in order, until none is left or the
    /// task is cancelled. A message the receiver refuses for good is logged and passed over: a
    /// moment the MES would not take must not hold up the units behind it.
    func deliverLineMessages() async {
        while !Task.isCancelled {
            let next: (seq: Int64, message: LineMessage)?
            do { next = try await store.nextLineMessage(for: sink.name) } catch {
                await fail("the results store: \(error)")
                try? await Task.sleep(for: backoff())
                continue
            }
            guard let next else { return }
            countAttempt()
            switch await sink.deliver(next.message) {
            case .delivered: break
            case .park(let why):
                logger.warning("\(sink.name) refused line message \(next.message.id): \(why)", metadata: ["sink": "\(sink.name)"])
            case .retry(let why):
                await fail(why)
                try? await Task.sleep(for: backoff())
                continue
            }
            do { try await store.settleLineMessage(sink: sink.name, seq: next.seq) } catch {
                await fail("delivered line message \(next.message.id) but could not record it: \(error)")
                try? await Task.sleep(for: backoff())
                continue
            }
            deliveredLineMessage(next.message.id)
        }
    }
}
