import FerruleCore
import FerruleDevices
import FerruleProtocol
import FerruleSetup
import FerruleSimSpec
import FerruleSimulator
import FerruleConfig
import FerruleStation
import Foundation
import NIOCore
import NIOPosix
import FerruleTesting
import Testing

/// The real drivers against the wire-level simulators, over real TCP sockets and ptys.
@Suite(.shutsDownStations) struct WireTests {
    /// A wire bench with every model, on both transports.
    func bench() async throws -> (WireBench, StationConfig, String) {
        let config = try StationConfig.load(path: Repo.simulatedConfig)
        let dir = temporaryDirectory()
        let sb = SimulatedBench(wiring: config.fixtures, settings: config.simulation!.bench)
        let wb = try await WireBench.start(
            [
                WireInstrument(name: "ilrl", model: .santecRL1, transport: .pty, wavelengthsNm: [1310, 1550]),
                WireInstrument(name: "launch-switch", model: .santecOSX, transport: .tcp, channels: 48),
                WireInstrument(name: "receive-switch", model: .diconMEMS, transport: .pty, channels: 48),
                WireInstrument(name: "pm", model: .keysight816x, transport: .tcp)
            ], bench: sb, ptyDirectory: dir, switchSettle: .milliseconds(20))
        return (wb, config, dir)
    }

    func address(_ wb: WireBench, _ name: String) -> InstrumentAddress {
        InstrumentAddress.parse(wb.server(name)!.endpoint.address)!
    }

    @Test func everyDriverCommandAgainstTheSimulators() async throws {
        let (wb, _, dir) = try await bench()
        defer { wb.close() }
        // The endpoints file lists each instrument with protocol, transport and address.
        try wb.writeEndpoints(to: dir + "/endpoints.json")
        let eps = try JSONDecoder().decode([Endpoint].self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/endpoints.json")))
        #expect(Set(eps.map(\.name)) == ["ilrl", "launch-switch", "receive-switch", "pm"])
        #expect(eps.first { $0.name == "ilrl" }?.address == dir + "/ilrl" && eps.first { $0.name == "ilrl" }?.transport == .pty)
        #expect(eps.first { $0.name == "pm" }?.address.hasPrefix("tcp://127.0.0.1:") == true)

        let osx = SantecOSX(name: "launch-switch", address: address(wb, "launch-switch"), channelCount: 48)
        let dicon = DiConSwitch(name: "receive-switch", address: address(wb, "receive-switch"), channelCount: 48)
        let rl1 = SantecRL1(name: "ilrl", address: address(wb, "ilrl"), wavelengthsNm: [1310, 1550])
        let pm = Keysight816x(name: "pm", address: address(wb, "pm"))
        #expect(try await osx.identify().manufacturer == "SANTEC")
        #expect(try await dicon.identify().model == "MEMS 1x48")
        #expect(try await rl1.identify().model == "RL1")
        #expect(try await pm.identify().manufacturer == "Keysight Technologies")

        // Reference cord on fixture 1: position 5 -> 5.
        await wb.bench.mount(.referenceCord, fixture: 1)
        try await osx.select(channel: 5)  // asynchronous: polled until the switch settles
        try await dicon.select(channel: 5)
        try await rl1.enable(wavelengthNm: 1310)
        let p = try await rl1.readPower(wavelengthNm: 1310)
        #expect((p.dBmValue ?? 0) < -3.5 && (p.dBmValue ?? 0) > -4.9)  // -3 dBm source, two paths of 0.3-0.9 dB each
        let rl = try await rl1.readReturnLoss(wavelengthNm: 1310)
        #expect((rl.endA ?? 0) > 50 && (rl.endB ?? 0) > 50)  // both ends of the straight reference cord
        // Off the light path: no light, never a number.
        try await dicon.select(channel: 6)
        #expect(try await rl1.readPower(wavelengthNm: 1310) == .noLight)
        try await rl1.disable()
        try await dicon.park()
        await #expect(throws: InstrumentError.self) { try await osx.select(channel: 49) }
        await #expect(throws: InstrumentError.self) { try await rl1.enable(wavelengthNm: 850) }
    }

    @Test func errorQueueIsFIFOOverflowsAndClears() async throws {
        let (wb, _, _) = try await bench()
        defer { wb.close() }
        let s = SCPISession(name: "pm", address: address(wb, "pm"))
        do {
            try await s.command("FROB:NICATE 1")
            Issue.record("an undefined header must fail")
        } catch let e as InstrumentError {
            #expect(e.instrument == "pm" && e.operation == "FROB:NICATE 1")
            #expect(e.detail.contains("-113") && e.detail.contains("Undefined header"))
        }
        // 40 errors without reading the queue: it keeps 30, the last one says overflow.
        let raw = try await LineLink.open(address(wb, "pm"))
        defer { raw.close() }
        for _ in 0..<40 { try await raw.send("BOGUS") }
        var codes: [Int] = []
        while true {
            let r = try await raw.query("SYST:ERR?", timeout: .seconds(2))
            let code = SCPI.parseError(r)!.code
            if code == 0 { break }
            codes.append(code)
        }
        #expect(codes.count == SCPIDevice.queueDepth)
        #expect(codes.dropLast().allSatisfy { $0 == -113 } && codes.last == -350)
        for _ in 0..<3 { try await raw.send("BOGUS") }
        try await raw.send("*CLS")
        #expect(try await raw.query("SYST:ERR?", timeout: .seconds(2)).hasPrefix("0,"))
    }

    @Test func parsing() {
        #expect(
            SCPI.parseIdentity("SANTEC, RL1 ,123,1.0")
                == InstrumentIdentity(manufacturer: "SANTEC", model: "RL1", serial: "123", firmware: "1.0"))
        #expect(SCPI.parseIdentity("garbage") == nil)
        #expect(SCPI.parseNumber("+1.33555600E-006") == 1.335556e-6)
        #expect(SCPI.parseNumber("12.5dBm") == 12.5)
        #expect(SCPI.parseNumber("+9.9E+37") == nil)
        #expect(SCPI.parseNumber("+9.91E37") == nil)
        #expect(SCPI.parseError("-113,\"Undefined header\"")! == (-113, "Undefined header"))
        #expect(InstrumentAddress.parse("tcp://10.0.0.5:5025") == .tcp(host: "10.0.0.5", port: 5025))
        #expect(InstrumentAddress.parse("tcp://10.0.0.5") == nil)
        #expect(InstrumentAddress.parse("COM3") == nil)
    }

    /// An instrument that stops reading (a hung USB-serial adapter, a full TCP window) ends the
    /// exchange at its timeout with the link closed: the write does not wait for it forever.
    @Test func anInstrumentThatStopsReadingTimesOut() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_rcvbuf), value: 4096)
            .childChannelOption(.autoRead, value: false)  // accepts, never reads
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let link = try await LineLink.open(.tcp(host: "127.0.0.1", port: try #require(server.localAddress?.port)))
        let line = String(repeating: "X", count: 32 << 20)  // more than the two sockets' buffers hold
        let error = await #expect(throws: LinkError.self) { try await link.query(line, timeout: .milliseconds(500)) }
        #expect(error?.kind == .timeout)
        #expect(!link.isOpen)
    }

    @Test func concurrentOperationsDoNotTangle() async throws {
        let (wb, _, _) = try await bench()
        defer { wb.close() }
        let osx = SantecOSX(name: "launch-switch", address: address(wb, "launch-switch"), channelCount: 48)
        try await withThrowingTaskGroup(of: Void.self) { g in
            for ch in 1...12 {
                g.addTask { try await osx.select(channel: ch) }
                g.addTask {
                    let id = try await osx.identify()
                    #expect(id.model == "OSX-100")
                }
            }
            try await g.waitForAll()
        }
    }

    /// Every injected fault, on each transport, ends a unit as `error` naming the instrument:
    /// never a hang, never a `fail`.
    @Test(.serialized, arguments: [WireFault.noReply, .garbage, .queueError, .disconnect])
    func injectedFaultEndsTheUnitAsError(fault: WireFault) async throws {
        // Short reply timeouts so that a silent instrument is found out quickly, but not so short
        // that a healthy one misses them on a loaded 2-core machine (1 s did, once, in CI).
        let text = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
            .replacingOccurrences(of: "    simulate: tcp\n", with: "    simulate: tcp\n    timeout: 2s\n")
            .replacingOccurrences(
                of: "    simulate: pty             # on a real bench: address: /dev/ferrule/ilrl",
                with: "    timeout: 2s\n    simulate: pty   #")
        let config = try StationConfig.parse(text, file: "wire-faults.yaml")
        let built = try await makeBuiltStation(config: config)
        let (station, bench) = (built.station, try #require(built.simulation?.bench))
        defer { built.simulation?.close() }
        for target in ["ilrl", "receive-switch"] {  // a pty instrument and a TCP one
            await built.simulation?.wire?.server(target)?.inject(fault)
            let o = try await testUnit(
                station, bench, serial: "WF-\(fault)-\(target)", part: "FT-MTP8-SMAPC-B",
                faults: [.highLoss(fiber: 1, extraDb: 1)])
            #expect(o.report.verdict == .error, "\(fault) on \(target)")
            #expect(o.report.diagnoses.contains { $0.code == .instrumentFault && $0.message.hasPrefix(target) }, "\(o.report.reasons)")
            await built.simulation?.wire?.server(target)?.inject(.none)
            // The station's own retry switches the source off (it may not have confirmed it off).
            try await waitUntil("the source to confirm off") { await station.status().fixtures.allSatisfy { $0.sourceMayBeOn == nil } }
            // The driver reconnects by itself: the next unit is measured normally.
            let next = try await testUnit(station, bench, serial: "WF-after-\(fault)-\(target)", part: "FT-MTP8-SMAPC-B")
            #expect(next.report.verdict == .pass, "\(next.report.reasons)")
        }
    }
}
