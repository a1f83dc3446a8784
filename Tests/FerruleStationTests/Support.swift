import FerruleCore
import Testing
import FerruleProtocol
import FerruleRecords
import FerruleSetup
import FerruleSimSpec
import FerruleSimulator
import FerruleConfig
import FerruleStation
import FerruleTesting
import Foundation
import Logging

/// The default bench with in-process simulated instruments (no wire): for engine tests that
/// inject faults through the bench model. The wire-level bench is tested on its own.
func inProcessConfigText() throws -> String {
    var text = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
    for (name, old, new) in [("launch-switch", "santec-osx", "sim-switch"), ("receive-switch", "santec-osx", "sim-switch"),
                             ("ilrl", "santec-rl1", "sim-ilrl")] {
        let from = text.range(of: "  - name: \(name)\n    driver: \(old)")!
        text.replaceSubrange(from, with: "  - name: \(name)\n    driver: \(new)")
    }
    // The fixture I/O modules are Modbus on the wire only: the in-process bench has no lids.
    var lines: [String] = []
    var inIOModule = false
    for line in text.components(separatedBy: "\n") {
        if line.hasPrefix("  - name: ") { inIOModule = line.hasSuffix("-io") }
        if line.hasPrefix("fixtures:") { inIOModule = false }
        if inIOModule || line.contains("    simulate: ") || line.hasPrefix("    io: fixture") { continue }
        lines.append(line)
    }
    return lines.joined(separator: "\n")
}

/// A station on the default simulated bench (in-process instruments) with references taken on every fixture.
func makeStation(data: String = temporaryDirectory(), clock: TestClock? = nil, reference: Bool = true,
                 config: StationConfig? = nil, sinks: [any Sink] = []) async throws -> (Station, SimulatedBench) {
    let built = try await makeBuiltStation(data: data, clock: clock, reference: reference, config: config, sinks: sinks)
    return (built.station, try #require(built.simulation?.bench))
}

/// `makeStation`, with the simulation it was built with (wire-level simulators, fault injection).
/// The station runs its services (retries, sink runners for `sinks`, retried after 20 ms) until it shuts down.
/// `sinks` replaces the configured sinks; nil keeps the config's own.
func makeBuiltStation(data: String = temporaryDirectory(), clock: TestClock? = nil, reference: Bool = true,
                      config: StationConfig? = nil, sinks: [any Sink]? = [],
                      integrityCheckAfter: Duration = .seconds(30)) async throws -> BuiltStation {
    let cfg = try config ?? StationConfig.parse(inProcessConfigText(), file: "inprocess.yaml")
    var logger = Logger(label: "test")
    logger.logLevel = .error
    let now: @Sendable () -> Date
    if let clock { now = { clock.now() } } else { now = { Date() } }
    let built = try await StationBuilder.make(config: cfg, data: DataDirectory(root: data), logger: logger, now: now,
                                              sinks: sinks, sinkBackoff: .milliseconds(20), runServices: true,
                                              integrityCheckAfter: integrityCheckAfter)
    tracked(built.station)
    await built.station.availability.probe()
    if reference, let bench = built.simulation?.bench { try await referenceEveryCord(built.station, bench) }
    return built
}

/// References on every fixture with every reference cord that fits it (Type A and Type B...),
/// each cord mounted on the simulated bench as an operator would.
func referenceEveryCord(_ station: Station, _ bench: SimulatedBench, fixtures: [Int]? = nil) async throws {
    for f in station.config.fixtures where fixtures?.contains(f.id) ?? true {
        for cord in station.config.referenceCords where !f.cabled(cord.map).isEmpty {
            await bench.mount(.cord(cord.map), fixture: f.id)
            _ = try await station.takeReference(fixture: f.id, cord: cord.id, operatorId: "test")
            await bench.mount(.empty, fixture: f.id)
        }
    }
}

/// The default simulated bench with instruments that take time (switch settle, meter read).
func slowBenchConfig(switchMs: Double = 2, readMs: Double = 1) throws -> StationConfig {
    try StationConfig.parse(try inProcessConfigText().replacingOccurrences(of: "    noiseDb: 0.003\n",
        with: "    noiseDb: 0.003\n    switchSettleMs: \(switchMs)\n    meterReadMs: \(readMs)\n"), file: "slow.yaml")
}

/// Mounts a simulated unit and tests it.
func testUnit(_ station: Station, _ bench: SimulatedBench, serial: String, part: String, fixture: Int = 1,
              faults: [AssemblyFault] = []) async throws -> UnitOutcome {
    let recipe = station.config.recipes[part]!
    await bench.mount(.assembly(SimulatedAssembly(serial: serial, recipe: recipe, faults: faults)), fixture: fixture)
    return try await station.test(UnitRequest(serial: serial, partNumber: part, fixture: fixture, operatorId: "op-7"))
}

/// `body` on a thread of its own: a test waiting for something slow outside the process
/// (rabbitmqctl, promtool, a peer's first line) must not hold one of the few threads of Swift's
/// cooperative pool, which the in-process simulators and the station need meanwhile.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        Thread { c.resume(with: Result { try body() }) }.start()
    }
}

/// Runs the independent JSON Schema validator over report files. Returns (exit code, output).
func validateReports(_ paths: [String]) throws -> (Int32, String) {
    try runProgram("/usr/bin/env", ["python3", Repo.validator, Repo.schema] + paths)
}

/// Reads lines from a pipe, waiting at most `seconds` for each.
final class LineReader {
    private let fd: Int32
    private var pending = Data()
    init(_ fd: Int32) { self.fd = fd }

    func line(seconds: Double = 20) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<nl], as: UTF8.self)
                pending.removeSubrange(...nl)
                return line
            }
            guard Date() < deadline else { throw WaitedTooLong(what: "a line (\(seconds) s)") }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = read(fd, &buf, buf.count)
            guard n > 0 else { throw DaemonError(description: "the program closed its output") }
            pending.append(contentsOf: buf[..<n])
        }
    }
}

/// A Python helper from scripts/ that prints "PORT <n>" once listening (the MES stand-in, the
/// pymodbus server). Its stderr goes nowhere, so it never holds the test runner's output open;
/// stop it with SIGKILL (both keep serving through SIGTERM).
func startPeer(_ script: String, _ arguments: [String]) throws -> (Process, port: Int) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", Repo.root + "/scripts/" + script] + arguments
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let line = try LineReader(out.fileHandleForReading.fileDescriptor).line()
    guard let port = Int(line.replacingOccurrences(of: "PORT ", with: "").trimmingCharacters(in: .whitespaces)) else {
        kill(p.processIdentifier, SIGKILL)
        throw WaitedTooLong(what: "the port of \(script) (got '\(line)')")
    }
    return (p, port)
}

/// The refusal `body` ended with, nil when it ran (any other error is recorded as an issue).
func unitRefusal(_ body: () async throws -> UnitOutcome) async -> UnitRefused? {
    do {
        _ = try await body()
        return nil
    } catch let e as UnitRefused {
        return e
    } catch {
        Issue.record("\(error)")
        return nil
    }
}
