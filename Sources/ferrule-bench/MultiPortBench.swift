import FerruleCore
import FerruleSimSpec
import FerruleConfig
import FerruleStation
import Foundation

/// A Base-8 fan-out on a Keysight N7745C (`Config/multiport.yaml`) beside the same fan-out on a
/// receive switch and a single meter, under the realistic profile: the cycle and the receive
/// side's moves for a good unit, a Type A unit under the Type B recipe and an all-dark unit.
enum MultiPortBench {
    static func run(configPath: String = "Config/multiport.yaml") async throws {
        let text = try String(contentsOfFile: configPath, encoding: .utf8)
        // The switched bench: an OSX on the receive side and the 8164B's own power meter.
        let switched = text
            .replacingOccurrences(of: "  - name: mpm\n    driver: keysight-n774x", with: """
                  - name: receive-switch
                    driver: santec-osx
                    simulate: tcp
                    channels: 24
                  - name: mpm
                    driver: keysight-n774x
                """)
            .replacingOccurrences(of: "receive: { switch: mpm,", with: "receive: { switch: receive-switch,")
            .replacingOccurrences(of: "    powerMeter: mpm\n", with: "    powerMeter: laser\n")
        let switchedPath = NSTemporaryDirectory() + "ferrule-bench-switched-\(getpid()).yaml"
        try switched.write(toFile: switchedPath, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: switchedPath) }
        print("\nmulti-port meter (N7745C) against a receive switch and one meter, realistic profile:")
        for (label, path, receive) in [("N7745C", configPath, "mpm"), ("OSX + 8164B", switchedPath, "receive-switch")] {
            let dir = NSTemporaryDirectory() + "ferrule-bench-mpm-\(getpid())-\(receive)"
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let t = try await Throughput.start(configPath: path, data: dir, timing: .realistic, withRL: false)
            defer { t.wire.close() }
            let part = "FO-MTP8-LC-SM-B"
            _ = try await t.unit(part, serial: "WARM-\(receive)")
            for (what, faults) in [("good unit", [AssemblyFault]()), ("Type A under Type B", [.wrongPolarity(.a)]),
                                   ("all dark", [.genderMismatch])] {
                let movesBefore = await t.bench.moves(switch: receive)
                let u = try await t.unit(part, serial: "\(receive)-\(what.prefix(6))", faults: faults)
                let moves = await t.bench.moves(switch: receive) - movesBefore
                print(String(format: "  %@, %@: %.2f s, %d receive moves, %d receive-side exchanges (%@)", label, what, u.seconds,
                             receive == "mpm" ? 0 : moves, u.exchanges[receive] ?? 0, u.verdict.rawValue))
            }
            await t.station.shutdown()
        }
    }
}
