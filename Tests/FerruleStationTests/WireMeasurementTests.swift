import FerruleCore
import FerruleDevices
import FerruleSimulator
@testable import FerruleConfig
@testable import FerruleStation
import Foundation
import FerruleTesting
import Testing
#if canImport(Glibc)
import Glibc
import FerruleSimSpec
import FerruleSetup
import FerruleProtocol
#endif

/// The simulated bench as unkind as a real one, on the wire: sentinels, scoped faults, a Keysight
/// mainframe as a whole bench, IEEE 488.2 status, Modbus unit ids and exceptions.
@Suite(.shutsDownStations) struct WireMeasurementTests {
    /// The default bench with short reply timeouts, and the RL1 started with `fault`.
    func wireStation(ilrlFault: String) async throws -> (Station, SimulatedBench, BuiltStation) {
        let text = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
            .replacingOccurrences(of: "    simulate: pty             # on a real bench: address: /dev/ferrule/ilrl (see "
                + "systemd/99-ferrule-instruments.rules)",
                                  with: "    simulate: pty\n    timeout: 2s\n    fault: \(ilrlFault)")
        let built = try await makeBuiltStation(config: try StationConfig.parse(text, file: "wire-meter.yaml"))
        return (built.station, try #require(built.simulation?.bench), built)
    }

    /// A fault scoped to `READ:RL?` on fiber 9 ends the unit `error` naming the instrument, the
    /// command and fiber 9; the fibers before it pass. The RL1 reads IL and RL on one line, so
    /// the fault takes fiber 9's IL at that wavelength with it: the step is `error` with neither.
    @Test func faultOnOneCommandOfOneFiberIsRecordedWhereItStruck() async throws {
        let (station, bench, built) = try await wireStation(ilrlFault: "{ kind: noReply, command: \"READ:RL?\", fiber: 9 }")
        defer { built.simulation?.close() }
        let o = try await testUnit(station, bench, serial: "F9-1", part: "FT-MTP12-SMAPC-B-LL")
        let r = o.report
        #expect(r.verdict == .error)
        let reason = try #require(r.reasons.first)
        #expect(reason.contains("ilrl") && reason.contains("READ:RL? 1310") && reason.contains("fiber 9"), "\(reason)")
        let nine = r.measurements.filter { $0.fiber == 9 }
        #expect(nine.count == 1 && nine[0].ilDb == nil && nine[0].rlDb == nil && nine[0].verdict == .error, "\(nine)")
        #expect(r.measurements.filter { $0.fiber < 9 }.allSatisfy { $0.ilDb != nil && $0.rlDb != nil && $0.rlBDb != nil })
        #expect(r.fibers.first { $0.fiber == 9 }?.verdict == .error)
        #expect(r.fibers.filter { (1...8).contains($0.fiber) }.allSatisfy { $0.verdict == .pass })
        #expect(r.fibers.filter { (10...12).contains($0.fiber) }.allSatisfy { $0.verdict == .notTested })
        #expect(r.diagnoses.map(\.code) == [.instrumentFault] && r.diagnoses[0].fibers == [9])
    }

    /// An over-range reading (the RL1's -9.9E37) is `error` naming the fiber and the fix, never dark.
    @Test func overRangeIsAnErrorNeverDark() async throws {
        let (station, bench, built) = try await wireStation(ilrlFault: "none")
        defer { built.simulation?.close() }
        try await built.faults.inject(.overRange, into: "ilrl", scope: FaultScope(command: "READ:IL", fiber: 4))
        let o = try await testUnit(station, bench, serial: "OR-1", part: "FT-MTP12-SMAPC-B-LL")
        #expect(o.report.verdict == .error)
        let four = o.report.measurements.filter { $0.fiber == 4 }
        #expect(four.count == 2 && four.allSatisfy { $0.powerStatus == .overRange && $0.ilDb == nil && $0.verdict == .error })
        #expect(o.report.reasons.contains { $0.contains("over range on fiber 4") && $0.contains("source power") }, "\(o.report.reasons)")
        #expect(!o.report.diagnoses.contains { [.allDark, .darkFiber].contains($0.code) })
    }

    /// Each driver maps its meter's sentinels and noise: dark is no light, over range is over range.
    @Test func driversMapTheirSentinels() async throws {
        let config = try StationConfig.load(path: Repo.simulatedConfig)
        let sb = SimulatedBench(wiring: config.fixtures, settings: config.simulation!.bench)
        let wb = try await WireBench.start([
            WireInstrument(name: "ilrl", model: .santecRL1, transport: .tcp, wavelengthsNm: [1310, 1550]),
            WireInstrument(name: "launch-switch", model: .santecOSX, transport: .tcp, channels: 48),
            WireInstrument(name: "receive-switch", model: .santecOSX, transport: .tcp, channels: 48),
            WireInstrument(name: "km", model: .keysight816x, transport: .tcp, wavelengthsNm: [1310]),
        ], bench: sb, ptyDirectory: temporaryDirectory())
        defer { wb.close() }
        func at(_ n: String) -> InstrumentAddress { InstrumentAddress.parse(wb.server(n)!.endpoint.address)! }
        let rl1 = SantecRL1(name: "ilrl", address: at("ilrl"), wavelengthsNm: [1310, 1550])
        let km = Keysight816x(name: "km", address: at("km"))
        let osx = SantecOSX(name: "receive-switch", address: at("receive-switch"), channelCount: 48)
        try await SantecOSX(name: "launch-switch", address: at("launch-switch"), channelCount: 48).select(channel: 2)
        try await osx.select(channel: 3)  // off the cord's path: darkness, read as the detectors' noise
        await sb.mount(.referenceCord, fixture: 1)
        try await rl1.enable(wavelengthNm: 1310)
        for _ in 0..<20 {
            #expect(try await rl1.readPower(wavelengthNm: 1310) == .noLight)
            #expect(try await km.readPower(wavelengthNm: 1310) == .noLight)  // noise, negative or below -80 dBm
        }
        try await osx.select(channel: 2)
        #expect(try await rl1.readPower(wavelengthNm: 1310).dBmValue != nil)
        await wb.inject(.overRange, into: "ilrl")
        await wb.inject(.overRange, into: "km")
        #expect(try await rl1.readPower(wavelengthNm: 1310) == .overRange)  // -9.9E37: a loss below any
        #expect(try await km.readPower(wavelengthNm: 1310) == .overRange)   // +9.91000000E+037
        await wb.inject(.garbage, into: "km")
        let e = try await #require(throws: InstrumentError.self) { try await km.readPower(wavelengthNm: 1310) }
        #expect(e.detail.contains("not a number") || e.detail.contains("unparseable") || e.detail.contains("reply"), "\(e)")
        // The SCPI-99 special values in every exponent form.
        #expect(SCPI.sentinel("+9.91000000E+037") == .notANumber && SCPI.sentinel("9.9E37") == .positiveInfinity)
        #expect(SCPI.sentinel("-9.9E+37") == .negativeInfinity && SCPI.sentinel("+1.3E-006") == nil)
    }

    /// One Keysight 8164B is the source (laser module, slot 0) and the power meter (slot 2,
    /// channel 2) of a fixture: references and a Type B unit, IL true to 0.02 dB.
    @Test func keysightMainframeIsSourceAndMeter() async throws {
        var text = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
        text = text.replacingOccurrences(of: """
              - name: ilrl
                driver: santec-rl1
            """, with: """
              - name: mainframe
                driver: keysight-816x
                simulate: tcp
                wavelengthsNm: [1310, 1550]
                source: { slot: 0 }
                powerMeter: { slot: 2, channel: 2, averagingTime: 100ms }
              - name: ilrl
                driver: santec-rl1
            """)
        text = text.replacingOccurrences(of: "    source: ilrl\n    powerMeter: ilrl\n    rlMeter: ilrl\n    io: fixture1-io",
                                         with: "    source: mainframe\n    powerMeter: mainframe\n    io: fixture1-io")
        // No RL meter on this bench: no recipe judges RL.
        text = text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains("rlMinDb:") }.joined(separator: "\n")
        let config = try StationConfig.parse(text.replacingOccurrences(of: "    io: fixture1-io\n", with: "\n"), file: "keysight.yaml")
        let spec = try #require(config.instruments.first { $0.name == "mainframe" })
        #expect(spec.settings.keysightSlots == Keysight816x.Slots(sourceSlot: 0, meterSlot: 2, meterChannel: 2, averagingTime: 0.1))
        let built = try await makeBuiltStation(config: config)
        let (station, bench) = (built.station, try #require(built.simulation?.bench))
        defer { built.simulation?.close() }
        let recipe = station.config.recipes["FT-MTP12-SMAPC-B-LL"]!
        let truth = SimulatedAssembly(serial: "KS-1", recipe: recipe)
        await bench.mount(.assembly(truth), fixture: 1)
        let o = try await station.test(UnitRequest(serial: "KS-1", partNumber: recipe.partNumber, fixture: 1, operatorId: "t"))
        #expect(o.report.verdict == .pass, "\(o.report.reasons)")
        #expect(o.report.instruments.filter { $0.name == "mainframe" }.map(\.role.rawValue).sorted() == ["powerMeter", "source"])
        for m in o.report.measurements { #expect(abs(m.ilDb! - truth.loss[m.fiber]![m.wavelengthNm]!) <= 0.02) }
        // A driver pointed at the wrong slot hears the mainframe's own error.
        let address = InstrumentAddress.parse(station.instruments.specs["mainframe"]!.address)!
        let wrong = Keysight816x(name: "mainframe", address: address, slots: .init(sourceSlot: 0, meterSlot: 1, meterChannel: 1))
        let e = try await #require(throws: InstrumentError.self) { try await wrong.readPower(wavelengthNm: 1310) }
        #expect(e.detail.contains("-241") && e.detail.contains("Hardware missing"), "\(e)")
        await #expect(throws: InstrumentError.self) {
            try await Keysight816x(name: "pm-only", address: address, slots: .init(meterSlot: 2,
                meterChannel: 2)).enable(wavelengthNm: 1310)
        }
    }

    /// The SCPI simulators keep IEEE 488.2 status: *ESR? (bit 5 command error, bit 4 execution
    /// error, cleared by reading), *ESE/*SRE masks into *STB?, *TST?, and -113 for any unknown header.
    @Test func ieee4882StatusRegisters() async throws {
        let config = try StationConfig.load(path: Repo.simulatedConfig)
        let sb = SimulatedBench(wiring: config.fixtures, settings: config.simulation!.bench)
        let wb = try await WireBench.start([WireInstrument(name: "sw", model: .santecOSX, transport: .tcp, channels: 48)],
                                           bench: sb, ptyDirectory: temporaryDirectory())
        defer { wb.close() }
        let link = try await LineLink.open(InstrumentAddress.parse(wb.server("sw")!.endpoint.address)!)
        defer { link.close() }
        func ask(_ q: String) async throws -> String { try await link.query(q, timeout: .seconds(5)) }
        #expect(try await ask("*ESR?") == "0")
        #expect(try await ask("*STB?") == "0")
        #expect(try await ask("*TST?") == "0")  // self-test passed
        try await link.send("BOGUS:HEADER 3")
        #expect(try await ask("*STB?") == "4")  // error queue not empty
        #expect(try await ask("*ESR?") == "32")  // command error
        #expect(try await ask("*ESR?") == "0")   // reading cleared it
        #expect(try await ask("SYST:ERR?") == "-113,\"Undefined header\"")
        try await link.send("*XYZ")  // an unknown common command is an undefined header too
        #expect(try await ask("SYST:ERR?") == "-113,\"Undefined header\"")
        try await link.send("*ESE 48")
        try await link.send("*SRE 32")
        #expect(try await ask("*ESE?") == "48")
        #expect(try await ask("*SRE?") == "32")
        try await link.send("CLOSe 99")  // out of range: an execution error
        #expect(try await ask("*STB?") == String(4 | 32 | 64))  // queue, event summary, service request
        #expect(try await ask("*ESR?") == "48")  // command and execution errors
        #expect(try await ask("*STB?") == "4")
        try await link.send("*CLS")
        #expect(try await ask("*STB?") == "0")
        #expect(try await ask("SYST:ERR?") == "0,\"No error\"")
    }

    /// The Modbus TCP simulator answers only its own unit id, and an unknown function at once with exception 01.
    @Test func modbusAnswersItsUnitIdAndRefusesUnknownFunctions() async throws {
        let config = try StationConfig.load(path: Repo.simulatedConfig)
        let sb = SimulatedBench(wiring: config.fixtures, settings: config.simulation!.bench)
        let wb = try await WireBench.start([WireInstrument(name: "io", model: .modbusIO, transport: .tcp,
                                                           modbus: .fixtureIO(ModbusIOMap(), fixture: 1), unitId: 3)],
                                           bench: sb, ptyDirectory: temporaryDirectory())
        defer { wb.close() }
        guard case .tcp(_, let port)? = InstrumentAddress.parse(wb.modbusServers["io"]!.endpoint.address) else {
            Issue.record("no TCP endpoint"); return
        }
        let s = try TCPClient(port: port)
        defer { s.close() }
        // Read 2 discrete inputs: transaction 1 for unit 9 (not this device), 2 for unit 3.
        func frame(_ tid: UInt8, unit: UInt8, _ pdu: [UInt8]) -> [UInt8] { [0, tid, 0, 0, 0, UInt8(pdu.count + 1), unit] + pdu }
        try s.write(frame(1, unit: 9, [2, 0, 0, 0, 2]) + frame(2, unit: 3, [2, 0, 0, 0, 2]))
        let reply = try s.read(count: 10)
        #expect(reply[1] == 2 && reply[6] == 3 && reply[7] == 2, "\(reply)")  // the first answer is to transaction 2
        try s.write(frame(3, unit: 3, [7]))  // Read Exception Status: not served
        let refusal = try s.read(count: 9)
        #expect(Array(refusal[0...1]) == [0, 3] && refusal[7] == 0x87 && refusal[8] == 1, "\(refusal)")
    }
}

/// A minimal blocking TCP client for raw protocol frames (reads with a 5 s timeout).
final class TCPClient {
    let fd: Int32
    init(port: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)  // ours only once connected (see RawSocket)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0,
            socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0 else {
            let e = errno
            Glibc.close(fd)
            throw DaemonError(description: "connect to port \(port): errno \(e)")
        }
        self.fd = fd
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }
    func write(_ bytes: [UInt8]) throws {
        guard bytes.withUnsafeBufferPointer({ Glibc.write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw DaemonError(description: "short write")
        }
    }
    func read(count: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: count)
        while out.count < count {
            let n = buf.withUnsafeMutableBufferPointer { Glibc.read(fd, $0.baseAddress, count - out.count) }
            guard n > 0 else { throw DaemonError(description: "read: got \(out) of \(count) bytes") }
            out += buf[0..<n]
        }
        return out
    }
    func close() { Glibc.close(fd) }
}
