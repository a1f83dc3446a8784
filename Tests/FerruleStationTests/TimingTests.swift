import FerruleCore
import FerruleDevices
import FerruleSimSpec
import FerruleSimulator
import FerruleConfig
import FerruleStation
import Foundation
import FerruleTesting
import Testing

/// `simulation.timing`: the simulated instruments take the time a real bench takes.
@Suite(.shutsDownStations) struct TimingTests {
    let good = try! String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)

    func timing(_ yaml: String) throws -> SimulationTiming {
        let text = good.replacingOccurrences(of: "  timing: instant\n", with: "  timing: \(yaml)\n")
        return try StationConfig.parse(text, file: "bench.yaml").simulation!.bench.timing
    }

    @Test func presetsAndSingleFigures() throws {
        #expect(try timing("instant") == .instant)
        let real = try timing("realistic")
        #expect(real.settleMs("santec-osx") == 300 && real.settleMs("dicon-mems") == 15 && real.meterAveragingMs == 100)
        let mixed = try timing("{ preset: realistic, switchSettleMs: { santec-osx: 250 }, answerMs: 5, serialBaud: 9600 }")
        #expect(mixed.settleMs("santec-osx") == 250 && mixed.settleMs("dicon-mems") == 15)
        #expect(mixed.answerMs == 5 && mixed.serialBytesPerSecond == 960 && mixed.rlMeasurementMs == 1000)
    }

    @Test(arguments: [
        ("slow", "simulation.timing", "no timing preset 'slow'"),
        ("{ switchSettleMs: { santec-osy: 300 } }", "simulation.timing.switchSettleMs.santec-osy", "is not a switch driver"),
        ("{ meterAveragingMs: -1 }", "simulation.timing.meterAveragingMs", "outside"),
        ("{ presett: realistic }", "simulation.timing.presett", "unknown key")
    ])
    func badTimingNamesTheField(yaml: String, path: String, message: String) throws {
        do {
            _ = try timing(yaml)
            Issue.record("\(yaml) must be refused")
        } catch let e as ConfigError {
            #expect(e.path.description == path, "\(e)")
            #expect(e.message.contains(message), "\(e)")
        }
    }

    /// On the wire, a reading takes the meter's averaging time and every line its answer time;
    /// an in-process switch asked for the channel it is on does not move again.
    @Test func wireSimulatorsTakeTheirTime() async throws {
        let config = try StationConfig.load(path: Repo.simulatedConfig)
        var settings = config.simulation!.bench
        settings.timing.meterAveragingMs = 120
        settings.timing.answerMs = 15
        settings.timing.switchSettleMs["sim-switch"] = 1000
        let bench = SimulatedBench(wiring: config.fixtures, settings: settings)
        let wb = try await WireBench.start(
            [WireInstrument(name: "ilrl", model: .santecRL1, transport: .tcp, wavelengthsNm: [1310])], bench: bench,
            ptyDirectory: temporaryDirectory())
        defer { wb.close() }
        let link = try await LineLink.open(InstrumentAddress.parse(wb.server("ilrl")!.endpoint.address)!)
        defer { link.close() }
        var t0 = ContinuousClock.now
        _ = try await link.query("*IDN?", timeout: .seconds(5))
        #expect(ContinuousClock.now - t0 >= .milliseconds(15))
        t0 = .now
        _ = try await link.query("READ:IL:det1? 1310", timeout: .seconds(5))
        #expect(ContinuousClock.now - t0 >= .milliseconds(135))

        let sw = SimulatedSwitch(name: "launch-switch", channelCount: 48, bench: bench)
        t0 = .now
        try await sw.select(channel: 3)
        #expect(ContinuousClock.now - t0 >= .milliseconds(1000))
        // Not moved, so no settling: with a settling time of ten minutes now, a move would lose
        // the race against 20 s (room for a loaded machine, where a bound of 0.9 s once failed).
        settings.timing.switchSettleMs["sim-switch"] = 600_000
        bench.setTiming(settings.timing)
        let stayed = await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await sw.select(channel: 3)) != nil }
            group.addTask {
                try? await Task.sleep(for: .seconds(20))
                return false
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
        #expect(stayed, "asked for the channel it was on, the switch settled again")
    }
}
