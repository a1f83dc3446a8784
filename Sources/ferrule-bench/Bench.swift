import FerruleControl
import FerruleCore
import FerruleDevices
import FerruleProtocol
import FerruleRecords
import FerruleSetup
import FerruleSimSpec
import FerruleSimulator
import FerruleConfig
import FerruleStation
import Foundation
import Logging

/// Prints figures; asserts nothing. Machines here are shared and noisy: compare runs on one machine.
///
///     swift run -c release ferrule-bench [--config Config/simulated.yaml] [--units 20] [--subscribers 200] [--load 10]
@main
struct FerruleBench {
    static func main() async throws {
        var args = CommandLine.arguments.dropFirst()
        var configPath = "Config/simulated.yaml"
        var units = 20
        var subscribers = 200
        var load = 10.0
        var cycles = 4
        var withRL = false
        var only: String?
        var seconds = 10
        var scaleUnits = 20_000
        var lineUnits = 1_000_000
        var scaleStore: String?
        var pgURL = ProcessInfo.processInfo.environment["FERRULE_TEST_PG"] ?? "postgres://ferrule:ferrule@127.0.0.1:5432/ferrule"
        while let a = args.popFirst() {
            switch a {
            case "--config": configPath = args.popFirst() ?? configPath
            case "--units": units = Int(args.popFirst() ?? "") ?? units
            case "--subscribers": subscribers = Int(args.popFirst() ?? "") ?? subscribers
            case "--load": load = Double(args.popFirst() ?? "") ?? load
            case "--cycles": cycles = max(2, Int(args.popFirst() ?? "") ?? cycles)
            case "--with-rl": withRL = true
            case "--only": only = args.popFirst()
            case "--scale-units": scaleUnits = Int(args.popFirst() ?? "") ?? scaleUnits
            case "--line-units": lineUnits = Int(args.popFirst() ?? "") ?? lineUnits
            case "--scale-store": scaleStore = args.popFirst()
            case "--pg-url": pgURL = args.popFirst() ?? pgURL
            case "--seconds": seconds = Int(args.popFirst() ?? "") ?? seconds
            default:
                print(
                    """
                    usage: ferrule-bench [--config PATH] [--units N] [--subscribers N] [--load SECONDS] [--cycles N] [--with-rl]
                                         [--seconds IDLE-SECONDS] [--scale-units N (a year: 500000)] [--scale-store PATH (kept)]
                                         [--line-units N (a line's year: 10000000)] [--pg-url postgres://user:pw@host/db]
                                         [--only round-trips|software|store|throughput|idle|cfx|pct|multiport|scale|line-db]
                    """)
                return
            }
        }
        if only == nil || only == "round-trips" { try await roundTrips(configPath: configPath) }
        if only == nil || only == "software" { try await SoftwareBench.run(configPath: configPath, units: units, subscribers: subscribers) }
        if only == nil || only == "store" { try await records(configPath: configPath) }
        if only == nil || only == "cfx" { try await CFXBench.run(configPath: configPath) }
        if only == nil || only == "idle" { try await IdleWakes.run(configPath: configPath, seconds: seconds) }
        if only == nil || only == "throughput" { try await throughput(configPath: configPath, load: load, cycles: cycles, withRL: withRL) }
        if only == nil || only == "pct" { try await PCTBench.run() }
        if only == nil || only == "multiport" { try await MultiPortBench.run() }
        // Minutes at a year's size: run only when asked for.
        if only == "scale" { try await ScaleBench.run(configPath: configPath, units: scaleUnits, keep: scaleStore) }
        if only == "line-db" { try await LineDatabaseBench.run(url: pgURL, units: lineUnits) }  // needs PostgreSQL: asked for
    }

    /// Median and p99 of one SCPI query (*IDN?) through the real line link, over a pty and over
    /// TCP, and of one Modbus read (the three inputs of a fixture I/O module, function 02) through
    /// libmodbus over TCP and over RTU on a pty.
    static func roundTrips(configPath: String, count: Int = 2000) async throws {
        let config = try StationConfig.load(path: configPath)
        let dir = NSTemporaryDirectory() + "ferrule-bench-rtt-\(getpid())"
        let bench = SimulatedBench(wiring: config.fixtures, settings: config.simulation?.bench ?? BenchSettings())
        let wb = try await WireBench.start(
            [
                WireInstrument(name: "pty-meter", model: .santecRL1, transport: .pty, wavelengthsNm: [1310]),
                WireInstrument(name: "tcp-switch", model: .santecOSX, transport: .tcp, channels: 48),
                WireInstrument(name: "tcp-io", model: .modbusIO, transport: .tcp, modbus: .fixtureIO(ModbusIOMap(), fixture: 1)),
                WireInstrument(name: "pty-io", model: .modbusIO, transport: .pty, modbus: .fixtureIO(ModbusIOMap(), fixture: 1))
            ], bench: bench, ptyDirectory: dir)
        defer { wb.close() }
        func measure(_ what: String, _ once: () async throws -> Void) async throws {
            var t: [Double] = []
            for _ in 0..<count {
                let t0 = ContinuousClock.now
                try await once()
                t.append((ContinuousClock.now - t0).seconds)
            }
            t.sort()
            print(
                String(
                    format: "%@: median %.3f ms, p99 %.3f ms (%d)", what, t[t.count / 2] * 1000, t[Int(Double(t.count) * 0.99)] * 1000,
                    count))
        }
        for name in ["pty-meter", "tcp-switch"] {
            let link = try await LineLink.open(InstrumentAddress.parse(wb.server(name)!.endpoint.address)!)
            try await measure("SCPI *IDN? round trip over \(name.hasPrefix("pty") ? "a pty" : "TCP")") {
                _ = try await link.query("*IDN?", timeout: .seconds(2))
            }
            link.close()
        }
        for name in ["tcp-io", "pty-io"] {
            let link = ModbusLink(
                name: name, address: InstrumentAddress.parse(wb.modbusServers[name]!.endpoint.address)!, unitId: 1, timeout: .seconds(2))
            try await measure("Modbus read of 3 inputs over \(name.hasPrefix("pty") ? "RTU on a pty" : "TCP")") {
                _ = try await link.readBits(.di, address: 0, count: 3)
            }
            await link.close()
        }
    }

    /// The config's simulated station, its instruments identified and fixture 1 referenced.
    static func referencedStation(_ configPath: String, data: String) async throws -> (StationConfig, Station, SimulatedBench, Logger) {
        let (config, station, bench, _, logger) = try await referencedWireStation(configPath, data: data)
        return (config, station, bench, logger)
    }

    /// `referencedStation`, with the wire simulators it talks to (nil when the config has none).
    static func referencedWireStation(_ configPath: String, data: String) async throws
        -> (StationConfig, Station, SimulatedBench, WireBench?, Logger)
    {
        let config = try StationConfig.load(path: configPath)
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let built = try await StationBuilder.make(config: config, data: DataDirectory(root: data), logger: logger)
        let station = built.station
        guard let bench = built.simulation?.bench else { throw BenchError("\(configPath) has no simulated bench") }
        await station.availability.probe()
        await bench.mount(.referenceCord, fixture: 1)
        _ = try await station.takeReference(fixture: 1)
        return (config, station, bench, built.simulation?.wire, logger)
    }

    /// Reports per second through the store (begin, 24 fibers one transaction each, commit) and
    /// through each sink, and the store's size per unit. The HTTP sink posts to the MES
    /// stand-in (scripts/mes-peer.py, Python's http.server) on loopback.
    static func records(configPath: String, count: Int = 300) async throws {
        let dir = NSTemporaryDirectory() + "ferrule-bench-records-\(getpid())"
        let (config, station, bench, logger) = try await referencedStation(configPath, data: dir + "/sample")
        let part = "FT-MTP24-OM4-A"
        let recipe = try config.recipe(part)
        await bench.mount(.assembly(SimulatedAssembly(serial: "R-0", recipe: recipe)), fixture: 1)
        let sample = try await station.test(UnitRequest(serial: "R-0", partNumber: part, fixture: 1, operatorId: "bench")).report
        await station.shutdown()

        let store = try Store(path: dir + "/bench.sqlite")
        var reports: [UnitReport] = []
        let t0 = ContinuousClock.now
        for i in 0..<count {
            var r = sample
            r.reportId = UUID()
            r.unit.serial = "R-\(i)"
            try await store.begin(
                UnitStart(
                    reportId: r.reportId, serial: r.unit.serial, partNumber: part, fixture: 1, operatorId: "bench",
                    startedAt: r.startedAt, station: r.station, recipe: recipe, rules: DiagnosisRules(),
                    instruments: r.instruments, references: r.references, cords: r.cords))
            for fiber in recipe.assembly.layout.usedPositions {
                let steps = r.measurements.filter { $0.fiber == fiber }.map {
                    RawStep(
                        fiber: fiber, wavelengthNm: $0.wavelengthNm, expectedReceivePosition: $0.expectedReceivePosition,
                        receivePosition: $0.receivePosition ?? $0.expectedReceivePosition, referenceDbm: $0.referenceDbm,
                        referenceCord: $0.referenceCord, power: $0.powerDbm.map(PowerReading.dBm), rlDb: $0.rlDb,
                        rlBDb: $0.rlBDb, fault: nil)
                }
                try await store.record(reportId: r.reportId, fiber: fiber, arrival: fiber, steps: steps)
            }
            try await store.commit(r)
            reports.append(r)
        }
        let storeTime = (ContinuousClock.now - t0).seconds
        await store.checkpoint()
        print(
            String(
                format:
                    """
                        store: %d units of %@ (24 fibers, 48 measurements) in %.2f s = %.0f units/s (%.1f ms per unit, 26 \
                        transactions: 24 fibers unsynced, the start and the record synced); %.1f kB per unit on disk
                        """,
                count, part, storeTime, Double(count) / storeTime, storeTime / Double(count) * 1000,
                Double(store.sizeOnDisk()) / Double(count) / 1024))

        try await throughSinks(reports, dir: dir, logger: logger)
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// The same reports through each sink: a directory, the MES stand-in over HTTP, PostgreSQL.
    static func throughSinks(_ reports: [UnitReport], dir: String, logger: Logger) async throws {
        func through(_ sink: any Sink, _ label: String) async {
            let t0 = ContinuousClock.now
            var failed = 0
            for r in reports where await sink.deliver(r) != .delivered { failed += 1 }
            let t = (ContinuousClock.now - t0).seconds
            print(
                String(
                    format: "sink %@: %.0f reports/s (%.2f ms each)%@", label, Double(reports.count) / t, t / Double(reports.count) * 1000,
                    failed > 0 ? " (\(failed) not delivered)" : ""))
            await sink.shutdown()
        }
        try FileManager.default.createDirectory(atPath: dir + "/drop", withIntermediateDirectories: true)
        await through(
            DirectorySink(name: "drop", path: dir + "/drop", formats: [.json, .html], stationId: "bench"),
            "directory (json + html, fsync each)")

        let peer = Process()
        peer.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        peer.arguments = ["python3", "scripts/mes-peer.py", "--log", dir + "/mes.log"]
        let out = Pipe()
        peer.standardOutput = out
        peer.standardError = FileHandle.nullDevice
        if (try? peer.run()) != nil, let line = String(data: out.fileHandleForReading.availableData, encoding: .utf8),
            let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "PORT ", with: ""))
        {
            await through(
                HTTPSink(name: "mes", url: "http://127.0.0.1:\(port)/r", tokenFile: nil), "http (json, loopback Python MES stand-in)")
            kill(peer.processIdentifier, SIGKILL)
        } else {
            print("sink http: skipped (python3 scripts/mes-peer.py did not start; run from the repository root)")
        }
        let pg = ProcessInfo.processInfo.environment["FERRULE_TEST_PG"] ?? "postgres://ferrule:ferrule@127.0.0.1:5432/ferrule"
        if let sink = try? PostgresSink(name: "line-db", url: pg, timeout: .seconds(5), logger: logger),
            await sink.deliver(reports[0]) == .delivered
        {
            await through(sink, "postgres (unit + 48 measurements per transaction, local server)")
        } else {
            print("sink postgres: skipped (no database at \(pg); set FERRULE_TEST_PG)")
        }
    }
}

actor Counter {
    var value = 0
    func add() { value += 1 }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension StationConfig {
    /// The recipe a benchmark runs, from the config it was given (which may lack it).
    func recipe(_ part: String) throws -> Recipe {
        guard let r = recipes[part] else { throw BenchError("\(sourcePath) has no recipe \(part); benchmark it on Config/simulated.yaml") }
        return r
    }

    func fixture(_ id: Int) throws -> FixtureWiring {
        guard let w = fixtures.first(where: { $0.id == id }) else { throw BenchError("\(sourcePath) has no fixture \(id)") }
        return w
    }
}
