import FerruleCore
import Foundation
import Logging
import PostgresNIO

/// One approved revision of a part number's recipe as the line's database keeps it. `body` is
/// the recipe written as in a station config's `recipes:` list (YAML or JSON), checked by each
/// station against its own instruments when it takes the recipe.
public struct CentralRecipeRow: Sendable, Hashable, Codable {
    public var partNumber: String
    public var revision: Int
    public var body: String
    public var changedBy: String
    public var approvedBy: String
    public var approvedAt: Date

    public init(partNumber: String, revision: Int, body: String, changedBy: String, approvedBy: String, approvedAt: Date) {
        self.partNumber = partNumber
        self.revision = revision
        self.body = body
        self.changedBy = changedBy
        self.approvedBy = approvedBy
        self.approvedAt = approvedAt
    }
}

/// The line's recipes in its PostgreSQL database (`centralRecipes`): each part number's newest
/// approved revision. The table, made on first use under an advisory lock:
///
///     ferrule_recipe (part_number, revision, body, changed_by, changed_at, approved_by, approved_at)
///
/// A revision is inserted by whoever changes the recipe and approved by someone else (the check
/// refuses an approval by its author); a station takes it at its next start or reload.
public enum CentralRecipes {
    static let ddl = """
        CREATE TABLE IF NOT EXISTS ferrule_recipe (
            part_number text NOT NULL,
            revision integer NOT NULL CHECK (revision >= 1),
            body text NOT NULL,
            changed_by text NOT NULL,
            changed_at timestamptz NOT NULL DEFAULT now(),
            approved_by text,
            approved_at timestamptz,
            PRIMARY KEY (part_number, revision),
            CHECK ((approved_by IS NULL) = (approved_at IS NULL)),
            CHECK (approved_by IS NULL OR approved_by <> changed_by)
        )
        """

    /// Each part number's newest approved revision, within `timeout` (connecting included).
    public static func fetch(
        url: String, password: String?, requireTLS: Bool, timeout: Duration, logger: Logger
    ) async throws -> [CentralRecipeRow] {
        guard let u = URLComponents(string: url), let host = u.host, let user = u.user, !u.path.dropFirst().isEmpty else {
            throw StoreError(operation: "read the central recipes", path: url, underlying: "not a postgres://user@host[:port]/database URL")
        }
        var config = PostgresClient.Configuration(
            host: host, port: u.port ?? 5432, username: user, password: password ?? u.password, database: String(u.path.dropFirst()),
            tls: requireTLS ? .require(.makeClientConfiguration()) : .disable)
        config.options.connectTimeout = timeout
        let client = PostgresClient(configuration: config, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: [CentralRecipeRow]?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            group.addTask { try await query(client, logger: logger) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw StoreError(operation: "read the central recipes", path: Self.hostOnly(u), underlying: "no answer within \(timeout)")
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let rows = next { return rows }
            }
            throw StoreError(operation: "read the central recipes", path: Self.hostOnly(u), underlying: "the connection ended")
        }
    }

    /// The URL without its password, for messages.
    static func hostOnly(_ u: URLComponents) -> String { "\(u.host ?? "?"):\(u.port ?? 5432)\(u.path)" }

    private static func query(_ client: PostgresClient, logger: Logger) async throws -> [CentralRecipeRow] {
        try await client.withTransaction(logger: logger) { conn in
            try await conn.query("SELECT pg_advisory_xact_lock(7240302)", logger: logger)
            try await conn.query(PostgresQuery(unsafeSQL: ddl), logger: logger)
        }
        let rows = try await client.query(
            """
            SELECT DISTINCT ON (part_number) part_number, revision, body, changed_by, approved_by, approved_at
            FROM ferrule_recipe WHERE approved_at IS NOT NULL ORDER BY part_number, revision DESC
            """, logger: logger)
        var out: [CentralRecipeRow] = []
        let columns = rows.decode((String, Int, String, String, String, Date).self)
        for try await (part, revision, body, changedBy, approvedBy, approvedAt) in columns {
            out.append(
                CentralRecipeRow(
                    partNumber: part, revision: revision, body: body, changedBy: changedBy, approvedBy: approvedBy, approvedAt: approvedAt))
        }
        return out
    }

    /// Keeps the revisions last taken in the data directory, so that a station whose database is
    /// down starts with them (and says so).
    public static func saveCache(_ rows: [CentralRecipeRow], at path: String) throws {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try e.encode(rows), to: path)
    }

    public static func loadCache(at path: String) throws -> [CentralRecipeRow] {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return try d.decode([CentralRecipeRow].self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
