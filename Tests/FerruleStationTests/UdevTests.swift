import FerruleControl
import FerruleCore
import FerruleDevices
import FerruleProtocol
import FerruleSetup
import FerruleSimSpec
import FerruleConfig
import FerruleStation
import Foundation
import Logging
import FerruleTesting
import Testing

/// A umockdev testbed, kept by `scripts/umockdev-testbed.py` in a process of its own run under
/// `umockdev-wrapper`: libumockdev sends uevents by looking the device up through libudev, which
/// sees the testbed only when umockdev is preloaded into the same process, and this test process
/// cannot be. The programs under test also run under `umockdev-wrapper` with UMOCKDEV_DIR set to
/// `root`, so that their libudev sees the testbed's sysfs and uevents.
final class Testbed: @unchecked Sendable {
    private let helper = Process()
    private let commands = Pipe()
    private let replies = Pipe()
    private lazy var reader = LineReader(replies.fileHandleForReading.fileDescriptor)
    private(set) var root = ""
    private var stderrPath = ""
    static let wrapper = "/usr/bin/umockdev-wrapper"

    /// Nil when umockdev is not installed (.ci/run installs it).
    init?() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.wrapper), dlopen("libumockdev.so.0", RTLD_NOW) != nil else { return nil }
        helper.executableURL = URL(fileURLWithPath: Self.wrapper)
        helper.arguments = ["/usr/bin/python3", Repo.root + "/scripts/umockdev-testbed.py"]
        helper.standardInput = commands
        helper.standardOutput = replies
        let log = temporaryDirectory("testbed") + "/stderr"
        FileManager.default.createFile(atPath: log, contents: nil)
        helper.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        stderrPath = log
        try helper.run()
        let first = try readLine()
        guard first.hasPrefix("ROOT ") else { throw DaemonError(description: "umockdev-testbed.py: \(first)") }
        root = String(first.dropFirst(5))
    }

    deinit {
        try? commands.fileHandleForWriting.close()  // the helper removes the testbed and exits
    }

    private func readLine() throws -> String {
        do { return try reader.line() } catch {
            throw DaemonError(
                description: "umockdev-testbed.py: \(error) \((try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")")
        }
    }

    private func send(_ command: [String: String]) throws {
        commands.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: command) + Data("\n".utf8))
        let reply = try readLine()
        guard reply == "ok" else { throw DaemonError(description: "umockdev-testbed.py \(command["op"] ?? ""): \(reply)") }
    }

    /// A USB-serial adapter: the USB device with its attributes and its tty. With `udevData`
    /// the tty carries udev's ID_* properties; without, only the parent's attributes identify it.
    static func adapter(port: Int, serial: String, vendor: String = "0403", product: String = "6001", udevData: Bool) -> String {
        var s = """
            P: /devices/pci0000:00/usb1/1-\(port)
            E: SUBSYSTEM=usb
            E: DEVTYPE=usb_device
            A: idVendor=\(vendor)
            A: idProduct=\(product)
            A: serial=\(serial)

            P: /devices/pci0000:00/usb1/1-\(port)/1-\(port):1.0/ttyUSB\(port)/tty/ttyUSB\(port)
            E: DEVNAME=/dev/ttyUSB\(port)
            E: SUBSYSTEM=tty

            """
        if udevData {
            s = s.replacingOccurrences(
                of: "E: SUBSYSTEM=tty\n",
                with:
                    "E: SUBSYSTEM=tty\nE: ID_VENDOR_ID=\(vendor)\nE: ID_MODEL_ID=\(product)\nE: ID_SERIAL_SHORT=\(serial)\n"
                        + "E: ID_PATH=pci-0000:00:14.0-usb-0:\(port):1.0\n"
            )
        }
        return s
    }

    static func usbSyspath(_ port: Int) -> String { "/sys/devices/pci0000:00/usb1/1-\(port)" }
    static func ttySyspath(_ port: Int) -> String { "/sys/devices/pci0000:00/usb1/1-\(port)/1-\(port):1.0/ttyUSB\(port)/tty/ttyUSB\(port)" }

    func add(_ description: String) throws { try send(["op": "add", "text": description]) }
    func uevent(_ syspath: String, _ action: String) throws { try send(["op": "uevent", "path": syspath, "action": action]) }
    func remove(_ syspath: String) throws { try send(["op": "remove", "path": syspath]) }

    /// Makes `/dev/ttyUSB<port>` (as the wrapped programs see it) lead to `target`.
    func node(_ port: Int, to target: String) throws {
        try FileManager.default.createDirectory(atPath: root + "/dev", withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: root + "/dev/ttyUSB\(port)")
        try FileManager.default.createSymbolicLink(atPath: root + "/dev/ttyUSB\(port)", withDestinationPath: target)
    }
}

@Suite(.serialized, .shutsDownStations) struct UdevTests {
    func config(match: String) throws -> String {
        try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
            .replacingOccurrences(
                of: "    simulate: pty             # on a real bench: address: /dev/ferrule/ilrl", with: "    match: \(match)\n    #")
    }

    @Test func matchBySerialNoMatchAndAmbiguous() throws {
        let tb = try #require(try Testbed(), "umockdev is not installed (.ci/run installs it)")
        try tb.add(Testbed.adapter(port: 1, serial: "FT12AB", udevData: false))  // parent USB attributes only
        try tb.add(Testbed.adapter(port: 2, serial: "FT99ZZ", vendor: "0403", udevData: true))
        try tb.add(Testbed.adapter(port: 4, serial: "LPC1", vendor: "1fc9", product: "0083", udevData: true))
        let env = ["UMOCKDEV_DIR": tb.root]
        func ferruled(_ args: [String]) throws -> (Int32, String) {
            try runProgram("/usr/bin/env", env.map { "\($0.key)=\($0.value)" } + [Testbed.wrapper, Daemon.executable] + args)
        }
        // The candidates, with the line to paste into a config.
        let (s0, list) = try ferruled(["devices"])
        #expect(s0 == 0, "\(list)")
        #expect(list.contains("/dev/ttyUSB1 (ID_VENDOR_ID=0403 ID_MODEL_ID=6001 ID_SERIAL_SHORT=FT12AB)"), "\(list)")
        #expect(list.contains("match: { ID_VENDOR_ID: \"0403\", ID_MODEL_ID: \"6001\", ID_SERIAL_SHORT: \"FT99ZZ\" }"), "\(list)")

        let dir = temporaryDirectory()
        // By serial number, through the parent USB device's attributes.
        try config(match: "{ ID_VENDOR_ID: \"0403\", ID_SERIAL_SHORT: \"FT12AB\" }").write(
            toFile: dir + "/one.yaml", atomically: true, encoding: .utf8)
        let (_, one) = try ferruled(["probe", "--config", dir + "/one.yaml", "--data-dir", dir + "/d1"])
        #expect(one.contains("ilrl  santec-rl1  /dev/ttyUSB1"), "\(one)")
        // The vendor id written in upper case still matches udev's lower-case hex.
        try config(match: "{ ID_VENDOR_ID: \"1FC9\", ID_MODEL_ID: \"0083\" }").write(
            toFile: dir + "/hex.yaml", atomically: true, encoding: .utf8)
        let (_, hex) = try ferruled(["probe", "--config", dir + "/hex.yaml", "--data-dir", dir + "/d2"])
        #expect(hex.contains("ilrl  santec-rl1  /dev/ttyUSB4"), "\(hex)")

        // Nothing matches: refused at start, the candidates listed.
        try config(match: "{ ID_SERIAL_SHORT: \"NOPE\" }").write(toFile: dir + "/none.yaml", atomically: true, encoding: .utf8)
        let (s1, none) = try ferruled(["--config", dir + "/none.yaml", "--data-dir", dir + "/d3", "--socket", dir + "/s3"])
        #expect(s1 == 2)
        #expect(none.contains("ilrl: no device matches ID_SERIAL_SHORT=NOPE. Candidates: /dev/ttyUSB1"), "\(none)")
        #expect(none.contains("/dev/ttyUSB2 (ID_VENDOR_ID=0403"), "\(none)")

        // Two adapters of the same model: ambiguous, both named.
        try config(match: "{ ID_VENDOR_ID: \"0403\", ID_MODEL_ID: \"6001\" }").write(
            toFile: dir + "/two.yaml", atomically: true, encoding: .utf8)
        let (s2, two) = try ferruled(["--config", dir + "/two.yaml", "--data-dir", dir + "/d4", "--socket", dir + "/s4"])
        #expect(s2 == 2)
        #expect(
            two.contains("2 devices match") && two.contains("/dev/ttyUSB1") && two.contains("/dev/ttyUSB2")
                && two.contains("ID_SERIAL_SHORT"), "\(two)")
    }

    /// A remove and the add that follows it, delivered back to back, are handled in that order:
    /// the instrument ends up back on its new port. (Each event used to start its own task, so the
    /// add could be handled first and the instrument stay "missing" for good.)
    @Test func portEventsAreHandledInTheOrderTheyCame() async throws {
        var cfg = try StationConfig.parse(inProcessConfigText(), file: "inprocess.yaml")
        let index = try #require(cfg.instruments.firstIndex { $0.name == "ilrl" })
        let match = ["ID_SERIAL_SHORT": "RL1-0042"]
        // Drivers built first (no udev here), then the config told that ilrl is found by `match`.
        var (instruments, _) = try await InstrumentFactory.make(config: cfg, runtimeDirectory: temporaryDirectory())
        cfg.instruments[index].match = match
        instruments.specs["ilrl"]?.address = "/dev/ttyUSB0"
        let data = DataDirectory(root: temporaryDirectory())
        let station = try await Station.make(
            config: cfg, storage: StationStorage.open(data, spillFile: nil, logger: Logger(label: "test")),
            instruments: { [instruments] _ in instruments })
        tracked(station)
        await station.availability.probe()
        let watched = await station.events.subscribe()
        let (events, feed) = AsyncStream<DeviceEvent>.makeStream()
        let following = Task { await station.availability.follow(events) }
        for round in 1...20 {  // many rounds: a race that loses one time in a few would show
            let from = "/dev/ttyUSB\(round - 1)"
            let to = "/dev/ttyUSB\(round)"
            feed.yield(DeviceEvent(.remove, UdevCandidate(devnode: from, syspath: "/sys/u\(round)", subsystem: "tty", properties: [:])))
            feed.yield(DeviceEvent(.add, UdevCandidate(devnode: to, syspath: "/sys/u\(round)", subsystem: "tty", properties: match)))
            // Back and answering on the new port (handled out of order, it stays missing).
            try await waitUntil("ilrl back on \(to)") {
                let ilrl = await station.status().instruments.first { $0.name == "ilrl" }
                return ilrl?.address == to && ilrl?.state == .ok
            }
        }
        // Each round: the fault first, then the reconnection.
        var kinds: [String] = []
        for await e in watched {
            if case .instrumentFault = e { kinds.append("fault") }
            if case .instrumentReconnected = e { kinds.append("back") }
            if kinds.count == 40 { break }
        }
        #expect(kinds == Array(repeating: ["fault", "back"], count: 20).flatMap { $0 })
        feed.finish()
        await following.value
        await station.shutdown()
    }

    @Test
    func unplugDuringAUnitThenPlugBackIn() async throws {
        let tb = try #require(try Testbed(), "umockdev is not installed (.ci/run installs it)")
        // The meter is a real RL1 driver on "/dev/ttyUSB3": a ferrule-sim pty behind the testbed's node.
        let dir = temporaryDirectory()
        let simConfig = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
            // A unit lasts over a second.
            .replacingOccurrences(of: "    noiseDb: 0.003\n", with: "    noiseDb: 0.003\n    meterReadMs: 60\n")
        try simConfig.write(toFile: dir + "/sim.yaml", atomically: true, encoding: .utf8)
        let sim = Process()
        sim.executableURL = URL(fileURLWithPath: Repo.root + "/.build/debug/ferrule-sim")
        sim.arguments = ["serve", "--config", dir + "/sim.yaml", "--endpoints-file", dir + "/endpoints.json", "--pty-dir", dir + "/pty"]
        sim.standardOutput = FileHandle.nullDevice
        try sim.run()
        defer { sim.interrupt() }
        try await waitUntil("ferrule-sim") { FileManager.default.fileExists(atPath: dir + "/endpoints.json") }
        try tb.add(Testbed.adapter(port: 3, serial: "RL1-0042", vendor: "1fc9", product: "0083", udevData: true))
        try tb.node(3, to: dir + "/pty/ilrl")  // after adding: umockdev makes a node of its own

        // The daemon's own bench has no light from that meter, and the meter reads return loss
        // only where the launch switch points: the daemon uses ferrule-sim's launch switch too,
        // and fixture 1 gets a reference so that units run. They read dark and an open end,
        // which is a `fail`, never an `error`.
        let endpoints =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/endpoints.json"))) as! [[String: String]]
        let launch = try #require(endpoints.first { $0["name"] == "launch-switch" }?["address"])
        let reference = Reference(
            fixture: 1, cord: .init(id: "RC-B-012", polarity: "B"), method: .oneCord, takenAt: Date(),
            operatorId: "test",
            pairs: "test",
            values: (1...12).flatMap { p in
                [850, 1300, 1310, 1550].map { wl in
                    Reference.Value(
                        position: p, receivePosition: 13 - p, launchChannel: p, receiveChannel: 13 - p,
                        wavelengthNm: wl, powerDbm: -4.6)
                }
            })
        let stationConfig = try config(match: "{ ID_VENDOR_ID: \"1FC9\", ID_SERIAL_SHORT: \"RL1-0042\" }")
            .replacingOccurrences(
                of: "    simulate: tcp             # on a real bench: address: tcp://192.168.10.21:5025", with: "    address: \(launch)"
            )
            // The daemon's own (receive) switch settles in 40 ms: a dark unit lasts seconds (each fiber is
            // looked for at every receive position), so the unplug lands in its middle.
            .replacingOccurrences(of: "    noiseDb: 0.003\n", with: "    noiseDb: 0.003\n    switchSettleMs: 40\n")
        try #require(
            stationConfig.contains("address: \(launch)") && stationConfig.contains("match: {")
                && stationConfig.contains("switchSettleMs: 40"))
        let daemon = try await Daemon(
            config: stationConfig,
            environment: ["UMOCKDEV_DIR": tb.root], wrapper: [Testbed.wrapper],
            prepare: { data in
                let d = DataDirectory(root: data)
                try d.prepare()
                try d.save(reference)
            })
        defer { Task { await daemon.stop() } }
        // Event waits below end when the connection closes: never wait more than 3 minutes.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(180))
            await daemon.stop()
        }
        defer { watchdog.cancel() }
        let ptyPath = dir + "/pty/ilrl"
        try await ControlSession.with(path: daemon.socket) { c in try await plugScenario(&c, tb, ptyPath: ptyPath) }
    }

    /// Separate from the test body: the compiler's region checker trips over it inline.
    func plugScenario(_ c: inout ControlSession, _ tb: Testbed, ptyPath: String) async throws {
        _ = try await c.ok("subscribe")
        _ = try await c.ok("test") {
            $0.serial = "PLUG-1"
            $0.partNumber = "FT-MTP12-SMAPC-B-LL"
            $0.fixture = 1
        }
        _ = try await c.events(limit: 200) { $0["kind"]?.string == "step" || $0["kind"]?.string == "unitFinished" }
        try tb.uevent(Testbed.ttySyspath(3), "remove")
        try tb.remove(Testbed.ttySyspath(3))  // the whole adapter: the tty (and its class link), then the USB device
        try tb.remove(Testbed.usbSyspath(3))
        let finished = try #require(try await c.events(limit: 2000) { $0["kind"]?.string == "unitFinished" }.last)
        #expect(finished["verdict"]?.string == "error", "\(finished)")
        let report =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: finished["reportPath"]!.string!)))
            as! [String: Any]
        #expect(
            (report["reasons"] as? [String])?.contains { $0.contains("ilrl was unplugged (/dev/ttyUSB3 removed)") } == true,
            "\(report["reasons"] ?? "")")
        let status = try await c.ok("status")
        #expect(status["instruments"]?.array?.first { $0["name"]?.string == "ilrl" }?["state"]?.string == "missing")
        // While it is missing, units on its fixtures are refused, naming it.
        var refused = RequestDraft(type: "test")
        refused.serial = "PLUG-2"
        refused.partNumber = "FT-MTP12-SMAPC-B-LL"
        refused.fixture = 1
        let r = try await c.call(refused)
        #expect(r.type == .error && (r.error?.message ?? "").contains("ilrl was unplugged"), "\(String(describing: r.error))")

        // Plugged back in: found again by its properties, reconnected without a restart.
        // umockdev sends the add uevents itself, before the node leads to the meter: the daemon
        // must wait for the node rather than give up at once.
        try tb.add(Testbed.adapter(port: 3, serial: "RL1-0042", vendor: "1fc9", product: "0083", udevData: true))
        try tb.node(3, to: ptyPath)
        _ = try await c.events(limit: 200) { $0["kind"]?.string == "instrumentReconnected" }
        let after = try await c.ok("status")
        #expect(after["instruments"]?.array?.first { $0["name"]?.string == "ilrl" }?["state"]?.string == "ok", "\(after)")
        _ = try await c.ok("test") {
            $0.serial = "PLUG-3"
            $0.partNumber = "FT-MTP12-SMAPC-B-LL"
            $0.fixture = 1
        }
        let again = try #require(try await c.events(limit: 5000) { $0["kind"]?.string == "unitFinished" }.last)
        #expect(again["verdict"]?.string == "fail", "\(again)")  // dark on this split bench, measured without fault
    }
}
