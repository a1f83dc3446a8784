import FerruleCore
import FerruleDevices
import FerruleSimSpec
import FerruleSimulator
import FerruleConfig
import FerruleStation
import Foundation
import FerruleTesting
import Testing

/// Round trips: what each driver operation costs on the wire, counted by the simulators.
@Suite(.shutsDownStations) struct ExchangeTests {
    func bench() async throws -> WireBench {
        let config = try StationConfig.load(path: Repo.simulatedConfig)
        let sb = SimulatedBench(wiring: config.fixtures, settings: config.simulation!.bench)
        return try await WireBench.start(
            [
                WireInstrument(name: "ilrl", model: .santecRL1, transport: .pty, wavelengthsNm: [1310, 1550]),
                WireInstrument(name: "launch-switch", model: .santecOSX, transport: .tcp, channels: 48),
                WireInstrument(name: "receive-switch", model: .diconMEMS, transport: .pty, channels: 48),
                {
                    var pm = WireInstrument(name: "pm", model: .keysight816x, transport: .tcp, wavelengthsNm: [1310, 1550])
                    pm.keysight = KeysightSimSlots(sourceSlot: 0)
                    return pm
                }()
            ], bench: sb, ptyDirectory: temporaryDirectory(), switchSettle: .zero)
    }

    func address(_ wb: WireBench, _ name: String) -> InstrumentAddress { InstrumentAddress.parse(wb.server(name)!.endpoint.address)! }

    /// Runs `body` and returns how many exchanges `instrument` saw meanwhile.
    func cost(_ wb: WireBench, _ instrument: String, _ body: () async throws -> Void) async throws -> Int {
        let before = await wb.exchanges()[instrument] ?? 0
        try await body()
        return (await wb.exchanges()[instrument] ?? 0) - before
    }

    @Test func eachOperationCostsWhatItsDriverSays() async throws {
        let wb = try await bench()
        defer { wb.close() }
        let rl1 = SantecRL1(name: "ilrl", address: address(wb, "ilrl"), wavelengthsNm: [1310, 1550])
        let osx = SantecOSX(name: "launch-switch", address: address(wb, "launch-switch"), channelCount: 48)
        let dicon = DiConSwitch(name: "receive-switch", address: address(wb, "receive-switch"), channelCount: 48)
        let pm = Keysight816x(name: "pm", address: address(wb, "pm"), slots: .init(sourceSlot: 0), wavelengthsNm: [1310, 1550])
        for i in [rl1, osx, dicon, pm] as [any Instrument] { _ = try await i.identify() }  // connected, set up

        // The OSX: the move and its first poll on one line, which finds it settled and on the channel.
        #expect(try await cost(wb, "launch-switch") { try await osx.select(channel: 7) } == 1)
        #expect(try await cost(wb, "launch-switch") { try await osx.select(channel: 7) } == 0)
        #expect(try await cost(wb, "receive-switch") { try await dicon.select(channel: 7) } == 2)  // move and read-back
        #expect(try await cost(wb, "receive-switch") { try await dicon.select(channel: 7) } == 0)

        #expect(try await cost(wb, "ilrl") { try await rl1.enable(wavelengthNm: 1310) } == 1)
        #expect(try await cost(wb, "ilrl") { try await rl1.enable(wavelengthNm: 1310) } == 0)  // already there
        #expect(try await cost(wb, "ilrl") { _ = try await rl1.readPower(wavelengthNm: 1310) } == 1)
        #expect(try await cost(wb, "ilrl") { _ = try await rl1.readReturnLoss(wavelengthNm: 1310) } == 1)
        // The laser's change, the reading and the RL on one line; the laser is then where the line set it.
        var joined: (power: PowerReading, returnLoss: ReturnLossReading?)?
        #expect(try await cost(wb, "ilrl") { joined = try await rl1.read(wavelengthNm: 1550, returnLoss: true, settingLaser: true) } == 1)
        #expect(joined?.returnLoss?.endA != nil && joined?.power != nil)
        #expect(await wb.bench.wavelength(source: "ilrl") == 1550)
        #expect(try await cost(wb, "ilrl") { try await rl1.enable(wavelengthNm: 1550) } == 0)
        #expect(try await cost(wb, "ilrl") { _ = try await rl1.read(wavelengthNm: 1550, returnLoss: false, settingLaser: true) } == 1)
        #expect(try await cost(wb, "ilrl") { try await rl1.disable() } == 1)
        #expect(try await cost(wb, "ilrl") { try await rl1.enable(wavelengthNm: 1310) } == 1)  // off, so on again

        #expect(try await cost(wb, "pm") { try await pm.enable(wavelengthNm: 1550) } == 1)
        #expect(try await cost(wb, "pm") { _ = try await pm.readPower(wavelengthNm: 1550) } == 1)  // wavelength joined
        #expect(try await cost(wb, "pm") { _ = try await pm.readPower(wavelengthNm: 1550) } == 1)

        // A re-plugged instrument may have reset: its settings are sent again.
        await rl1.unplugged()
        #expect(try await cost(wb, "ilrl") { try await rl1.enable(wavelengthNm: 1310) } >= 1)
    }

    /// The error queue is read only when the event status says there is something in it, and
    /// then what it holds is the error.
    @Test func theQueueIsReadOnlyWhenTheStatusSaysSo() async throws {
        let wb = try await bench()
        defer { wb.close() }
        let rl1 = SantecRL1(name: "ilrl", address: address(wb, "ilrl"), wavelengthsNm: [1310, 1550])
        _ = try await rl1.identify()
        await wb.server("ilrl")!.inject(.queueError, scope: FaultScope(command: "READ:IL"))
        var thrown: InstrumentError?
        let n = try await cost(wb, "ilrl") {
            do { _ = try await rl1.readPower(wavelengthNm: 1310) } catch let e as InstrumentError { thrown = e }
        }
        #expect(thrown?.detail.contains("-222") == true && thrown?.operation == "READ:IL:det1? 1310", "\(String(describing: thrown))")
        #expect(n == 3)  // the reading, then SYST:ERR? for the error and for "0,No error"
        await wb.server("ilrl")!.inject(.none)
        #expect(try await cost(wb, "ilrl") { _ = try await rl1.readPower(wavelengthNm: 1310) } == 1)
    }

    /// A switch still moving after the line that moved it is polled until it settles, and then
    /// its channel is checked; a channel it refuses is the instrument's own error.
    @Test func aMovingSwitchIsPolledUntilItSettles() async throws {
        let config = try StationConfig.load(path: Repo.simulatedConfig)
        let sb = SimulatedBench(wiring: config.fixtures, settings: config.simulation!.bench)
        let wb = try await WireBench.start(
            [WireInstrument(name: "launch-switch", model: .santecOSX, transport: .tcp, channels: 48)], bench: sb,
            ptyDirectory: temporaryDirectory(), switchSettle: .milliseconds(60))
        defer { wb.close() }
        let osx = SantecOSX(name: "launch-switch", address: address(wb, "launch-switch"), channelCount: 48)
        _ = try await osx.identify()
        let polls = try await cost(wb, "launch-switch") { try await osx.select(channel: 9) }
        #expect(polls >= 2, "a 60 ms move read as settled on the line that started it")
        #expect(await sb.switchChannel("launch-switch") == 9)
        await wb.server("launch-switch")!.inject(.queueError, scope: FaultScope(command: "CLOSe"))
        do {
            try await osx.select(channel: 10)
            Issue.record("a refused move must throw")
        } catch let e as InstrumentError {
            #expect(e.operation == "CLOSe 10" && e.detail.contains("-222"), "\(e)")
        }
    }
}
