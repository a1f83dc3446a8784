import FerruleCore
import FerruleDevices
import FerruleProtocol
import FerruleSetup
import FerruleSimSpec
import FerruleSimulator
import FerruleConfig
import FerruleStation
import Foundation
import FerruleTesting
import Testing

/// Interop with a Modbus implementation no one here wrote: pymodbus (from PyPI, installed by
/// .ci/run). Our drivers against its server; its client against our simulators.
@Suite(.serialized, .shutsDownStations) struct ModbusInteropTests {
    static let peer = Repo.root + "/scripts/modbus-peer.py"

    /// Starts the pymodbus server; returns the process and its port.
    func startPeerServer(unit: Int) async throws -> (Process, Int) {
        let (p, port) = try startPeer("modbus-peer.py", ["server", "--unit", "\(unit)", "--lid-closed"])
        // Listening shortly after it prints: wait until a connection is accepted.
        let probe = ModbusLink(
            name: "probe", address: .tcp(host: "127.0.0.1", port: port), unitId: unit, timeout: .milliseconds(300), retries: 0)
        try await waitUntil("the pymodbus server") { (try? await probe.readBits(.di, address: 0, count: 1)) != nil }
        await probe.close()
        return (p, port)
    }

    @Test func ourDriversAgainstAPymodbusServer() async throws {
        let (server, port) = try await startPeerServer(unit: 5)
        defer { kill(server.processIdentifier, SIGKILL) }  // pymodbus keeps serving through SIGTERM
        let link = ModbusLink(name: "peer", address: .tcp(host: "127.0.0.1", port: port), unitId: 5, timeout: .seconds(1), retries: 1)

        // The switch map without position feedback (a plain register store): the channel lands in hr:3.
        let sw = ModbusSwitch(
            name: "peer-switch", link: link, channelCount: 24,
            map: ModbusSwitchMap(channel: ModbusPoint(.hr, 3), position: nil, busy: nil))
        try await sw.select(channel: 17)
        #expect(try await link.readRegisters(.hr, address: 3, count: 1) == [17])
        try await sw.park()
        #expect(try await link.readRegisters(.hr, address: 3, count: 1) == [0])

        let io = ModbusFixtureIO(name: "peer-io", link: link, map: ModbusIOMap())
        let lid = try await io.lidClosed()
        let part = try await io.partPresent()
        let start = try await io.startPressed()
        #expect(lid && part && start)
        try await io.setStackLight(.green)
        #expect(try await link.readBits(.coil, address: 0, count: 3) == [false, false, true])
        try await io.setStackLight(.red)
        #expect(try await link.readBits(.coil, address: 0, count: 3) == [true, false, false])

        // Its refusals come back as the device's exception, naming unit and register.
        let e = await #expect(throws: InstrumentError.self) { _ = try await link.readRegisters(.hr, address: 500, count: 1) }
        #expect(
            e?.operation.contains("unit 5") == true && e?.operation.contains("at 500") == true && e?.detail.contains("exception") == true)
    }

    func runClient(_ args: [String]) throws -> [String: JSONValueLite] {
        let (status, out) = try runProgram("/usr/bin/env", ["python3", Self.peer, "client"] + args)
        #expect(status == 0, "\(out)")
        let json = out.split(separator: "\n").last { $0.hasPrefix("{") }.map(String.init) ?? "{}"
        return (try? JSONDecoder().decode([String: JSONValueLite].self, from: Data(json.utf8))) ?? [:]
    }

    @Test(arguments: [WireTransport.tcp, .pty])
    func aPymodbusClientReadsOurSimulator(_ transport: WireTransport) async throws {
        let config = try StationConfig.load(path: Repo.simulatedConfig)
        let sb = SimulatedBench(wiring: config.fixtures, settings: config.simulation!.bench)
        let wb = try await WireBench.start(
            [
                WireInstrument(
                    name: "mux", model: .modbusSwitch, transport: transport, channels: 48,
                    modbus: .opticalSwitch(ModbusSwitchMap(), channels: 48), unitId: 4),
                WireInstrument(
                    name: "fixture1-io", model: .modbusIO, transport: transport,
                    modbus: .fixtureIO(ModbusIOMap(), fixture: 1), unitId: 4)
            ], bench: sb, ptyDirectory: temporaryDirectory())
        defer { wb.close() }
        await sb.mount(.referenceCord, fixture: 1)
        func target(_ name: String) -> [String] {
            let a = wb.modbusServers[name]!.endpoint.address
            return transport == .tcp ? ["--tcp", String(a.dropFirst("tcp://".count))] : ["--rtu", a]
        }
        let io = try runClient(
            target("fixture1-io") + ["--unit", "4", "--write", "coil:2=1", "--read", "di:0", "--read", "di:1", "--read", "coil:2"])
        #expect(io["di:0"] == .bool(true) && io["di:1"] == .bool(true) && io["coil:2"] == .bool(true), "\(io)")
        #expect(await sb.stackLights[1] == [.green])

        let mux = try runClient(
            target("mux") + ["--unit", "4", "--write", "hr:0=12", "--settle", "0.2", "--read", "ir:0", "--read", "hr:0"])
        #expect(mux["ir:0"] == .int(12) && mux["hr:0"] == .int(12), "\(mux)")
        #expect(await sb.switchChannel("mux") == 12)
    }
}

/// The scalar JSON values the peer prints.
enum JSONValueLite: Decodable, Equatable {
    case bool(Bool)
    case int(Int)
    case string(String)
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else {
            self = .string(try c.decode(String.self))
        }
    }
}
