import FerruleConfig
import FerruleCore
import FerruleProtocol
import FerruleRecords
import Foundation
import Logging

/// Free space below which the station stops starting units: a unit's record must always fit.
let minimumFreeBytes: Int64 = 64 << 20
/// Space reserved for the spill file: a unit's report is 15-45 kB, and only the units running
/// when the store fails can land there (new ones are refused), so 8 MiB holds a few hundred.
let spillReserveBytes = 8 << 20

/// Record keeping: every unit's record in the store (its start, each fiber, the final report),
/// its files in the data directory, and what happens when the disk refuses: units kept in
/// memory and in the spill file (so that a stop loses none of them) and retried, files written
/// late, the station refusing new units until it can store them. Delivery to the factory starts
/// from here (`Delivery.wake`).
public actor RecordKeeper {
    /// The durable record of every unit (see `Store`).
    public nonisolated let store: Store
    /// Where a unit the store refused waits across a stop (see `SpillFile`).
    nonisolated let spill: SpillFile
    /// Why the spill file could not take a unit; nil when it could.
    var spillProblem: String?
    let data: DataDirectory
    let certificate: CertificateTemplate
    let events: EventBus
    let delivery: Delivery
    /// Faults that stop the station, told to the line (a store that refuses writes is one).
    nonisolated let lineFaults: LineFaults
    let logger: Logger
    let now: @Sendable () -> Date
    /// Why results cannot be stored right now (disk full, read-only); nil when they can.
    var storageProblem: String?
    /// Measured units whose record could not be committed yet, retried until it can.
    var unstored: [UnitReport] = []
    /// Wakes the storage retry (see `StorageRetryService`).
    nonisolated let storageTrouble = Kick()
    /// Stored units whose report files could not be written yet, and why.
    var filesUnwritten: Set<UUID> = []
    var filesProblem: String?
    /// The background integrity check's last word (see StoreCheck.swift), and when it starts.
    var integrity: StationStatus.IntegrityCheck?
    var integrityCheckAfter: Duration = .seconds(30)
    var lastRetention: StationStatus.RetentionPass?

    init(
        store: Store, spill: SpillFile, data: DataDirectory, certificate: CertificateTemplate, events: EventBus, delivery: Delivery,
        lineFaults: LineFaults, logger: Logger, now: @escaping @Sendable () -> Date
    ) {
        self.lineFaults = lineFaults
        self.store = store
        self.spill = spill
        self.data = data
        self.certificate = certificate
        self.events = events
        self.delivery = delivery
        self.logger = logger
        self.now = now
    }

    /// The storage line of `status`.
    func status() -> StationStatus.Storage {
        var s = StationStatus.Storage(
            path: store.path, sizeBytes: store.sizeOnDisk(), freeBytes: freeBytes(data.root), problem: storageProblem,
            unstoredUnits: unstored.count, spilledUnits: spill.count, spillFile: spill.path, spillProblem: spillProblem,
            reportFilesProblem: filesProblem, reportFilesUnwritten: filesUnwritten.count, integrity: integrity)
        s.retention = lastRetention
        return s
    }

    /// At shutdown: one last attempt to store what waits in memory, said loudly if it fails.
    /// What is still waiting then is in the spill file, and the next start stores it first.
    func flushBeforeExit() async {
        if !unstored.isEmpty { _ = await flushUnstored() }
        guard !unstored.isEmpty else { return }
        let spilled = Set(spill.units().map(\.reportId))
        let lost = unstored.filter { !spilled.contains($0.reportId) }
        let waiting = unstored.count - lost.count
        logger.critical(
            """
            \(waiting) measured unit(s) could not be stored before stopping (\(storageProblem ?? "")); they wait in the spill \
            file \(spill.path) and the next start stores them first
            """)
        for r in lost {
            logger.critical(
                """
                unit \(Escaped.text(r.unit.serial)) (report \(r.reportId)) is lost: neither the store nor the spill file took it \
                (\(spillProblem ?? "")); retest it
                """)
        }
    }

    /// Why a measured unit is held instead of stored, and where it waits.
    func heldReason(_ kept: UnitOutcome.Kept) -> String {
        let why = storageProblem ?? "the store refused the record"
        return kept == .spilled
            ? "\(why); the result is kept in the spill file \(spill.path) and stored when the store can take it"
            : "\(why); the spill file \(spill.path) refused it too (\(spillProblem ?? "")): the verdict cannot be kept, "
                + "retest the unit once results can be stored"
    }

    // MARK: Recovery

    /// At start: units that were running when the process died are recorded as `interrupted`
    /// with what they had measured, and report files missing after a crash are written.
    func recover() async {
        let spilled = spill.units()
        if !spilled.isEmpty {
            logger.notice("\(spilled.count) measured unit(s) wait in the spill file \(spill.path): storing them first")
            unstored = spilled
            _ = await flushUnstored()
        }
        let waiting = Set(unstored.map(\.reportId))
        do {
            for u in try await store.unfinished() where !waiting.contains(u.start.reportId) {
                let s = u.start
                let measured = Set(u.steps.map(\.fiber)).count
                let total = s.recipe.assembly.layout.usedPositions.count
                let why =
                    "interrupted: ferruled stopped during the unit (crash or power loss); \(measured) of \(total) fibers had been measured"
                let judgement = Judge(recipe: s.recipe, rules: s.rules).judge(
                    steps: u.steps, observed: u.observed, stop: .interrupted(reason: why))
                let report = UnitReport(
                    reportId: s.reportId, unit: .init(serial: s.serial, partNumber: s.partNumber, description: s.recipe.description),
                    recipe: s.recipe, station: s.station, fixture: s.fixture, operatorId: s.operatorId,
                    startedAt: s.startedAt, finishedAt: now(), instruments: s.instruments,
                    references: s.references, cords: s.cords,
                    judgement: judgement)
                try await store.commit(report, interrupted: true)
                let serial = Escaped.text(s.serial)
                logger.warning("unit \(serial) (report \(s.reportId)) interrupted by a stop; recorded with \(measured) of \(total) fibers")
            }
            for id in try await store.unitsWithoutFiles() {
                if let r = try await store.report(id) { await writeFiles(r) }
            }
        } catch {
            storageFailed(error)
        }
        AtomicFile.removeLeftovers(in: data.reports)
    }

    // MARK: Keeping a unit

    /// Before a unit may start: its results must be storable.
    func storageRefusal() -> UnitRefused? {
        if let p = storageProblem {
            return UnitRefused(
                message: "results cannot be stored: \(p)"
                    + (unstored.isEmpty ? "" : "; \(unstored.count) measured unit(s) kept in memory until they can"),
                fix: "free disk space or make \(data.root) writable; the station stores the waiting results by itself",
                Refusal(.storage))
        }
        if let free = freeBytes(data.root), free < minimumFreeBytes {
            return UnitRefused(
                message: "the disk holding \(data.root) is nearly full (\(free >> 20) MB free)",
                fix: "free disk space (old logs, reports already delivered)", Refusal(.storage))
        }
        return nil
    }

    func freeBytes(_ path: String) -> Int64? {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return nil }
        return Int64(s.f_bavail) * Int64(s.f_frsize)
    }

    /// Records the start of a unit; refuses it if that cannot be stored.
    func beginRecord(_ start: UnitStart) async throws(UnitRefused) {
        do {
            try await store.begin(start)
        } catch {
            storageFailed(error)
            throw storageRefusal()!
        }
        delivery.wake()  // the unit's WorkStarted is in the line's outbox
    }

    func recordFiber(_ id: UUID, fiber: Int, arrival: Int?, steps: [RawStep]) async {
        do { try await store.record(reportId: id, fiber: fiber, arrival: arrival, steps: steps) } catch {
            storageFailed(error)  // the steps are still in memory and go into the final record
        }
    }

    /// The unit is done once this has committed its record; then its files are written and the
    /// sinks are told. A record that cannot be committed is kept and retried, never dropped.
    /// Returns the report as the store keeps it (times at the millisecond: the outcome, the
    /// files' names and the record agree), its path and where the record is. The files are rendered
    /// while the record commits (both from the report as the store keeps it), and written only
    /// once it has.
    func keep(_ report: UnitReport) async -> (report: UnitReport, path: String, kept: UnitOutcome.Kept) {
        let report = report.atMilliseconds()
        // The report's JSON, the certificate and the record's own JSON are made at the same time.
        async let rendered = Self.render(report, data: data, certificate: certificate)
        do {
            try await store.commit(report)
        } catch {
            storageFailed(error)
            unstored.append(report)
            _ = await rendered
            return (report, data.reportPath(for: report), spillOut(report) ? .spilled : .memoryOnly)
        }
        await writeFiles(report, rendered: await rendered)
        delivery.wake()
        return (report, data.reportPath(for: report), .stored)
    }

    /// Writes a unit the store refused into the spill file; false if that failed too.
    private func spillOut(_ report: UnitReport) -> Bool {
        do {
            try spill.append(report)
            spillProblem = nil
            logger.warning("unit \(Escaped.text(report.unit.serial)) (report \(report.reportId)) kept in the spill file \(spill.path)")
            return true
        } catch {
            spillProblem = "\(error)"
            logger.critical("unit \(Escaped.text(report.unit.serial)) is only in memory: \(error)")
            return false
        }
    }

    typealias Rendered = Result<DataDirectory.ReportFiles, any Error>

    /// The unit's files, rendered off this actor (the certificate takes a few ms).
    private static func render(_ report: UnitReport, data: DataDirectory, certificate: CertificateTemplate) async -> Rendered {
        do { return .success(try await data.renderFiles(report, certificate: certificate)) } catch { return .failure(error) }
    }

    /// Writes a stored unit's report and certificate. One that cannot be written (reports/
    /// missing, unwritable, disk full) is said in status and retried every 5 s while running.
    func writeFiles(_ report: UnitReport, rendered: Rendered? = nil) async {
        do {
            let files = if let rendered { try rendered.get() } else { try await data.renderFiles(report, certificate: certificate) }
            try await data.write(files)
            try await store.markFilesWritten(report.reportId)
            filesUnwritten.remove(report.reportId)
            if filesUnwritten.isEmpty, filesProblem != nil {
                filesProblem = nil
                logger.notice("report files written again in \(Escaped.text(data.reports))")
            }
        } catch {
            // The record is committed: nothing is lost, the files are only late.
            filesUnwritten.insert(report.reportId)
            let text = "cannot write the report files of \(Escaped.text(report.unit.serial)) in \(Escaped.text(data.reports)): \(error)"
            if filesProblem == nil { logger.error("\(text); retrying every 5 s") }
            filesProblem = text
            storageTrouble.fire()
        }
    }

    /// True when every stored unit has its files.
    func writeUnwrittenFiles() async -> Bool {
        try? data.prepare()  // reports/ may have been removed: made again (0750) only when retrying
        guard let ids = try? await store.unitsWithoutFiles() else { return false }
        for id in ids {
            if let r = try? await store.report(id) { await writeFiles(r) }
        }
        return filesUnwritten.isEmpty
    }

    func storageFailed(_ error: any Error) {
        let text = "\(error)"
        guard storageProblem != text else { return }
        logger.critical("results store: \(text)")
        let wasFine = storageProblem == nil
        storageProblem = text
        if wasFine {  // once per episode
            Task { await events.publish(.storageProblem(detail: text)) }
            lineFaults.raise(.storeRefuses, "results store", detail: text)
        }
        storageTrouble.fire()  // retried until the store takes writes again
    }

    func storageRecovered() {
        guard storageProblem != nil else { return }
        logger.notice("results store writable again")
        storageProblem = nil
        Task { await events.publish(.storageProblem(detail: nil)) }
        lineFaults.clear(.storeRefuses, "results store")
    }

    /// Runs until the station shuts down (see `StorageRetryService`): after a storage problem,
    /// every 5 s commits the units kept in memory (which also finds the store writable again) and
    /// writes the report files that could not be written, until both are done.
    public func keepRetryingStorage() async {
        for await _ in storageTrouble.wakes {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                let stored = storageProblem == nil && unstored.isEmpty ? true : await flushUnstored()
                let written = filesUnwritten.isEmpty ? true : await writeUnwrittenFiles()
                if stored && written { break }
            }
        }
    }

    /// True when nothing is left to store.
    func flushUnstored() async -> Bool {
        while let r = unstored.first {
            let stored: Bool
            do { stored = try await store.commit(r, whileRunning: true) } catch {
                storageFailed(error)
                return false
            }
            unstored.removeFirst()
            guard stored else { continue }  // from the spill file, and stored before the last stop
            await writeFiles(r)
            let path = data.reportPath(for: r)
            await events.publish(.unitStored(serial: r.unit.serial, reportId: r.reportId))
            await events.publish(
                .unitFinished(
                    fixture: r.fixture, serial: r.unit.serial, reportId: r.reportId,
                    verdict: r.verdict, reportPath: path, warnings: r.warnings))
        }
        do { try await store.touch(now()) } catch {
            storageFailed(error)
            return false
        }
        do { try spill.clear() } catch {
            logger.error("\(error); its units are stored, and storing them again changes nothing")
        }
        storageRecovered()
        delivery.wake()
        return true
    }

    // MARK: History

    public func history(_ filter: HistoryFilter) async throws -> [HistoryRow] {
        try await store.history(filter).map { e in
            let stem = e.finishedAt.map { reportFileStem(serial: e.serial, finishedAt: $0, reportId: e.reportId) }
            return HistoryRow(
                entry: e, reportPath: stem.map { data.reports + "/" + $0 + ".json" },
                certificatePath: stem.map { data.reports + "/" + $0 + ".html" })
        }
    }

}

/// A history entry with where its files are.
public struct HistoryRow: Sendable, Codable, Hashable {
    public var entry: HistoryEntry
    public var reportPath: String?
    public var certificatePath: String?

    public func encode(to encoder: any Encoder) throws {
        try entry.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encodeIfPresent(reportPath, forKey: .reportPath)
        try c.encodeIfPresent(certificatePath, forKey: .certificatePath)
    }

    public init(from decoder: any Decoder) throws {
        entry = try HistoryEntry(from: decoder)
        let c = try decoder.container(keyedBy: Keys.self)
        reportPath = try c.decodeIfPresent(String.self, forKey: .reportPath)
        certificatePath = try c.decodeIfPresent(String.self, forKey: .certificatePath)
    }

    init(entry: HistoryEntry, reportPath: String?, certificatePath: String?) {
        self.entry = entry
        self.reportPath = reportPath
        self.certificatePath = certificatePath
    }

    enum Keys: String, CodingKey { case reportPath, certificatePath }
}
