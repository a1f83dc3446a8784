import FerruleCore
import FerruleRecords
import FerruleSimSpec
import FerruleSimulator
import FerruleConfig
import FerruleStation
import Foundation

/// A store at a year's size (`--only scale --units 500000`): fills a scratch store with units
/// spread over a year through the store's own API (start, every fiber's steps, the record), then
/// prints its bytes per unit, the integrity check a start runs, and each query's median and p99.
/// Printed, never asserted: the figures #27's goals are measured against.
enum ScaleBench {
    /// `keep`: where the filled store stays after the run; a store already there is measured
    /// again without a new fill (a year's fill takes most of an hour).
    static func run(configPath: String, units: Int, keep: String?) async throws {
        let dir = NSTemporaryDirectory() + "ferrule-bench-scale-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try StationConfig.load(path: configPath)
        let part = "FT-MTP24-OM4-A"
        guard let recipe = config.recipes[part] else { throw BenchError("the config has no \(part)") }
        let path = keep ?? dir + "/scale.sqlite"
        if let keep, FileManager.default.fileExists(atPath: keep) {
            print("scale: measuring the store filled before at \(keep)")
        } else {
            try await fill(dir: dir, to: path, configPath: configPath, part: part, recipe: recipe, units: units)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        print(String(format: "scale: store %.1f MB, %.1f kB per unit", Double(size) / 1_048_576, Double(size) / Double(units) / 1024))
        for (name, bytes) in try await Store(path: path).tableSizes() where bytes > size / 100 {
            print(String(format: "scale:   %@: %.0f bytes a unit", name, Double(bytes) / Double(units)))
        }

        // What a start does before it answers: the bounded look, then opening the store; the full
        // check follows in the background (timed here on its own). Both from a cold page cache
        // where the kernel lets us drop it (root), as after a power cut.
        let cache = dropPageCache() ? "cold page cache" : "page cache warm: cannot drop it (not root?)"
        var t0 = ContinuousClock.now
        let look = Store.quickLook(path: path)
        let lookTime = (ContinuousClock.now - t0).seconds
        t0 = .now
        let store = try Store(path: path)
        let openTime = (ContinuousClock.now - t0).seconds
        _ = dropPageCache()
        t0 = .now
        let health = Store.check(path: path)
        let checkTime = (ContinuousClock.now - t0).seconds
        print(
            String(
                format: "scale: start: bounded look %.3f s (%@), open %.3f s; background quick_check %.2f s (%@) (%@)",
                lookTime, "\(look.state)", openTime, checkTime, "\(health.state)", cache))
        try await queries(store, units: units, part: part)
        try await time("spc, one part, last 30 days", 20) {
            _ = try await Station.spc(
                store: store, partNumber: part, ilMaxDb: recipe.limits.ilMaxDb, since: Date() - 30 * 86400, until: nil)
        }
        try await time("spc, one part, its newest 20,000 units", 10) {
            _ = try await Station.spc(store: store, partNumber: part, ilMaxDb: recipe.limits.ilMaxDb, since: nil, until: nil)
        }
        // The Quality page asks for the part's charts (the table and the capability chart: the
        // spc above, twice) and one position's control chart; its lot report link, the lot.
        try await time("quality page: one position's control chart, last 30 days", 20) {
            _ = try await Station.chartTrace(
                store: store, partNumber: part, position: ChartPosition(fiber: 1, wavelengthNm: 850, end: .a),
                ilMaxDb: recipe.limits.ilMaxDb, since: Date() - 30 * 86400, until: nil)
        }
        try await time("lot report, last 30 days", 10) {
            _ = try await Station.lot(store: store, partNumber: part, grade: recipe.grade, since: Date() - 30 * 86400, until: nil)
        }
    }

    /// Fills a store of `units` at `path`: in memory where there is a tmpfs (a commit's sync costs
    /// nothing there, and a year's fill takes minutes instead of an hour), then moved to the disk
    /// the figures are for.
    private static func fill(
        dir: String, to path: String, configPath: String, part: String, recipe: Recipe, units: Int
    ) async throws {
        let (_, station, bench, _) = try await FerruleBench.referencedStation(configPath, data: dir + "/sample")
        await bench.mount(.assembly(SimulatedAssembly(serial: "S-0", recipe: recipe)), fixture: 1)
        let sample = try await station.test(UnitRequest(serial: "S-0", partNumber: part, fixture: 1, operatorId: "bench")).report
        await station.shutdown()
        let scratch = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm/ferrule-bench-scale-\(getpid())" : dir
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let fillTime = try await fill(Store(path: scratch + "/scale.sqlite"), sample: sample, recipe: recipe, units: units)
        try FileManager.default.moveItem(atPath: scratch + "/scale.sqlite", toPath: path)
        print(
            String(
                format: "scale: %d units of %@ filled in %.1f s (%.2f ms a unit)", units, part, fillTime, fillTime / Double(units) * 1000))
    }

    /// Units over the last year, one in twenty failing and retested; three transactions a unit.
    private static func fill(_ store: Store, sample: UnitReport, recipe: Recipe, units: Int) async throws -> Double {
        var rng = SystemRandomNumberGenerator()
        let now = Date()
        let steps = sample.measurements.map {
            RawStep(
                fiber: $0.fiber, wavelengthNm: $0.wavelengthNm, expectedReceivePosition: $0.expectedReceivePosition,
                receivePosition: $0.receivePosition ?? $0.expectedReceivePosition, referenceDbm: $0.referenceDbm,
                referenceCord: $0.referenceCord, power: $0.powerDbm.map(PowerReading.dBm), rlDb: $0.rlDb, rlBDb: $0.rlBDb, fault: nil)
        }
        let t0 = ContinuousClock.now
        var failedAt = now
        for i in 0..<units {
            var r = sample
            r.reportId = UUID()
            r.unit.serial = serial(i)
            r.startedAt = now - Double.random(in: 0..<(365 * 86400), using: &rng)
            if i % 20 == 7 { (r.verdict, failedAt) = (.fail, r.startedAt) }
            // The unit that failed is cleaned and retested ten minutes later, and passes.
            if i % 20 == 8 { (r.unit.serial, r.startedAt) = (serial(i - 1), failedAt + 600) }
            r.finishedAt = r.startedAt + 25
            try await store.begin(
                UnitStart(
                    reportId: r.reportId, serial: r.unit.serial, partNumber: r.unit.partNumber, fixture: 1, operatorId: "bench",
                    startedAt: r.startedAt, station: r.station, recipe: recipe, rules: DiagnosisRules(),
                    instruments: r.instruments, references: r.references, cords: r.cords))
            try await store.record(reportId: r.reportId, fiber: 1, arrival: 1, steps: steps)
            try await store.commit(r)
            if i > 0, i % 50_000 == 0 { print("scale: \(i) units stored") }
        }
        await store.checkpoint()
        return (ContinuousClock.now - t0).seconds
    }

    /// Writes the dirty pages out and drops the kernel's page cache; false where not allowed.
    static func dropPageCache() -> Bool {
        sync()
        return (try? "1\n".write(toFile: "/proc/sys/vm/drop_caches", atomically: false, encoding: .utf8)) != nil
    }

    static func serial(_ i: Int) -> String { String(format: "Y-%07d", i) }

    /// Each query a client asks often, timed 100 times (200 for the cheap ones).
    private static func queries(_ store: Store, units: Int, part: String) async throws {
        let monthAgo = Date() - 30 * 86400
        try await time("history by serial", 200) {
            _ = try await store.history(HistoryFilter(serial: serial(Int.random(in: 0..<units)), limit: 20))
        }
        try await time("history, newest page", 200) { _ = try await store.history(HistoryFilter(limit: 50)) }
        try await time("history, page 100", 100) { _ = try await store.history(HistoryFilter(limit: 50, offset: 5000)) }
        try await time("yield, last 30 days", 20) { _ = try await store.yield(since: monthAgo) }
        try await time("yield, the year", 5) { _ = try await store.yield() }
        try await time("pareto, last 30 days", 20) { _ = try await store.pareto(partNumber: part, since: monthAgo) }
        try await time("sink backlog (nothing delivered)", 100) { _ = try await store.pending(for: "line-mes") }
        try await time("oldest waiting", 100) { _ = try await store.oldestWaiting(for: "line-mes") }
    }

    /// Runs `once` up to `count` times, fewer when they take more than 15 s in all (a query that
    /// grows with the store would otherwise keep a year's run busy for hours).
    private static func time(_ what: String, _ count: Int, _ once: () async throws -> Void) async throws {
        var t: [Double] = []
        let started = ContinuousClock.now
        while t.count < count, t.isEmpty || ContinuousClock.now - started < .seconds(15) {
            let t0 = ContinuousClock.now
            try await once()
            t.append((ContinuousClock.now - t0).seconds * 1000)
        }
        t.sort()
        let (median, p99) = (t[t.count / 2], t[min(t.count - 1, t.count * 99 / 100)])
        print(String(format: "scale: %@: median %.2f ms, p99 %.2f ms (%d runs)", what, median, p99, t.count))
    }
}
