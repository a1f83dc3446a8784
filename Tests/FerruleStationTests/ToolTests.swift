import FerruleDevices
import FerruleProtocol
import FerruleSetup
import FerruleSimSpec
import FerruleSimulator
import FerruleConfig
import Foundation
import FerruleTesting
import Testing

@Suite(.serialized, .shutsDownStations) struct ToolTests {
    /// ferrulectl speaks the status socket and nothing else: it must not pull in the instrument,
    /// udev, Modbus or store libraries (it did, through the engine, at 148 MB).
    @Test func ferrulectlLinksNoInstrumentOrStoreLibrary() throws {
        let ctl = Repo.root + "/.build/debug/ferrulectl"
        let (status, out) = try runProgram("/usr/bin/ldd", [ctl])
        #expect(status == 0, "\(out)")
        #expect(out.contains("libc.so"), "\(out)")  // ldd did read it
        for lib in ["libudev", "libmodbus", "libsqlite3", "libpq"] {
            #expect(!out.contains(lib), "ferrulectl links \(lib):\n\(out)")
        }
    }

    @Test func probeNamesEveryInstrumentThatFailed() throws {
        let dir = temporaryDirectory()
        let text = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
            .replacingOccurrences(
                of: "    simulate: pty             # on a real bench: address: /dev/ferrule/ilrl",
                with: "    address: tcp://127.0.0.1:1\n    timeout: 1s\n    #")
        try text.write(toFile: dir + "/bench.yaml", atomically: true, encoding: .utf8)
        let (status, out) = try runProgram(Daemon.executable, ["probe", "--config", dir + "/bench.yaml", "--data-dir", dir + "/data"])
        #expect(status == 1, "\(out)")
        #expect(out.contains("launch-switch") && out.contains("ok: SANTEC OSX-100"))
        #expect(out.contains("ilrl  santec-rl1  tcp://127.0.0.1:1  FAILED"))
        #expect(out.contains("1 instrument(s) failed: ilrl"))
    }

    /// `ferruled --socket s --data-dir d` from the operator's own directory: relative paths are
    /// taken from there (it used to trap inside Foundation on a one-component socket path).
    @Test func relativeSocketAndDataPaths() async throws {
        let dir = temporaryDirectory()
        try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8).replacingOccurrences(of: "127.0.0.1:8080", with: "127.0.0.1:0")
            .write(toFile: dir + "/station.yaml", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Daemon.executable)
        p.arguments = ["--config", "station.yaml", "--data-dir", "d", "--socket", "s"]
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { p.terminate() } }
        try await waitUntil("ferruled's socket") { FileManager.default.fileExists(atPath: dir + "/s") || !p.isRunning }
        #expect(p.isRunning, "ferruled exited with status \(p.terminationStatus)")
        let (status, out) = try runProgram(Repo.root + "/.build/debug/ferrulectl", ["status", "--socket", dir + "/s"])
        #expect(status == 0 && out.contains("station SIM-01"), "\(out)")
        #expect(FileManager.default.fileExists(atPath: dir + "/d"))
    }

    @Test func realDriverAgainstAFerruleSimProcess() async throws {
        let dir = temporaryDirectory()
        let sim = Process()
        sim.executableURL = URL(fileURLWithPath: Repo.root + "/.build/debug/ferrule-sim")
        sim.arguments = ["serve", "--config", Repo.simulatedConfig, "--endpoints-file", dir + "/endpoints.json", "--pty-dir", dir + "/pty"]
        let input = Pipe()
        let output = Pipe()
        sim.standardInput = input
        sim.standardOutput = output
        try sim.run()
        defer { sim.interrupt() }
        var endpoints: [Endpoint] = []
        for _ in 0..<200 where endpoints.isEmpty {
            endpoints =
                (try? JSONDecoder().decode([Endpoint].self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/endpoints.json")))) ?? []
            if endpoints.isEmpty { try await Task.sleep(for: .milliseconds(25)) }
        }
        #expect(Set(endpoints.map(\.name)) == ["launch-switch", "receive-switch", "ilrl", "fixture1-io", "fixture2-io"])
        #expect(endpoints.first { $0.name == "fixture2-io" }.map { $0.protocol == "modbus" && $0.transport == .pty } == true)
        let meter = try #require(endpoints.first { $0.name == "ilrl" })
        #expect(meter.transport == .pty && meter.protocol == "scpi")
        let rl1 = SantecRL1(name: "ilrl", address: InstrumentAddress.parse(meter.address)!, wavelengthsNm: [1310, 1550])
        #expect(try await rl1.identify().model == "RL1")
        try await rl1.enable(wavelengthNm: 1550)
        #expect(try await rl1.readPower(wavelengthNm: 1550) == .noLight)  // nothing mounted in the fixture
        let sw = try #require(endpoints.first { $0.name == "launch-switch" })
        let osx = SantecOSX(name: "launch-switch", address: InstrumentAddress.parse(sw.address)!, channelCount: 48)
        try await osx.select(channel: 30)

        // Faults at run time, typed on ferrule-sim's stdin: the real driver meets them on the wire.
        let out = LineReader(output.fileHandleForReading.fileDescriptor)
        func say(_ line: String) throws -> String {
            input.fileHandleForWriting.write(Data((line + "\n").utf8))
            while true {
                let l = try out.line()
                if l.hasPrefix("ilrl: ") { return l }  // the endpoint lines come first
            }
        }
        #expect(try say("ilrl garbage") == "ilrl: garbage")
        await #expect(throws: InstrumentError.self) { _ = try await rl1.identify() }
        #expect(try say("ilrl none") == "ilrl: fault cleared")
        #expect(try await rl1.identify().model == "RL1")
    }
}
