import FerruleCore
import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// The line-wide results database: many stations write into one PostgreSQL database.
///
/// Schema (created on first use, under an advisory lock so that stations starting together do
/// not race): `ferrule_station` (one row per station, last seen), `ferrule_unit` (one row per
/// report id: the unit, its verdict and the whole report as jsonb) and `ferrule_measurement`
/// (one row per fiber, wavelength and end). A report is inserted with `ON CONFLICT DO NOTHING`
/// on its report id, in one transaction with its measurements, so delivering it again (at least
/// once) leaves exactly one copy.
public final class PostgresSink: Sink {
    public let name: String
    public var kind: SinkKind { .postgres }
    let client: PostgresClient
    let runner: Task<Void, Never>
    let logger: Logger
    let timeout: Duration
    private let schema = SchemaState()

    /// `url`: postgres://user[:password]@host[:port]/database. `password` (e.g. read from a
    /// file) overrides one in the URL.
    public init(
        name: String, url: String, password: String? = nil, requireTLS: Bool = false, timeout: Duration = .seconds(10),
        logger: Logger
    ) throws {
        guard let u = URLComponents(string: url), u.scheme == "postgres" || u.scheme == "postgresql", let host = u.host,
            let user = u.user, !u.path.dropFirst().isEmpty
        else {
            throw StoreError(operation: "configure sink \(name)", path: url, underlying: "not a postgres://user@host[:port]/database URL")
        }
        self.name = name
        self.logger = logger
        self.timeout = timeout
        let tls: PostgresClient.Configuration.TLS = requireTLS ? .require(.makeClientConfiguration()) : .disable
        var config = PostgresClient.Configuration(
            host: host, port: u.port ?? 5432, username: user, password: password ?? u.password,
            database: String(u.path.dropFirst()), tls: tls)
        config.options.connectTimeout = .seconds(5)
        let client = PostgresClient(configuration: config, backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
    }

    actor SchemaState {
        var ready = false
        func set() { ready = true }
    }

    /// The tables and indexes, in order (public for the line-database benchmark, which builds
    /// the same schema at a line's size).
    public static let ddl = [
        """
        CREATE TABLE IF NOT EXISTS ferrule_station (
            id text PRIMARY KEY,
            software_version text NOT NULL,
            config_hash text NOT NULL,
            last_seen timestamptz NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS ferrule_unit (
            report_id uuid PRIMARY KEY,
            station_id text NOT NULL REFERENCES ferrule_station (id),
            serial text NOT NULL,
            part_number text NOT NULL,
            fixture integer NOT NULL,
            operator text NOT NULL,
            verdict text NOT NULL,
            started_at timestamptz NOT NULL,
            finished_at timestamptz NOT NULL,
            worst_il_db double precision,
            report jsonb NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        "CREATE INDEX IF NOT EXISTS ferrule_unit_serial ON ferrule_unit (serial, started_at)",
        "CREATE INDEX IF NOT EXISTS ferrule_unit_part ON ferrule_unit (part_number, started_at)",
        // A line of twenty stations holds ten million units: a station's own pages and yield, and
        // the line's last hours, through an index each (ferrule-bench --only line-db measures
        // them). Time is a BRIN index: units arrive in time order, and it stays a few pages.
        "CREATE INDEX IF NOT EXISTS ferrule_unit_station ON ferrule_unit (station_id, started_at)",
        "CREATE INDEX IF NOT EXISTS ferrule_unit_started ON ferrule_unit USING brin (started_at)",
        """
        CREATE TABLE IF NOT EXISTS ferrule_measurement (
            report_id uuid NOT NULL REFERENCES ferrule_unit (report_id) ON DELETE CASCADE,
            fiber integer NOT NULL,
            wavelength_nm integer NOT NULL,
            end_name text NOT NULL,
            receive_position integer,
            il_db double precision,
            il_max_db double precision,
            rl_db double precision,
            rl_min_db double precision,
            verdict text NOT NULL,
            PRIMARY KEY (report_id, fiber, wavelength_nm, end_name)
        )
        """
    ]

    func ensureSchema() async throws {
        guard await !schema.ready else { return }
        try await client.withTransaction(logger: logger) { conn in
            try await conn.query("SELECT pg_advisory_xact_lock(7240301)", logger: logger)
            for statement in Self.ddl { try await conn.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
        }
        await schema.set()
    }

    public func deliver(_ r: UnitReport) async -> DeliveryOutcome {
        let json: String
        do { json = String(decoding: try ReportFormat.json.render(r), as: UTF8.self) } catch {
            return .park("cannot render the report: \(error)")
        }
        do {
            try await withDeadline(timeout) { [self] in
                try await ensureSchema()
                try await client.withTransaction(logger: logger) { conn in
                    try await conn.query(
                        """
                        INSERT INTO ferrule_station (id, software_version, config_hash, last_seen) VALUES (\(r.station.id), \
                        \(r.station.softwareVersion), \(r.station.configHash), now())
                        ON CONFLICT (id) DO UPDATE SET software_version = excluded.software_version, config_hash = excluded.config_hash, \
                        last_seen = now()
                        """, logger: logger)
                    let inserted = try await conn.query(
                        """
                        INSERT INTO ferrule_unit (report_id, station_id, serial, part_number, fixture, operator, verdict, started_at, \
                        finished_at, worst_il_db, report)
                        VALUES (\(r.reportId), \(r.station.id), \(r.unit.serial), \(r.unit.partNumber), \(r.fixture), \(r.operator), \
                        \(r.verdict.rawValue),
                                \(r.startedAt), \(r.finishedAt), \(r.summary.worstIlDb), \(json)::jsonb)
                        ON CONFLICT (report_id) DO NOTHING RETURNING report_id
                        """, logger: logger)
                    var fresh = false
                    for try await _ in inserted { fresh = true }
                    guard fresh, !r.measurements.isEmpty else { return }  // already there: nothing more to write
                    // Arrays bound once (one round trip for all measurements); a missing value
                    // travels as -1 / NaN and becomes NULL.
                    let ms = r.measurements
                    let fibers = ms.map { Int32($0.fiber) }
                    let wls = ms.map { Int32($0.wavelengthNm) }
                    let ends = ms.map(\.end.rawValue)
                    let receive = ms.map { Int32($0.receivePosition ?? -1) }
                    let verdicts = ms.map(\.verdict.rawValue)
                    func d(_ v: Double?) -> Double { v.flatMap { $0.isFinite ? $0 : nil } ?? .nan }
                    let il = ms.map { d($0.ilDb) }
                    let ilMax = ms.map { d($0.ilMaxDb) }
                    let rl = ms.map { d($0.rlDb) }
                    let rlMin = ms.map { d($0.rlMinDb) }
                    try await conn.query(
                        """
                        INSERT INTO ferrule_measurement (report_id, fiber, wavelength_nm, end_name, receive_position, il_db, il_max_db, \
                        rl_db, rl_min_db, verdict)
                        SELECT \(r.reportId), f, w, e, NULLIF(rp, -1), NULLIF(il, 'NaN'), NULLIF(ilmax, 'NaN'), NULLIF(rl, 'NaN'), \
                        NULLIF(rlmin, 'NaN'), v
                        FROM unnest(\(fibers)::integer[], \(wls)::integer[], \(ends)::text[], \(receive)::integer[], \(il)::double \
                        precision[],
                                    \(ilMax)::double precision[], \(rl)::double precision[], \(rlMin)::double precision[], \
                                    \(verdicts)::text[])
                             AS t(f, w, e, rp, il, ilmax, rl, rlmin, v)
                        ON CONFLICT DO NOTHING
                        """, logger: logger)
                }
            }
            return .delivered
        } catch let e as PSQLError {
            return Self.outcome(e)
        } catch let t as PostgresTransactionError {
            if let e = (t.closureError ?? t.beginError ?? t.commitError) as? PSQLError { return Self.outcome(e) }
            return .retry("PostgreSQL: \(t.closureError ?? t.beginError ?? t.commitError ?? t)")
        } catch is DeadlineExceeded {
            return .retry("PostgreSQL did not answer within \(timeout)")
        } catch {
            return .retry("PostgreSQL: \(error)")
        }
    }

    static func outcome(_ e: PSQLError) -> DeliveryOutcome {
        let state = e.serverInfo?[.sqlState] ?? ""
        let text = e.serverInfo?[.message] ?? "\(e.code)"
        // Data and constraint errors will not go away by retrying; everything else (the server
        // down, a connection lost, a lock timeout) will.
        if state.hasPrefix("22") || state.hasPrefix("23") { return .park("PostgreSQL refused the report (\(state)): \(text)") }
        return .retry("PostgreSQL: \(text)\(state.isEmpty ? "" : " (\(state))")")
    }

    public func shutdown() async {
        runner.cancel()
        await runner.value
    }
}

struct DeadlineExceeded: Error {}

/// Runs `body`, giving up (and cancelling it) after `limit`.
func withDeadline(_ limit: Duration, _ body: @escaping @Sendable () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Bool.self) { g in
        g.addTask {
            try await body()
            return true
        }
        g.addTask {
            try await Task.sleep(for: limit)
            return false
        }
        let finished = try await g.next() ?? false
        g.cancelAll()
        if !finished { throw DeadlineExceeded() }
    }
}
