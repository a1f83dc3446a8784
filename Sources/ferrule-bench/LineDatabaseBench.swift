import FerruleRecords
import Foundation
import Logging
import PostgresNIO

/// The line's PostgreSQL at a line's size (`--only line-db --line-units 10000000`): twenty
/// stations' units over a year in the postgres sink's own tables and indexes (a scratch schema,
/// dropped after), then each query a station or the line asks, timed; and the same queries
/// without the indexes added for scale, to show what they buy. Printed, never asserted.
/// Rows are made by the database (generate_series); each carries a small report document instead
/// of a real one: the report is TOASTed out of line and no query here reads it.
enum LineDatabaseBench {
    static func run(url: String, units: Int) async throws {
        guard let u = URLComponents(string: url), let host = u.host, let user = u.user else {
            throw BenchError("--pg-url \(url) is not postgres://user:password@host[:port]/database")
        }
        var config = PostgresClient.Configuration(
            host: host, port: u.port ?? 5432, username: user, password: u.password, database: String(u.path.dropFirst()), tls: .disable)
        config.options.connectTimeout = .seconds(5)
        let logger = Logger(label: "ferrule-bench.line-db")
        let client = PostgresClient(configuration: config, backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await client.withConnection { conn in try await bench(conn, units: units, logger: logger) }
        }
    }

    static let schema = "ferrule_bench_\(getpid())"
    static let stations = 20

    private static func bench(_ conn: PostgresConnection, units: Int, logger: Logger) async throws {
        try await exec(conn, "CREATE SCHEMA \(schema); SET search_path TO \(schema)", logger)
        do { try await measure(conn, units: units, logger: logger) } catch {
            try? await exec(conn, "DROP SCHEMA \(schema) CASCADE", logger)
            throw error
        }
        try await exec(conn, "DROP SCHEMA \(schema) CASCADE", logger)
    }

    private static func measure(_ conn: PostgresConnection, units: Int, logger: Logger) async throws {
        let tables = PostgresSink.ddl.filter { !$0.contains("CREATE INDEX") }
        for statement in tables { try await exec(conn, statement, logger) }
        var t0 = ContinuousClock.now
        try await fill(conn, units: units, logger: logger)
        let fillTime = (ContinuousClock.now - t0).seconds
        t0 = .now
        for statement in PostgresSink.ddl where statement.contains("CREATE INDEX") { try await exec(conn, statement, logger) }
        try await exec(conn, "ANALYZE ferrule_unit", logger)
        let indexTime = (ContinuousClock.now - t0).seconds
        let size = try await value(conn, "SELECT pg_total_relation_size('ferrule_unit')", logger)
        print(
            String(
                format: "line-db: %d units from %d stations filled in %.0f s, indexed in %.0f s; ferrule_unit %.2f GB (%.0f bytes a unit)",
                units, stations, fillTime, indexTime, Double(size) / 1e9, Double(size) / Double(units)))
        try await queries(conn, units: units, logger: logger, label: "")
        // The same without the indexes added for a line's size: what they buy.
        try await exec(conn, "DROP INDEX ferrule_unit_station; DROP INDEX ferrule_unit_started", logger)
        try await queries(conn, units: units, logger: logger, label: " (without the station and time indexes)")
    }

    /// A year of units, newest last, spread over the stations and four part numbers, one in
    /// twenty failing; in batches of a million rows, one transaction each.
    private static func fill(_ conn: PostgresConnection, units: Int, logger: Logger) async throws {
        try await exec(
            conn,
            "INSERT INTO ferrule_station SELECT 'ST-' || lpad(s::text, 2, '0'), 'bench', 'bench', now() "
                + "FROM generate_series(1, \(stations)) s",
            logger)
        var from = 0
        while from < units {
            let to = min(units, from + 1_000_000)
            try await exec(
                conn,
                """
                INSERT INTO ferrule_unit (report_id, station_id, serial, part_number, fixture, operator, verdict, started_at, finished_at,
                                          worst_il_db, report)
                SELECT gen_random_uuid(), 'ST-' || lpad((1 + i % \(stations))::text, 2, '0'), 'Y-' || lpad(i::text, 9, '0'),
                       (ARRAY['FT-MTP12-A', 'FT-MTP12-B', 'FT-MTP24-A', 'FT-MTP8-B'])[1 + (i / 7) % 4], 1 + i % 2, 'op-' || (i % 40),
                       CASE WHEN i % 20 = 7 THEN 'fail' ELSE 'pass' END,
                       now() - interval '365 days' * (1 - i::double precision / \(units)),
                       now() - interval '365 days' * (1 - i::double precision / \(units)) + interval '25 seconds',
                       0.1 + (i % 97) / 250.0, '{"bench": true}'::jsonb
                FROM generate_series(\(from), \(to - 1)) i
                """, logger)
            from = to
            print("line-db: \(from) units stored")
        }
    }

    private static func queries(_ conn: PostgresConnection, units: Int, logger: Logger, label: String) async throws {
        let station = "ST-07"
        try await time("history of one serial, line-wide\(label)", conn, logger) {
            let serial = String(format: "Y-%09d", Int.random(in: 0..<units))
            return "SELECT report_id, station_id, verdict, started_at FROM ferrule_unit WHERE serial = '\(serial)' "
                + "ORDER BY started_at DESC LIMIT 20"
        }
        try await time("a station's newest page\(label)", conn, logger) {
            "SELECT report_id, serial, verdict, started_at FROM ferrule_unit WHERE station_id = '\(station)' "
                + "ORDER BY started_at DESC LIMIT 50"
        }
        try await time("a station's yield per part, last 30 days\(label)", conn, logger) {
            "SELECT part_number, count(*), count(*) FILTER (WHERE verdict = 'pass') FROM ferrule_unit "
                + "WHERE station_id = '\(station)' AND started_at >= now() - interval '30 days' GROUP BY part_number"
        }
        try await time("the line's yield per station and part, last 24 hours\(label)", conn, logger) {
            "SELECT station_id, part_number, count(*), count(*) FILTER (WHERE verdict = 'pass') FROM ferrule_unit "
                + "WHERE started_at >= now() - interval '24 hours' GROUP BY station_id, part_number"
        }
        try await time("the line's yield per station and part, last 30 days\(label)", conn, logger, runs: 5) {
            "SELECT station_id, part_number, count(*), count(*) FILTER (WHERE verdict = 'pass') FROM ferrule_unit "
                + "WHERE started_at >= now() - interval '30 days' GROUP BY station_id, part_number"
        }
        try await time("one part's failures on the line, last 7 days\(label)", conn, logger) {
            "SELECT report_id, station_id, serial, worst_il_db FROM ferrule_unit WHERE part_number = 'FT-MTP24-A' "
                + "AND started_at >= now() - interval '7 days' AND verdict = 'fail' ORDER BY started_at DESC LIMIT 200"
        }
    }

    private static func time(
        _ what: String, _ conn: PostgresConnection, _ logger: Logger, runs: Int = 50, _ sql: () -> String
    ) async throws {
        var t: [Double] = []
        let started = ContinuousClock.now
        while t.count < runs, t.isEmpty || ContinuousClock.now - started < .seconds(20) {
            let text = sql()
            let t0 = ContinuousClock.now
            let rows = try await conn.query(PostgresQuery(unsafeSQL: text), logger: logger)
            for try await _ in rows {}
            t.append((ContinuousClock.now - t0).seconds * 1000)
        }
        t.sort()
        let (median, p99) = (t[t.count / 2], t[min(t.count - 1, t.count * 99 / 100)])
        print(String(format: "line-db: %@: median %.2f ms, p99 %.2f ms (%d runs)", what, median, p99, t.count))
    }

    private static func exec(_ conn: PostgresConnection, _ sql: String, _ logger: Logger) async throws {
        for statement in sql.split(separator: ";") where !statement.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            let rows = try await conn.query(PostgresQuery(unsafeSQL: String(statement)), logger: logger)
            for try await _ in rows {}
        }
    }

    private static func value(_ conn: PostgresConnection, _ sql: String, _ logger: Logger) async throws -> Int {
        for try await v in try await conn.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(Int.self) { return v }
        return 0
    }
}
