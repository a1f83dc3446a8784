import FerruleRecords
import Foundation
import Hummingbird
import ServiceLifecycle

/// Signed-in sessions, kept in memory and in a file of the data directory (mode 0600: a session
/// id is a bearer secret), so that a daemon restart does not sign the line out and the page can
/// reconnect by itself. Creating or removing a session writes the file at once; sliding the idle
/// expiry (every request) writes it at most every `flushInterval`, so a restart may shorten a
/// session's idle time by that much, never lengthen it.
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

    public init(path: String, flushInterval: TimeInterval = 10) {
        self.path = path
        self.flushInterval = flushInterval
        let saved = (try? Data(contentsOf: URL(fileURLWithPath: path))).flatMap {
            try? JSONDecoder().decode([String: Entry].self, from: $0)
        }
        let now = Date()
        self.entries = (saved ?? [:]).filter { $0.value.expiresAt.map { $0 > now } ?? true }
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
        // Writes a slid expiry that no later request flushed, then the last state on shutdown.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(self.flushInterval))
                await self.flushIfDirty()
            }
        }
        try await shutdown()
    }

    private func flushIfDirty() { if dirty { save(now: true) } }

    private func save(now force: Bool) {
        dirty = true
        guard force || Date().timeIntervalSince(lastWrite) >= flushInterval else { return }
        let now = Date()
        entries = entries.filter { $0.value.expiresAt.map { $0 > now } ?? true }
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
