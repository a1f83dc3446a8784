import FerruleControl
import FerruleCore
import FerruleDevices
import FerruleStation
import Foundation
import Testing

/// A umockdev testbed, driven through libumockdev (loaded at run time, so that building the
/// package does not need it). The programs under test run under `umockdev-wrapper`, which
/// preloads umockdev so that their libudev sees the testbed's sysfs and uevents.
final class Testbed: @unchecked Sendable {
    private typealias New = @convention(c) () -> OpaquePointer?
    private typealias AddFromString = @convention(c) (OpaquePointer?, UnsafePointer<CChar>, UnsafeMutablePointer<OpaquePointer?>?) -> Int32
    private typealias RootDir = @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?
    private typealias Uevent = @convention(c) (OpaquePointer?, UnsafePointer<CChar>, UnsafePointer<CChar>) -> Void
    private typealias Remove = @convention(c) (OpaquePointer?, UnsafePointer<CChar>) -> Void
    private let tb: OpaquePointer?
    private let addFn: AddFromString
    private let ueventFn: Uevent
    private let removeFn: Remove
    let root: String
    static let wrapper = "/usr/bin/umockdev-wrapper"

    /// Nil when umockdev is not installed (.ci/run installs it).
    init?() {
        guard FileManager.default.isExecutableFile(atPath: Self.wrapper), let lib = dlopen("libumockdev.so.0", RTLD_NOW),
              let n = dlsym(lib, "umockdev_testbed_new"), let a = dlsym(lib, "umockdev_testbed_add_from_string"),
              let r = dlsym(lib, "umockdev_testbed_get_root_dir"), let u = dlsym(lib, "umockdev_testbed_uevent"),
              let d = dlsym(lib, "umockdev_testbed_remove_device") else { return nil }
        tb = unsafeBitCast(n, to: New.self)()  // also sets $UMOCKDEV_DIR, which the wrapped programs inherit
        addFn = unsafeBitCast(a, to: AddFromString.self)
        ueventFn = unsafeBitCast(u, to: Uevent.self)
        removeFn = unsafeBitCast(d, to: Remove.self)
        root = String(cString: unsafeBitCast(r, to: RootDir.self)(tb)!)
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
            s = s.replacingOccurrences(of: "E: SUBSYSTEM=tty\n", with: "E: SUBSYSTEM=tty\nE: ID_VENDOR_ID=\(vendor)\nE: ID_MODEL_ID=\(product)\nE: ID_SERIAL_SHORT=\(serial)\nE: ID_PATH=pci-0000:00:14.0-usb-0:\(port):1.0\n")
        }
        return s
    }

    static func ttySyspath(_ port: Int) -> String { "/sys/devices/pci0000:00/usb1/1-\(port)/1-\(port):1.0/ttyUSB\(port)/tty/ttyUSB\(port)" }

    func add(_ description: String) { _ = addFn(tb, description, nil) }
    func uevent(_ syspath: String, _ action: String) { ueventFn(tb, syspath, action) }
    func remove(_ syspath: String) { removeFn(tb, syspath) }

    /// Makes `/dev/ttyUSB<port>` (as the wrapped programs see it) lead to `target`.
    func node(_ port: Int, to target: String) throws {
        try FileManager.default.createDirectory(atPath: root + "/dev", withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: root + "/dev/ttyUSB\(port)")
        try FileManager.default.createSymbolicLink(atPath: root + "/dev/ttyUSB\(port)", withDestinationPath: target)
    }
}

@Suite(.serialized) struct UdevTests {
    func config(match: String) throws -> String {
        try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
            .replacingOccurrences(of: "    simulate: pty             # on a real bench: address: /dev/ferrule/ilrl", with: "    match: \(match)\n    #")
    }

    @Test func matchBySerialNoMatchAndAmbiguous() throws {
        let tb = try #require(Testbed(), "umockdev is not installed (.ci/run installs it)")
        tb.add(Testbed.adapter(port: 1, serial: "FT12AB", udevData: false))  // parent USB attributes only
        tb.add(Testbed.adapter(port: 2, serial: "FT99ZZ", vendor: "0403", udevData: true))
        tb.add(Testbed.adapter(port: 4, serial: "LPC1", vendor: "1fc9", product: "0083", udevData: true))
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
        try config(match: "{ ID_VENDOR_ID: \"0403\", ID_SERIAL_SHORT: \"FT12AB\" }").write(toFile: dir + "/one.yaml", atomically: true, encoding: .utf8)
        let (_, one) = try ferruled(["probe", "--config", dir + "/one.yaml", "--data-dir", dir + "/d1"])
        #expect(one.contains("ilrl  santec-rl1  /dev/ttyUSB1"), "\(one)")
        // The vendor id written in upper case still matches udev's lower-case hex.
        try config(match: "{ ID_VENDOR_ID: \"1FC9\", ID_MODEL_ID: \"0083\" }").write(toFile: dir + "/hex.yaml", atomically: true, encoding: .utf8)
        let (_, hex) = try ferruled(["probe", "--config", dir + "/hex.yaml", "--data-dir", dir + "/d2"])
        #expect(hex.contains("ilrl  santec-rl1  /dev/ttyUSB4"), "\(hex)")

        // Nothing matches: refused at start, the candidates listed.
        try config(match: "{ ID_SERIAL_SHORT: \"NOPE\" }").write(toFile: dir + "/none.yaml", atomically: true, encoding: .utf8)
        let (s1, none) = try ferruled(["--config", dir + "/none.yaml", "--data-dir", dir + "/d3", "--socket", dir + "/s3"])
        #expect(s1 == 2)
        #expect(none.contains("ilrl: no device matches ID_SERIAL_SHORT=NOPE. Candidates: /dev/ttyUSB1"), "\(none)")
        #expect(none.contains("/dev/ttyUSB2 (ID_VENDOR_ID=0403"), "\(none)")

        // Two adapters of the same model: ambiguous, both named.
        try config(match: "{ ID_VENDOR_ID: \"0403\", ID_MODEL_ID: \"6001\" }").write(toFile: dir + "/two.yaml", atomically: true, encoding: .utf8)
        let (s2, two) = try ferruled(["--config", dir + "/two.yaml", "--data-dir", dir + "/d4", "--socket", dir + "/s4"])
        #expect(s2 == 2)
        #expect(two.contains("2 devices match") && two.contains("/dev/ttyUSB1") && two.contains("/dev/ttyUSB2") && two.contains("ID_SERIAL_SHORT"), "\(two)")
    }

    // NOT YET PASSING, so disabled (not counted as done): the remove uevent sent through
    // umockdev_testbed_uevent does not reach the daemon's udev monitor (no event socket appears
    // in the testbed), so the unit ends on the meter's timeout instead of the unplug.
    @Test(.disabled("umockdev uevents do not reach ferruled's udev monitor yet; see the closing note of issue 3"))
    func unplugDuringAUnitThenPlugBackIn() async throws {
        let tb = try #require(Testbed(), "umockdev is not installed (.ci/run installs it)")
        // The meter is a real RL1 driver on "/dev/ttyUSB3": a ferrule-sim pty behind the testbed's node.
        let dir = temporaryDirectory()
        let simConfig = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
            .replacingOccurrences(of: "    noiseDb: 0.003\n", with: "    noiseDb: 0.003\n    meterReadMs: 20\n")
        try simConfig.write(toFile: dir + "/sim.yaml", atomically: true, encoding: .utf8)
        let sim = Process()
        sim.executableURL = URL(fileURLWithPath: Repo.root + "/.build/debug/ferrule-sim")
        sim.arguments = ["serve", "--config", dir + "/sim.yaml", "--endpoints-file", dir + "/endpoints.json", "--pty-dir", dir + "/pty"]
        sim.standardOutput = FileHandle.nullDevice
        try sim.run()
        defer { sim.interrupt() }
        try await waitUntil("ferrule-sim") { FileManager.default.fileExists(atPath: dir + "/endpoints.json") }
        tb.add(Testbed.adapter(port: 3, serial: "RL1-0042", vendor: "1fc9", product: "0083", udevData: true))
        try tb.node(3, to: dir + "/pty/ilrl")  // after adding: umockdev makes a node of its own

        // The daemon's own bench has no light from that meter: give fixture 1 a reference so that
        // units run (they read dark, which is a `fail`, never an `error`).
        let reference = Reference(fixture: 1, method: .oneCord, takenAt: Date(), operatorId: "test", pairs: "test",
                                  values: (1...24).flatMap { p in [850, 1300, 1310, 1550].map { wl in
                                      Reference.Value(position: p, launchChannel: p, receiveChannel: p, wavelengthNm: wl, powerDbm: -4.6) } })
        let daemon = try await Daemon(config: config(match: "{ ID_VENDOR_ID: \"1FC9\", ID_SERIAL_SHORT: \"RL1-0042\" }"),
                                      environment: ["UMOCKDEV_DIR": tb.root], wrapper: [Testbed.wrapper],
                                      prepare: { data in let d = DataDirectory(root: data); try d.prepare(); try d.save(reference) })
        defer { Task { await daemon.stop() } }
        let ptyPath = dir + "/pty/ilrl"
        try await ControlSession.with(path: daemon.socket) { c in try await plugScenario(&c, tb, ptyPath: ptyPath) }
    }

    /// Separate from the test body: the compiler's region checker trips over it inline.
    func plugScenario(_ c: inout ControlSession, _ tb: Testbed, ptyPath: String) async throws {
        _ = try await c.ok("subscribe")
        _ = try await c.ok("test") { $0.serial = "PLUG-1"; $0.partNumber = "FT-MTP12-SMAPC-B-LL"; $0.fixture = 1 }
        _ = try await c.events(limit: 200) { $0["kind"]?.string == "step" || $0["kind"]?.string == "unitFinished" }
        tb.uevent(Testbed.ttySyspath(3), "remove")
        tb.remove(Testbed.ttySyspath(3))
        let finished = try #require(try await c.events(limit: 2000) { $0["kind"]?.string == "unitFinished" }.last)
        #expect(finished["verdict"]?.string == "error", "\(finished)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: finished["reportPath"]!.string!))) as! [String: Any]
        #expect((report["reasons"] as? [String])?.contains { $0.contains("ilrl was unplugged (/dev/ttyUSB3 removed)") } == true, "\(report["reasons"] ?? "")")
        let status = try await c.ok("status")
        #expect(status["instruments"]?.array?.first { $0["name"]?.string == "ilrl" }?["state"]?.string == "missing")
        // While it is missing, units on its fixtures are refused, naming it.
        var refused = ControlRequest(id: nil, type: "test")
        refused.serial = "PLUG-2"; refused.partNumber = "FT-MTP12-SMAPC-B-LL"; refused.fixture = 1
        let r = try await c.call(refused)
        #expect(r.type == .error && (r.error?.message ?? "").contains("ilrl was unplugged"), "\(String(describing: r.error))")

        // Plugged back in: found again by its properties, reconnected without a restart.
        tb.add(Testbed.adapter(port: 3, serial: "RL1-0042", vendor: "1fc9", product: "0083", udevData: true))
        tb.uevent(Testbed.ttySyspath(3), "add")
        _ = try await c.events(limit: 200) { $0["kind"]?.string == "instrumentReconnected" }
        let after = try await c.ok("status")
        #expect(after["instruments"]?.array?.first { $0["name"]?.string == "ilrl" }?["state"]?.string == "ok")
        _ = try await c.ok("test") { $0.serial = "PLUG-3"; $0.partNumber = "FT-MTP12-SMAPC-B-LL"; $0.fixture = 1 }
        let again = try #require(try await c.events(limit: 5000) { $0["kind"]?.string == "unitFinished" }.last)
        #expect(again["verdict"]?.string == "fail", "\(again)")  // dark on this split bench, measured without fault
    }
}
