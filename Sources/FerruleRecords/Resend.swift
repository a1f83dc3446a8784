import FerruleCore
import Foundation
import GRDB

/// Why a report cannot be put back in a sink's queue.
public enum ResendRefusal: Error, Sendable, Equatable {
    /// The sink has not had it yet: it is still in the queue.
    case stillWaiting(UUID)
    /// No finished unit has this report id.
    case noSuchReport(UUID)
}

/// Reports put back in one sink's queue by hand: a parked one once its receiver was fixed, or a
/// delivered one the receiver lost. They go before the sink's next new report; the outbox and
/// the other sinks' cursors are not touched (the other sinks do not receive it again).
extension Store {
    /// Why `reportId` cannot be queued again for `sink`; nil when it can.
    public func resendRefusal(sink: String, reportId: UUID) async throws(StoreError) -> ResendRefusal? {
        try await readOnly("read deliveries") { db in
            let key = reportId.uuidString.lowercased()
            let had = try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM delivery WHERE sink = ? AND reportId = ?)", arguments: [sink, key])
            if had == true { return nil }
            let waiting = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM outbox WHERE reportId = ?)", arguments: [key])
            return waiting == true ? .stillWaiting(reportId) : .noSuchReport(reportId)
        }
    }

    /// Queues again those of `reportIds` that the sink has had (delivered or parked), noting who
    /// asked; one already queued again stays queued once. Returns how many now wait again.
    @discardableResult
    public func queueAgain(sink: String, reportIds: [UUID], by who: String, at date: Date) async throws(StoreError) -> Int {
        try await transaction("queue reports again for \(sink)") { db in
            for id in reportIds {
                let key = id.uuidString.lowercased()
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO resend (sink, reportId, requestedAt, requestedBy)
                        SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM delivery WHERE sink = ? AND reportId = ?)
                        """,
                    arguments: [sink, key, date.timeIntervalSince1970, who, sink, key])
            }
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM resend WHERE sink = ?", arguments: [sink]) ?? 0
        }
    }

    /// The report queued again longest ago for `sink`.
    func nextResend(for sink: String) async throws(StoreError) -> UUID? {
        try await readOnly("read the re-send queue") { db in
            try Row.fetchOne(
                db, sql: "SELECT reportId FROM resend WHERE sink = ? ORDER BY requestedAt, reportId LIMIT 1", arguments: [sink]
            )
            .map { try $0.reportId() }
        }
    }

    /// A report queued again was delivered (or parked again): recorded, and off the queue.
    func settleResend(sink: String, reportId: UUID, parked: String?, attempts: Int, at: Date) async throws(StoreError) {
        try await transaction("record a delivery") { db in
            let key = reportId.uuidString.lowercased()
            try db.execute(
                sql: "INSERT OR REPLACE INTO delivery (sink, reportId, state, attempts, detail, at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [sink, key, DeliveryState(parkedReason: parked).rawValue, attempts, parked, at.timeIntervalSince1970])
            try db.execute(sql: "DELETE FROM resend WHERE sink = ? AND reportId = ?", arguments: [sink, key])
        }
    }

    public func resendWaiting(for sink: String) async throws(StoreError) -> Int {
        try await readOnly("count the re-send queue") { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM resend WHERE sink = ?", arguments: [sink]) ?? 0
        }
    }
}
