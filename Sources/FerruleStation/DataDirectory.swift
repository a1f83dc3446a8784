import FerruleConfig
import FerruleCore
import FerruleDevices
import FerruleRecords
import Foundation

/// Where a station keeps its references and reports.
///
/// Chosen in this order: `--data-dir`; `station.dataDir` in the config (relative to the config
/// file's folder); `$STATE_DIRECTORY` (systemd's StateDirectory=); `$XDG_STATE_HOME/ferrule`;
/// `~/.local/state/ferrule`. No root needed for any but a system install.
public struct DataDirectory: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    public static func resolve(cli: String?, config: StationConfig?, environment: [String: String] = ProcessInfo.processInfo.environment)
        -> DataDirectory
    {
        let here = FileManager.default.currentDirectoryPath
        if let cli { return DataDirectory(root: resolvedPath(cli, from: here)) }
        if let c = config, let d = c.dataDir {
            return DataDirectory(root: resolvedPath(d, from: parentDirectory(of: resolvedPath(c.sourcePath, from: here))))
        }
        if let s = environment["STATE_DIRECTORY"], !s.isEmpty { return DataDirectory(root: String(s.split(separator: ":")[0])) }
        if let x = environment["XDG_STATE_HOME"], !x.isEmpty {
            return DataDirectory(root: (x as NSString).appendingPathComponent("ferrule"))
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return DataDirectory(root: (home as NSString).appendingPathComponent(".local/state/ferrule"))
    }

    public var reports: String { (root as NSString).appendingPathComponent("reports") }
    public var references: String { (root as NSString).appendingPathComponent("references") }

    /// Where measured units wait while the store refuses them (`station.spillFile`, see `SpillFile`).
    public func spillPath(configured: String?) -> String {
        guard let configured, !configured.isEmpty else { return (root as NSString).appendingPathComponent("spill.ferrule") }
        return resolvedPath(configured, from: root)
    }

    /// The lock file a running station holds (see `ExclusiveLock`).
    public var lockPath: String { (root as NSString).appendingPathComponent("ferruled.lock") }

    /// Claims the data directory for this process: one station per data directory.
    public func claim() throws -> ExclusiveLock {
        try AtomicFile.makeDirectory(root)
        return try ExclusiveLock.acquire(lockPath, what: "data directory \(root)")
    }

    public func prepare() throws(FileWriteError) {
        try AtomicFile.makeDirectory(reports)
        try AtomicFile.makeDirectory(references)
    }

    /// The results store (SQLite, WAL).
    public var storePath: String { (root as NSString).appendingPathComponent("ferrule.sqlite") }

    /// A file name for a unit's report that never leaves `reports/` whatever the serial holds:
    /// only letters, digits, '.', '-' and '_' survive (others become '_'), no leading dot,
    /// at most 64 characters; the time and the report id keep names unique. The serial
    /// itself is kept verbatim inside the JSON.
    public static func reportFileName(serial: String, finishedAt: Date, reportId: UUID) -> String {
        reportFileStem(serial: serial, finishedAt: finishedAt, reportId: reportId) + ".json"
    }

    public func reportPath(for report: UnitReport) -> String {
        (reports as NSString).appendingPathComponent(
            Self.reportFileName(serial: report.unit.serial, finishedAt: report.finishedAt, reportId: report.reportId))
    }

    /// The certificate that ships with the unit, beside its report.
    public func certificatePath(for report: UnitReport) -> String {
        String(reportPath(for: report).dropLast(5)) + ".html"
    }

    /// One file per fixture and reference cord: `references/fixture-1-RC-B-004.json` (cord ids are
    /// letters, digits, '-', '_' and '.', checked at config load).
    public func referencePath(fixture: Int, cord: String) -> String {
        (references as NSString).appendingPathComponent("fixture-\(fixture)-\(cord).json")
    }

    /// Every reference of a fixture that can be trusted. A file that cannot (damaged, edited,
    /// from an older version) is moved aside as `<name>.refused-<time>` and reported with why:
    /// that cord needs a new reference.
    public func loadReferences(fixture: Int, at date: Date = Date()) -> (references: [Reference], refused: [String]) {
        let prefix = "fixture-\(fixture)-"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: references)) ?? [])
            .filter { $0.hasPrefix(prefix) && $0.hasSuffix(".json") }.sorted()
        var out: [Reference] = []
        var refused: [String] = []
        for name in names {
            let path = (references as NSString).appendingPathComponent(name)
            switch ReferenceSeal.open(FileManager.default.contents(atPath: path) ?? Data(), fixture: fixture) {
            case .success(let r): out.append(r)
            case .failure(let e): refused.append("\(path): \(e.why); moved to \(setAside(path, at: date))")
            }
        }
        let legacy = (references as NSString).appendingPathComponent("fixture-\(fixture).json")
        if FileManager.default.fileExists(atPath: legacy) {
            refused.append("\(legacy): written before references by cord; moved to \(setAside(legacy, at: date))")
        }
        return (out, refused)
    }

    public func save(_ reference: Reference) throws {
        try AtomicFile.write(try ReferenceSeal.sealed(reference), to: referencePath(fixture: reference.fixture, cord: reference.cord.id))
    }

    public func removeReference(fixture: Int, cord: String) {
        try? FileManager.default.removeItem(atPath: referencePath(fixture: fixture, cord: cord))
    }

    /// A unit's report (JSON) and certificate (HTML), rendered and named, not yet written.
    public struct ReportFiles: Sendable {
        public var reportPath: String
        public var report: Data
        public var certificatePath: String
        public var certificate: Data
    }

    /// Renders the unit's report and certificate from its record as stored (see
    /// `UnitReport.atMilliseconds`), the certificate laid out by `certificate`; both at once.
    public func renderFiles(_ report: UnitReport, certificate: CertificateTemplate) async throws -> ReportFiles {
        async let json = ReportFormat.json.render(report)
        let html = try ReportFormat.html.render(report, certificate: certificate)
        return ReportFiles(
            reportPath: reportPath(for: report), report: try await json, certificatePath: certificatePath(for: report), certificate: html)
    }

    /// Writes rendered files, each whole or not at all; both at once, each waiting for its own sync.
    public func write(_ files: ReportFiles) async throws {
        async let report: Void = AtomicFile.write(files.report, to: files.reportPath)
        try AtomicFile.write(files.certificate, to: files.certificatePath)
        try await report
    }
}
