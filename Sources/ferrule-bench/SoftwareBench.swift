import FerruleControl
import FerruleCore
import FerruleProtocol
import FerruleSimSpec
import FerruleSetup
import FerruleSimulator
import FerruleConfig
import FerruleStation
import Foundation

/// The station's own cost, with simulated instruments that take no time: the cycle of a 24-fiber
/// unit, split into measuring (first light to last reading) and what follows (verdict, store,
/// report files), and the CPU each side spent: the station's threads against the simulated
/// instruments' (a real instrument's processor is not the station's cost).
enum SoftwareBench {
    static func run(configPath: String, units: Int, subscribers: Int) async throws {
        let dir = NSTemporaryDirectory() + "ferrule-bench-\(getpid())"
        let (config, station, bench, wire, logger) = try await FerruleBench.referencedWireStation(configPath, data: dir + "/data")
        let part = "FT-MTP24-OM4-A"
        let recipe = try config.recipe(part)
        let fibers = recipe.assembly.layout.usedPositions.count
        let server = ControlServer(
            routes: .station(station), events: { await station.events.subscribe(buffer: 1 << 16) },
            options: .init(path: dir + "/bench.sock"), logger: logger)
        let serverTask = Task { try await server.run() }
        while !FileManager.default.fileExists(atPath: dir + "/bench.sock") { try await Task.sleep(for: .milliseconds(10)) }
        let times = EventTimes()
        let stamped = await station.events.subscribeStamped(buffer: 1 << 16)
        let recorder = Task { for await e in stamped { await times.note(e) } }

        func cycle(_ label: String) async throws -> [UnitTiming] {
            var timings: [UnitTiming] = []
            for i in 0..<units {
                let serial = "\(label)-\(i)"
                await bench.mount(.assembly(SimulatedAssembly(serial: serial, recipe: recipe)), fixture: 1)
                let exchanges = await wire?.exchanges().values.reduce(0, +) ?? 0
                let threadsBefore = await probe()
                let t0 = ContinuousClock.now
                _ = try await station.test(UnitRequest(serial: serial, partNumber: part, fixture: 1, operatorId: "bench"))
                let cycle = (ContinuousClock.now - t0).seconds
                let threadsAfter = await probe()
                let exchanged = (await wire?.exchanges().values.reduce(0, +) ?? 0) - exchanges
                while await times.finished(serial) == nil { try await Task.sleep(for: .milliseconds(1)) }
                var timing = try await times.timing(serial, cycle: cycle)
                // The simulators' threads stand for the instruments' own processors.
                let simulated = { (name: String) in name == "simulator" || name.hasPrefix("modbus-") }
                timing.stationCPU = threadsAfter.cpuSeconds(since: threadsBefore) { !simulated($0) && $0 != "probe" }
                timing.simulatorCPU = threadsAfter.cpuSeconds(since: threadsBefore, of: simulated)
                timing.exchanges = Double(exchanged)
                timings.append(timing)
            }
            return timings
        }

        print(
            "ferrule-bench: \(units) units of \(part) (\(fibers) fibers, \(recipe.wavelengthsNm.count) wavelengths) "
                + "on the simulated bench, instruments taking no time")
        report("0 subscribers", try await cycle("Q"), fibers: fibers)
        let listeners = try await Subscribers.start(subscribers, socket: dir + "/bench.sock", units: units)
        let t0 = ContinuousClock.now
        report("\(subscribers) subscribers", try await cycle("L"), fibers: fibers)
        let delivered = try await listeners.value
        let elapsed = (ContinuousClock.now - t0).seconds
        print(
            String(
                format: "events delivered to %d subscribers: %d in %.2f s = %.0f events/s", subscribers, delivered, elapsed,
                Double(delivered) / elapsed))
        print("for scale: a real switch settles in ~300 ms and a meter reads in 0.1-1 s, so a real unit takes tens of seconds")
        recorder.cancel()
        server.shutdown()
        await station.events.finish()
        _ = try? await serverTask.value
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Every thread's activity, read on a thread of its own ("probe"): reading /proc costs about a
    /// millisecond, which is the bench's, not the station's.
    static func probe() async -> ThreadActivity {
        await withCheckedContinuation { done in
            let thread = Thread { done.resume(returning: ThreadActivity(pid: getpid())) }
            thread.name = "probe"
            thread.start()
        }
    }

    static func report(_ label: String, _ timings: [UnitTiming], fibers: Int) {
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        func p90(_ values: [Double]) -> Double { values.sorted()[min(values.count - 1, Int(Double(values.count) * 0.9))] }
        let cycle = timings.map(\.cycle)
        let perFiber = 1000 / Double(fibers)
        print(
            String(
                format: "cycle, %@: median %.1f ms per unit = %.2f ms per fiber (p90 %.2f)", label, median(cycle) * 1000,
                median(cycle) * perFiber, p90(cycle) * perFiber))
        print(
            String(
                format: "    measuring (first light to last reading): %.2f ms per fiber, %.1f instrument exchanges per fiber; "
                    + "then verdict, store and files: %.1f ms",
                median(timings.map(\.measuring)) * perFiber, median(timings.map(\.exchanges)) / Double(fibers),
                median(timings.map(\.after)) * 1000))
        print(
            String(
                format: "    CPU per fiber: station %.2f ms, simulated instruments %.2f ms",
                median(timings.map(\.stationCPU)) * perFiber, median(timings.map(\.simulatorCPU)) * perFiber))
    }
}

/// One unit's times, in seconds.
struct UnitTiming {
    var cycle: Double
    var measuring: Double
    var after: Double
    var stationCPU: Double = 0
    var simulatorCPU: Double = 0
    var exchanges: Double = 0
}

/// When each unit started, gave its last reading and finished, as the event bus stamped them.
actor EventTimes {
    private var started: [String: Date] = [:]
    private var lastStep: [String: Date] = [:]
    private var done: [String: Date] = [:]

    func note(_ e: EventBus.Stamped) {
        switch e.event {
        case .unitStarted(_, let serial, _, _): started[serial] = e.at
        case .step(_, let serial, _, _, _, _, _, _, _): lastStep[serial] = e.at
        case .unitFinished(_, let serial, _, _, _, _): done[serial] = e.at
        default: break
        }
    }

    func finished(_ serial: String) -> Date? { done[serial] }

    func timing(_ serial: String, cycle: Double) throws -> UnitTiming {
        guard let start = started[serial], let last = lastStep[serial], let end = done[serial] else {
            throw BenchError("unit \(serial) has no start, step or finish event")
        }
        return UnitTiming(cycle: cycle, measuring: last.timeIntervalSince(start), after: end.timeIntervalSince(last))
    }
}

/// `count` socket clients subscribed to events, each reading until it has seen `units` units finish.
enum Subscribers {
    static func start(_ count: Int, socket: String, units: Int) async throws -> Task<Int, any Error> {
        let ready = Counter()
        let listeners = Task {
            try await withThrowingTaskGroup(of: Int.self) { g in
                for _ in 0..<count {
                    g.addTask {
                        try await ControlSession.with(path: socket) { s in
                            _ = try await s.call(ControlRequest(.subscribe))
                            await ready.add()
                            var n = 0
                            var finished = 0
                            while finished < units, let m = try await s.next() {
                                guard m.type == .event else { continue }
                                n += 1
                                if m.event?["kind"]?.string == "unitFinished" { finished += 1 }
                            }
                            return n
                        }
                    }
                }
                var total = 0
                for try await n in g { total += n }
                return total
            }
        }
        while await ready.value < count { try await Task.sleep(for: .milliseconds(5)) }
        return listeners
    }
}
