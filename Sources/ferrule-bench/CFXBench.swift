import FerruleAMQP
import FerruleCore
import FerruleRecords
import FerruleSimulator
import FerruleConfig
import FerruleStation
import Foundation

/// CFX messages per second through the cfx-amqp sink to a broker (RabbitMQ with AMQP 1.0 on
/// 127.0.0.1:5672, user and password `ferrule`, as `.ci/run` sets it up): first one report at a
/// time as the sink's runner delivers (three messages, all settled before the next report), then
/// 16 reports in flight on the same connection, the connection's ceiling. The messages are
/// durable, so the broker's own disk writes are part of the figure.
enum CFXBench {
    static func run(configPath: String, host: String = "127.0.0.1", port: Int = 5672, count: Int = 300) async throws {
        let dir = NSTemporaryDirectory() + "ferrule-bench-cfx-\(getpid())"
        let (config, station, bench, _) = try await FerruleBench.referencedStation(configPath, data: dir + "/sample")
        let part = "FT-MTP24-OM4-A"
        await bench.mount(.assembly(SimulatedAssembly(serial: "C-0", recipe: try config.recipe(part))), fixture: 1)
        let sample = try await station.test(UnitRequest(serial: "C-0", partNumber: part, fixture: 1, operatorId: "bench")).report
        await station.shutdown()
        let passwordFile = dir + "/amqp.password"
        try "ferrule\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let queue = "ferrule-bench-cfx-\(getpid())"
        let sink = CFXAMQPSink(
            name: "bench", broker: BrokerAccount(host: host, port: port, user: "ferrule", passwordFile: passwordFile),
            address: "/queue/" + queue, handle: "ferrule.bench")
        defer { dropQueue(queue) }
        func report(_ i: Int) -> UnitReport {
            var r = sample
            r.reportId = UUID()
            r.unit.serial = "C-\(i)"
            return r
        }
        guard case .delivered = await sink.deliver(report(0)) else {
            print("cfx: no broker answered on \(host):\(port) (start RabbitMQ with rabbitmq_amqp1_0 and a user ferrule/ferrule)")
            return
        }
        let size = try CFXUnitMessages.messages(sample, source: "ferrule.bench") { $0 }.map(\.json.count)
        let t0 = ContinuousClock.now
        for i in 1...count {
            guard case .delivered = await sink.deliver(report(i)) else { throw BenchError("report \(i) was not delivered") }
        }
        let one = (ContinuousClock.now - t0).seconds
        let t1 = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<16 {
                group.addTask {
                    for i in stride(from: lane, to: count, by: 16) {
                        guard case .delivered = await sink.deliver(report(count + i)) else {
                            throw BenchError("report \(i) was not delivered")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let many = (ContinuousClock.now - t1).seconds
        await sink.shutdown()
        print(
            String(
                format: """
                    cfx: %d reports of %@ (%d messages: WorkStarted %d B, UnitsTested %d B, WorkCompleted %d B) to %@:%d
                      one report at a time (as the sink runs): %.0f messages/s, %.1f ms per report
                      16 reports in flight on one connection:   %.0f messages/s
                    """, count, part, 3 * count, size[0], size[1], size[2], host, port, Double(3 * count) / one, one * 1000 / Double(count),
                Double(3 * count) / many))
    }

    /// The bench's queue goes away with what it holds (rabbitmqctl, as root on the bench machine).
    static func dropQueue(_ queue: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/rabbitmqctl")
        p.arguments = ["-q", "delete_queue", queue]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try? p.run()
        p.waitUntilExit()
    }
}
