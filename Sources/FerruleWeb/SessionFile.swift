import FerruleRecords
import Foundation
import Hummingbird
import ServiceLifecycle

/// Signed-in sessions, kept in memory and in a file of the data directory (mode 0600: a session
/// id is a bearer secret), so that a daemon restart does not sign the line out and the page can
/// reconnect by itself. Creating or removing a session writes the file at once; sliding the idle
/// expiry (every request) writes it at most every `flushInterval`, so a restart may shorten a
/// session's idle time by that much, never lengthen it. A session whose idle time ran out (here
/// or while the daemon was down) is handed to `onExpired` with when it ran out, within a second:
/// that is a sign-out too (CFX OperatorDeactivated).
public actor SessionFile: PersistDriver {
    struct Entry: Codable {
        var json: Data
        var expiresAt: Date?
    }

    private let path: String
    private let flushInterval: TimeInterval
    private var entries: [String: Entry]
    private var dirty = false
    private var lastWrite = Date.distantPast
    /// Sessions whose idle time ran out, not yet handed to `onExpired`.
    private var expired: [(json: Data, at: Date)] = []
    private let onExpired: @Sendable (Data, Date) async -> Void

    public init(path: String, flushInterval: TimeInterval = 10, onExpired: @escaping @Sendable (Data, Date) async -> Void = { _, _ in }) {
        self.path = path
        self.flushInterval = flushInterval
        self.onExpired = onExpired
        let saved = (try? Data(contentsOf: URL(fileURLWithPath: path))).flatMap {
            try? JSONDecoder().decode([String: Entry].self, from: $0)
        }
        let now = Date()
        let ranOut = (saved ?? [:]).values.compactMap { e in e.expiresAt.flatMap { $0 <= now ? (e.json, $0) : nil } }
        self.entries = (saved ?? [:]).filter { $0.value.expiresAt.map { $0 > now } ?? true }
        self.expired = ranOut  // ran out while the daemon was down: told at the first sweep
    }

    /// Moves the sessions whose time ran out to `expired`.
    private func dropExpired(now: Date) {
        for (key, entry) in entries {
            guard let at = entry.expiresAt, at <= now else { continue }
            entries[key] = nil
            expired.append((entry.json, at))
        }
    }

    public func create<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        guard entries[key] == nil else { throw PersistError.duplicate }
        entries[key] = Entry(json: try JSONEncoder().encode(value), expiresAt: expires.map(Self.date(after:)))
        save(now: true)
    }

    public func set<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        let expiresAt = expires.map(Self.date(after:)) ?? entries[key]?.expiresAt
        entries[key] = Entry(json: try JSONEncoder().encode(value), expiresAt: expiresAt)
        save(now: false)
    }

    public func get<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> Object? {
        try await getWithTTL(key: key, as: type)?.object
    }

    public func getWithTTL<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> (object: Object, ttl: Duration?)?
    {
        guard let e = entries[key] else { return nil }
        let left = e.expiresAt.map { $0.timeIntervalSinceNow }
        if let left, left <= 0 { return nil }
        do {
            return (try JSONDecoder().decode(type, from: e.json), left.map { .milliseconds(Int64($0 * 1000)) })
        } catch {
            throw PersistError.invalidConversion
        }
    }

    public func remove(key: String) async throws {
        guard entries.removeValue(forKey: key) != nil else { return }
        save(now: true)
    }

    /// How many sessions are live (for tests and status).
    public var count: Int { entries.values.filter { $0.expiresAt.map { $0 > Date() } ?? true }.count }

    public func shutdown() async throws { if dirty { save(now: true) } }

    public func run() async throws {
        // Each second: hands on the sessions that ran out, and writes a slid expiry that no later
        // request flushed (at most every flushInterval); the last state on shutdown.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(1))
                await self.sweep()
            }
        }
        try await shutdown()
    }

    private func sweep() async {
        let before = entries.count
        dropExpired(now: Date())
        if entries.count != before { dirty = true }
        if dirty { save(now: false) }
        let ran = expired
        expired = []
        for (json, at) in ran { await onExpired(json, at) }
    }

    private func save(now force: Bool) {
        dirty = true
        guard force || Date().timeIntervalSince(lastWrite) >= flushInterval else { return }
        let now = Date()
        dropExpired(now: now)
        // A session that cannot be saved still works until the next restart; nothing measured is at stake.
        guard let data = try? JSONEncoder().encode(entries) else { return }
        try? AtomicFile.write(data, to: path, mode: 0o600, tag: "sessions")
        dirty = false
        lastWrite = now
    }

    private static func date(after d: Duration) -> Date {
        Date().addingTimeInterval(d.seconds)
    }
}
