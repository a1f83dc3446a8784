import FerruleCore
import FerruleDevices
import FerruleProtocol
import FerruleSetup
import FerruleSimSpec
import FerruleSimulator
import FerruleConfig
import FerruleStation
import Foundation
import Logging
import FerruleTesting
import Testing

/// The Modbus drivers against the libmodbus-served simulators, on Modbus TCP and on RTU over a
/// pty, and the fixture interlock in the station.
@Suite(.shutsDownStations) struct ModbusTests {
    static let switchMap = ModbusSwitchMap(
        channel: ModbusPoint(.hr, 10), position: ModbusPoint(.ir, 10), busy: ModbusPoint(.ir, 11, bit: 3))
    static let ioMap = ModbusIOMap(
        lidClosed: ModbusPoint(.di, 4, inverted: true), partPresent: ModbusPoint(.ir, 2, bit: 1),
        startButton: ModbusPoint(.di, 5), red: ModbusPoint(.coil, 7), amber: ModbusPoint(.hr, 20, bit: 0),
        green: ModbusPoint(.coil, 9))

    /// A switch and an I/O module for fixture 1, each on the given transport.
    func bench(_ transport: WireTransport, fault: WireFault = .none) async throws -> (WireBench, SimulatedBench) {
        let config = try StationConfig.load(path: Repo.simulatedConfig)
        let sb = SimulatedBench(wiring: config.fixtures, settings: config.simulation!.bench)
        let wb = try await WireBench.start(
            [
                WireInstrument(
                    name: "launch-switch", model: .modbusSwitch, transport: transport, channels: 48, fault: fault,
                    modbus: .opticalSwitch(Self.switchMap, channels: 48), unitId: 7),
                WireInstrument(
                    name: "fixture1-io", model: .modbusIO, transport: transport, fault: fault,
                    modbus: .fixtureIO(Self.ioMap, fixture: 1), unitId: 7)
            ], bench: sb, ptyDirectory: temporaryDirectory(), switchSettle: .milliseconds(15))
        return (wb, sb)
    }

    func link(_ wb: WireBench, _ name: String, unitId: Int = 7, timeout: Duration = .seconds(2), retries: Int = 1) -> ModbusLink {
        ModbusLink(
            name: name, address: InstrumentAddress.parse(wb.modbusServers[name]!.endpoint.address)!, unitId: unitId,
            timeout: timeout, retries: retries)
    }

    @Test(arguments: [WireTransport.tcp, .pty])
    func switchAndFixtureIODrivers(_ transport: WireTransport) async throws {
        let (wb, sb) = try await bench(transport)
        defer { wb.close() }
        #expect(wb.endpoints.allSatisfy { $0.protocol == "modbus" && $0.transport == transport })

        let sw = ModbusSwitch(name: "launch-switch", link: link(wb, "launch-switch"), channelCount: 48, map: Self.switchMap)
        #expect(try await sw.identify().model.contains("1x48"))
        try await sw.select(channel: 17)  // written to hr:10, polled on ir:11.3 and ir:10 until settled
        #expect(await sb.switchChannel("launch-switch") == 17)
        try await sw.select(channel: 3)
        #expect(await sb.switchChannel("launch-switch") == 3)
        await #expect(throws: InstrumentError.self) { try await sw.select(channel: 49) }
        try await sw.park()
        // The park lands once the switch has settled; the simulator shows it to the next request.
        try await waitUntil("the switch to park") {
            _ = try await sw.identify()
            return await sb.switchChannel("launch-switch") == nil
        }

        let io = ModbusFixtureIO(name: "fixture1-io", link: link(wb, "fixture1-io"), map: Self.ioMap)
        #expect(try await io.lidClosed() == false)
        #expect(try await io.partPresent() == false)
        await sb.mount(.referenceCord, fixture: 1)
        #expect(try await io.lidClosed() == true)  // an active-low input, read through its inversion
        #expect(try await io.partPresent() == true)  // a bit of an input register
        #expect(try await io.startPressed() == true)
        await sb.setInputs(fixture: 1) { $0.lidClosed = false }
        #expect(try await io.lidClosed() == false)
        try await io.setStackLight(.amber)  // a bit of a holding register
        #expect(await sb.stackLights[1] == [.amber])
        try await io.setStackLight(.red)
        #expect(await sb.stackLights[1] == [.red])
        try await io.setStackLight(.off)
        #expect(await sb.stackLights[1] == [])
    }

    @Test(.timeLimit(.minutes(2)), arguments: [WireTransport.tcp, .pty])
    func errorsNameTheUnitTheRegisterAndWhatHappened(_ transport: WireTransport) async throws {
        let (wb, _) = try await bench(transport)
        defer { wb.close() }
        // Generous where the test is not about timing: the suite runs on a loaded machine.
        let l = link(wb, "fixture1-io", timeout: .seconds(2), retries: 1)
        // A register the module does not have: its own exception, not retried.
        let e1 = await #expect(throws: InstrumentError.self) { _ = try await l.readRegisters(.hr, address: 900, count: 2) }
        #expect(
            e1?.operation.contains("unit 7") == true && e1?.operation.contains("holding registers at 900") == true,
            "\(String(describing: e1))")
        #expect(
            e1?.detail.contains("exception") == true && e1?.detail.lowercased().contains("illegal data address") == true,
            "\(String(describing: e1))")

        // No reply: bounded by timeout x tries, and the message says so.
        wb.modbusServers["fixture1-io"]!.inject(.noReply)
        let quick = link(wb, "fixture1-io", timeout: .milliseconds(200), retries: 1)
        let e2 = await #expect(throws: InstrumentError.self) { _ = try await quick.readBits(.di, address: 4, count: 1) }
        // Bounded by the message (timeout and tries) and by the test's time limit, never by a
        // wall-clock assertion: a 5 s ceiling failed at 6.3 s on a loaded CI machine.
        #expect(e2?.detail.contains("no reply within 200 ms (2 tries)") == true)

        // A garbage reply is never taken for an answer.
        wb.modbusServers["fixture1-io"]!.inject(.garbage)
        await #expect(throws: InstrumentError.self) { _ = try await l.readBits(.di, address: 4, count: 1) }

        // The device's failure report (Modbus has no error queue: exception 4).
        wb.modbusServers["fixture1-io"]!.inject(.queueError)
        let e3 = await #expect(throws: InstrumentError.self) { _ = try await l.readBits(.di, address: 4, count: 1) }
        #expect(e3?.detail.contains("exception") == true)

        // A disconnect mid-conversation: this request fails or is retried, the next one works.
        wb.modbusServers["fixture1-io"]!.inject(.disconnect)
        _ = try? await l.readBits(.di, address: 4, count: 1)
        #expect(try await l.readBits(.di, address: 4, count: 1) == [true])  // active low, lid open: raw 1

        // A wrong unit id on the line: nobody answers (RTU) or the gateway's unit does not match.
        if transport == .pty {
            let other = link(wb, "fixture1-io", unitId: 9, timeout: .milliseconds(150), retries: 0)
            let e4 = await #expect(throws: InstrumentError.self) { _ = try await other.readBits(.di, address: 4, count: 1) }
            #expect(e4?.operation.contains("unit 9") == true && e4?.detail.contains("no reply") == true, "\(String(describing: e4))")
        }
        // Nothing listening: the link names the address.
        let dead = ModbusLink(name: "nobody", address: .tcp(host: "127.0.0.1", port: 1), unitId: 1, timeout: .milliseconds(100), retries: 0)
        let e5 = await #expect(throws: InstrumentError.self) { _ = try await dead.readBits(.coil, address: 0, count: 1) }
        #expect(e5?.detail.contains("cannot connect to tcp://127.0.0.1:1") == true)
    }

    @Test func pointsParseAndRefuseWithTheReason() {
        #expect(ModbusPoint.parse("di:3") == .success(ModbusPoint(.di, 3)))
        #expect(ModbusPoint.parse("!hr:100.15") == .success(ModbusPoint(.hr, 100, bit: 15, inverted: true)))
        for bad in ["dx:1", "di:", "di:1.2", "hr:70000", "hr:1.16", "coil"] {
            guard case .failure = ModbusPoint.parse(bad) else {
                Issue.record("\(bad) parsed")
                continue
            }
        }
    }

    // MARK: The interlock in the station

    /// The default config (Modbus fixture I/O on the wire) with a slow meter, so a unit lasts long
    /// enough to open its lid in the middle.
    func wireStation(readMs: Double = 15) async throws -> (Station, SimulatedBench, BuiltStation) {
        let text = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
            .replacingOccurrences(of: "    noiseDb: 0.003\n", with: "    noiseDb: 0.003\n    meterReadMs: \(readMs)\n")
        let cfg = try StationConfig.parse(text, file: "modbus.yaml")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let built = try await StationBuilder.make(config: cfg, data: DataDirectory(root: temporaryDirectory()), logger: logger)
        tracked(built.station)
        let station = built.station
        let sb = try #require(built.simulation?.bench)
        let failures = await station.availability.probe()
        #expect(failures.isEmpty, "\(failures)")
        try await referenceEveryCord(station, sb, fixtures: [1])
        return (station, sb, built)
    }

    @Test func lidOpenedMidUnitStopsItSafely() async throws {
        let (station, sb, built) = try await wireStation()
        defer { built.simulation?.close() }
        let recipe = station.config.recipes["FT-MTP24-OM4-A"]!
        await sb.mount(.assembly(SimulatedAssembly(serial: "LID-1", recipe: recipe, faults: [])), fixture: 1)
        let task = Task { try await station.test(UnitRequest(serial: "LID-1", partNumber: "FT-MTP24-OM4-A", fixture: 1, operatorId: "op")) }
        let before = await sb.readings
        try await waitUntil { await sb.readings >= before + 6 }  // a few fibers into the unit
        await sb.setInputs(fixture: 1) { $0.lidClosed = false }
        let outcome = try await task.value
        #expect(outcome.report.verdict == .aborted)
        #expect(outcome.report.reasons.contains { $0.contains("lid of fixture 1") })
        #expect(outcome.report.measurements.count < 24 * 2)  // stopped, not finished
        #expect(await sb.lightInFixture(1) == false)
        #expect(await sb.interlockViolations == [])
        #expect(await sb.stackLights[1] == [])  // aborted: lamps off

        // With the lid open, no light and no unit: refused before anything is measured.
        await #expect(throws: UnitRefused.self) {
            _ = try await station.test(UnitRequest(serial: "LID-2", partNumber: "FT-MTP24-OM4-A", fixture: 1, operatorId: "op"))
        }
        await #expect(throws: UnitRefused.self) { _ = try await station.takeReference(fixture: 1) }
        #expect(await sb.interlockViolations == [])

        // Closed again, a unit runs to its verdict and the stack light shows it.
        await sb.setInputs(fixture: 1) { $0.lidClosed = true }
        let ok = try await station.test(UnitRequest(serial: "LID-3", partNumber: "FT-MTP24-OM4-A", fixture: 1, operatorId: "op"))
        #expect(ok.report.verdict == .pass)
        #expect(await sb.stackLights[1] == [.green])
    }

    @Test func anIOModuleThatStopsAnsweringMakesTheUnitError() async throws {
        let (station, sb, built) = try await wireStation()
        defer { built.simulation?.close() }
        let recipe = station.config.recipes["FT-MTP24-OM4-A"]!
        await sb.mount(.assembly(SimulatedAssembly(serial: "IO-1", recipe: recipe, faults: [])), fixture: 1)
        let task = Task { try await station.test(UnitRequest(serial: "IO-1", partNumber: "FT-MTP24-OM4-A", fixture: 1, operatorId: "op")) }
        let before = await sb.readings
        try await waitUntil { await sb.readings >= before + 4 }
        await built.simulation?.wire?.inject(.noReply, into: "fixture1-io")
        let outcome = try await task.value
        #expect(outcome.report.verdict == .error)
        #expect(outcome.report.reasons.contains { $0.contains("fixture1-io") && $0.contains("no reply") })
        #expect(await sb.interlockViolations == [])
    }

    @Test func startFromTheSocketWaitsForTheStartButton() async throws {
        let (station, sb, built) = try await wireStation(readMs: 0)
        defer { built.simulation?.close() }
        let recipe = station.config.recipes["FT-MTP8-SMAPC-B"]!
        await sb.mount(.assembly(SimulatedAssembly(serial: "ST-1", recipe: recipe, faults: [])), fixture: 1)
        await sb.setInputs(fixture: 1) { $0.startPressed = false }
        let task = try await station.start(UnitRequest(serial: "ST-1", partNumber: "FT-MTP8-SMAPC-B", fixture: 1, operatorId: "op"))
        try await waitUntil { await station.status().fixtures[0].state == .waitingStart }
        // Not a synchronisation: a pause in which nothing may happen (no button, no measuring).
        try await Task.sleep(for: .milliseconds(100))
        #expect(await station.status().fixtures[0].unit?.fibersDone == 0)
        await sb.setInputs(fixture: 1) { $0.startPressed = true }
        let outcome = await task.value
        #expect(outcome?.report.verdict == .pass)
    }
}
