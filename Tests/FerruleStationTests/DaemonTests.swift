import FerruleControl
import FerruleCore
import FerruleProtocol
import FerruleSetup
import FerruleSimSpec
import FerruleConfig
import FerruleStation
import Foundation
import FerruleTesting
import Testing

/// The real ferruled process, driven only through its status socket. Serialized: each test
/// runs a daemon and the machine has two cores.
@Suite(.serialized, .shutsDownStations) struct DaemonTests {
    @Test func unitsOnBothFixturesAtOnceThroughTheSocket() async throws {
        // Instruments that take time (20 ms here, ~300 ms on a real bench): fixture 1's 24-fiber
        // unit lasts long enough (seconds) for fixture 2's to start beside it on a loaded machine.
        let d = try await Daemon(config: try slowConfigText(switchMs: 20, readMs: 20))
        defer { Task { await d.stop() } }
        try await ControlSession.with(path: d.socket) { s in
            _ = try await s.ok("reference") { $0.fixture = 1 }
            _ = try await s.ok("reference") { $0.fixture = 2 }
            _ = try await s.ok("subscribe")
            _ = try await s.ok("test") {
                $0.serial = "FRL-D006"
                $0.partNumber = "FT-MTP24-OM4-A"
                $0.fixture = 1
                $0.operator = "op-1"
            }
            _ = try await s.ok("test") {
                $0.serial = "FRL-D004"
                $0.partNumber = "FT-MTP12-SMAPC-B-LL"
                $0.fixture = 2
                $0.operator = "op-2"
            }
            var finished = 0
            let events = try await s.events { e in
                if e["kind"]?.string == "unitFinished" { finished += 1 }
                return finished == 2
            }
            // Per fixture: started, then every fiber and wavelength in order, then finished.
            for (fixture, serial, fibers) in [(1, "FRL-D006", Array(1...24)), (2, "FRL-D004", Array(1...12))] {
                let mine = events.filter { $0["fixture"]?.int == fixture && $0["serial"]?.string == serial }
                let kinds = mine.compactMap { $0["kind"]?.string }
                #expect(kinds.first == "unitStarted")
                #expect(kinds.last == "unitFinished")
                #expect(kinds.dropFirst().dropLast().allSatisfy { $0 == "step" })
                let steps = mine.filter { $0["kind"]?.string == "step" }
                #expect(steps.compactMap { $0["fiber"]?.int } == fibers.flatMap { [$0, $0] })
                let wls = fixture == 1 ? [850, 1300] : [1310, 1550]
                #expect(steps.compactMap { $0["wavelengthNm"]?.int } == fibers.flatMap { _ in wls })
            }
            // The fixtures share the switches and the meter; under the default `unit` schedule the
            // unit that got them first measured its last fiber before the other measured its first.
            // (Not its unitFinished: the instruments are free while its report is being written.)
            let steps = { (fixture: Int) in
                events.indices.filter { events[$0]["kind"]?.string == "step" && events[$0]["fixture"]?.int == fixture }
            }
            let (a, b) = steps(1)[0] < steps(2)[0] ? (1, 2) : (2, 1)
            #expect(steps(a).last! < steps(b)[0])

            let verdicts = Dictionary(
                uniqueKeysWithValues: events.filter { $0["kind"]?.string == "unitFinished" }
                    .map { ($0["serial"]!.string!, $0["verdict"]!.string!) })
            #expect(verdicts == ["FRL-D006": "fail", "FRL-D004": "fail"])
            let paths = events.filter { $0["kind"]?.string == "unitFinished" }.compactMap { $0["reportPath"]?.string }
            for p in paths {
                let r = try UnitReport.decoder().decode(UnitReport.self, from: Data(contentsOf: URL(fileURLWithPath: p)))
                #expect(r.diagnoses.map(\.code) == (r.unit.serial == "FRL-D006" ? [.contaminatedEndFace] : [.wrongPolarityType]))
                #expect(r.operator == (r.unit.serial == "FRL-D006" ? "op-1" : "op-2"))
            }
            let (status, out) = try validateReports(paths)
            #expect(status == 0, "\(out)")

            let history = try await s.ok("history") { $0.limit = 10 }
            #expect(Set(history.array?.compactMap { $0["serial"]?.string } ?? []) == ["FRL-D006", "FRL-D004"])
            let st = try await s.ok("status")
            #expect(st["fixtures"]?.array?.allSatisfy { $0["state"]?.string == "idle" } == true)
        }
        await d.stop()
        #expect(await d.waitForExit() == 0)
    }

    @Test func faultsInjectedThroughTheSocketEndUnitsAsErrorAndClear() async throws {
        let d = try await Daemon()
        defer { Task { await d.stop() } }
        try await ControlSession.with(path: d.socket) { s in
            _ = try await s.ok("reference") { $0.fixture = 1 }
            _ = try await s.ok("subscribe")
            // Bad requests name the field, the value and the fix.
            var bad = RequestDraft(type: "fault")
            bad.instrument = "ilrl"
            bad.fault = "melted"
            let r1 = try await s.call(bad)
            #expect(
                r1.error?.code == .badRequest && r1.error?.message.contains("'melted'") == true
                    && r1.error?.fix?.contains("noReply, garbage") == true,
                "\(String(describing: r1.error))")
            bad.instrument = "nope"
            bad.fault = "noReply"
            let r2 = try await s.call(bad)
            #expect(
                r2.error?.code == .refused && r2.error?.message.contains("no instrument named 'nope'") == true
                    && r2.error?.fix?.contains("ilrl") == true,
                "\(String(describing: r2.error))")

            // The meter's error queue fills: the real driver reads it and the unit is an error naming the meter.
            _ = try await s.ok("fault") {
                $0.instrument = "ilrl"
                $0.fault = "queueError"
            }
            _ = try await s.ok("test") {
                $0.serial = "FRL-D001"
                $0.partNumber = "FT-MTP12-SMAPC-B-LL"
                $0.fixture = 1
            }
            let during = try await s.events(limit: 5000) { $0["kind"]?.string == "unitFinished" }
            let faulted = try #require(during.last)
            #expect(faulted["verdict"]?.string == "error", "\(faulted)")
            // The meter answered LAS:DISAB with an error: the station cannot count the laser off and says so.
            #expect(during.contains { $0["kind"]?.string == "sourceMayBeOn" && $0["fixture"]?.int == 1 && $0["detail"]?.string != nil })
            let report = try String(contentsOfFile: try #require(faulted["reportPath"]?.string), encoding: .utf8)
            #expect(report.contains("ilrl") && report.contains("Data out of range"), "\(report.prefix(2000))")
            let meter = { (st: JSONValue) in st["instruments"]?.array?.first { $0["name"]?.string == "ilrl" }?["state"]?.string }
            #expect(meter(try await s.ok("status")) == "fault")

            // Cleared: the station's retry switches the laser off and says so, then the same unit passes.
            _ = try await s.ok("fault") {
                $0.instrument = "ilrl"
                $0.fault = "none"
            }
            _ = try await s.events(limit: 5000) { $0["kind"]?.string == "sourceMayBeOn" && $0["detail"] == nil }
            _ = try await s.ok("test") {
                $0.serial = "FRL-D001"
                $0.partNumber = "FT-MTP12-SMAPC-B-LL"
                $0.fixture = 1
            }
            let clean = try #require(try await s.events(limit: 5000) { $0["kind"]?.string == "unitFinished" }.last)
            #expect(clean["verdict"]?.string == "pass", "\(clean)")
            #expect(meter(try await s.ok("status")) == "ok")  // a whole unit answered: the fault is history
        }
    }

    @Test func sigtermMidUnitWritesAbortedReportAndExitsZero() async throws {
        let d = try await Daemon(config: try slowConfigText(switchMs: 10, readMs: 10))
        try await ControlSession.with(path: d.socket) { s in
            _ = try await s.ok("reference") { $0.fixture = 1 }
            _ = try await s.ok("subscribe")
            _ = try await s.ok("test") {
                $0.serial = "TERM-1"
                $0.partNumber = "FT-MTP24-OM4-A"
                $0.fixture = 1
            }
            var steps = 0
            _ = try await s.events { e in
                if e["kind"]?.string == "step" { steps += 1 }
                return steps == 6
            }
            d.signal(SIGTERM)
            let rest = try await s.events { $0["kind"]?.string == "unitFinished" }
            #expect(rest.last?["verdict"]?.string == "aborted")
        }
        #expect(await d.waitForExit() == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: d.reportsDir)
        #expect(files.filter { $0.hasPrefix(".tmp") }.isEmpty)  // nothing half-written
        let reports = files.filter { $0.hasPrefix("TERM-1_") && $0.hasSuffix(".json") }
        #expect(reports.count == 1)
        #expect(files.contains { $0.hasPrefix("TERM-1_") && $0.hasSuffix(".html") })  // its certificate
        let path = d.reportsDir + "/" + reports[0]
        let r = try UnitReport.decoder().decode(UnitReport.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(r.verdict == .aborted)
        #expect(r.measurements.count >= 6 && r.measurements.count < 48)
        #expect(try validateReports([path]).0 == 0)
        #expect(!FileManager.default.fileExists(atPath: d.socket))
    }

    /// SIGKILL in the middle of a unit (a power loss, as far as ferruled can tell): after a
    /// restart the unit is recorded `interrupted` with the fibers it had measured, its report
    /// and certificate are written whole, and the directory sink delivers them.
    @Test func sigkillMidUnitIsRecordedInterruptedAndDeliveredAfterRestart() async throws {
        let share = temporaryDirectory() + "/share"
        try FileManager.default.createDirectory(atPath: share, withIntermediateDirectories: true)
        let text =
            try slowConfigText(switchMs: 10, readMs: 10)
            + "\nsinks:\n  - name: share\n    kind: directory\n    path: \(share)\n    formats: [json, html]\n"
        let first = try await Daemon(config: text)
        try await ControlSession.with(path: first.socket) { s in
            _ = try await s.ok("reference") { $0.fixture = 1 }
            _ = try await s.ok("subscribe")
            _ = try await s.ok("test") {
                $0.serial = "KILL-1"
                $0.partNumber = "FT-MTP24-OM4-A"
                $0.fixture = 1
            }
            var steps = 0
            _ = try await s.events(limit: 5000) { e in
                if e["kind"]?.string == "step" { steps += 1 }
                return steps == 8
            }
            first.signal(SIGKILL)
        }
        #expect(await first.waitForExit() != nil)
        #expect((try? FileManager.default.contentsOfDirectory(atPath: first.reportsDir))?.filter { $0.hasPrefix("KILL-1") }.isEmpty == true)

        let second = try await Daemon(config: text, dir: first.dir)
        defer { Task { await second.stop() } }
        let rows = try await ControlSession.with(path: second.socket) { s in try await s.ok("history") { $0.serial = "KILL-1" } }
        let row = try #require(rows.array?.first)
        #expect(row["state"]?.string == "interrupted" && row["verdict"]?.string == "interrupted", "\(row)")
        let path = try #require(row["reportPath"]?.string)
        let report = try UnitReport.decoder().decode(UnitReport.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(report.measurements.count >= 8 && report.measurements.count < 48, "\(report.measurements.count)")
        #expect(try validateReports([path]).0 == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: first.reportsDir)
        #expect(!files.contains { $0.hasPrefix(".") }, "\(files)")  // nothing half-written
        try await waitUntil("the share to receive KILL-1") {
            let got = (try? FileManager.default.contentsOfDirectory(atPath: share)) ?? []
            return got.contains { $0.hasPrefix("KILL-1") && $0.hasSuffix(".json") }
                && got.contains { $0.hasPrefix("KILL-1") && $0.hasSuffix(".html") }
        }
    }

    @Test func sighupWithBrokenConfigKeepsTheOldOneAndSaysWhy() async throws {
        let d = try await Daemon()
        defer { Task { await d.stop() } }
        let good = try String(contentsOfFile: d.configPath, encoding: .utf8)
        try await ControlSession.with(path: d.socket) { s in
            let before = try await s.ok("status")["configHash"]?.string
            _ = try await s.ok("subscribe")
            try good.replacingOccurrences(of: "      ilMaxDb: 0.60", with: "      ilMaxDb: lots").write(
                toFile: d.configPath, atomically: true, encoding: .utf8)
            d.signal(SIGHUP)
            let rejected = try await s.events { $0["kind"]?.string == "configRejected" }.last!
            let reason = rejected["reason"]?.string ?? ""
            #expect(reason.contains("station.yaml:"))
            #expect(reason.contains("recipes[2].limits.ilMaxDb"))
            #expect(try await s.ok("status")["configHash"]?.string == before)  // old config kept
            let limits = try await s.ok("recipes").array!.first { $0["partNumber"]?.string == "FT-MTP8-SMAPC-B" }!
            #expect(limits["ilMaxDb"]?["1310"]?.number == 0.6)

            // A good change is taken.
            try good.replacingOccurrences(of: "      ilMaxDb: 0.60", with: "      ilMaxDb: 0.50").write(
                toFile: d.configPath, atomically: true, encoding: .utf8)
            d.signal(SIGHUP)
            let reloaded = try await s.events { $0["kind"]?.string == "configReloaded" }.last!
            #expect(reloaded["applied"] == .array([.string("recipe FT-MTP8-SMAPC-B changed")]), "\(reloaded)")
            let after = try await s.ok("recipes").array!.first { $0["partNumber"]?.string == "FT-MTP8-SMAPC-B" }!
            #expect(after["ilMaxDb"]?["1310"]?.number == 0.5)

            // A change only a restart applies is refused whole, not said to be reloaded.
            let share = temporaryDirectory()
            let withSink =
                good.replacingOccurrences(of: "      ilMaxDb: 0.60", with: "      ilMaxDb: 0.40")
                + "\nsinks:\n  - name: share\n    kind: directory\n    path: \(share)\n"
            try withSink.write(toFile: d.configPath, atomically: true, encoding: .utf8)
            d.signal(SIGHUP)
            let refused = try await s.events { $0["kind"]?.string == "configRejected" }.last!
            #expect(refused["reason"]?.string?.contains("sinks changed, which only a restart applies") == true, "\(refused)")
            let kept = try await s.ok("recipes").array!.first { $0["partNumber"]?.string == "FT-MTP8-SMAPC-B" }!
            #expect(kept["ilMaxDb"]?["1310"]?.number == 0.5)  // nothing of it applied
        }
        #expect(d.logText.contains("config reload refused"))
    }

    /// The end-to-end script of docs/running.md: ferruled driven only by ferrulectl, verdicts by exit code.
    @Test func lineDemoScriptPasses() throws {
        let (status, out) = try runProgram("/bin/bash", [Repo.root + "/scripts/line-demo.sh", Repo.root + "/.build/debug"])
        #expect(status == 0, "\(out)")
        #expect(out.contains("line demo: OK"))
    }

    @Test func promptsAreAnsweredByAnyClient() async throws {
        let text = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
            .replacingOccurrences(of: "simulation:\n  seed:", with: "simulation:\n  operatorPrompts: true\n  seed:")
        let d = try await Daemon(config: text)
        defer { Task { await d.stop() } }
        // One client asks for a reference and waits; another answers the prompt.
        async let reference: JSONValue = ControlSession.with(path: d.socket) { s in
            try await s.ok("reference") {
                $0.fixture = 2
                $0.cord = "RC-B-012"
            }
        }
        var prompt: JSONValue?
        for _ in 0..<200 where prompt == nil {
            prompt = try await ControlSession.with(path: d.socket) { s in try await s.ok("prompts") }.array?.first
            if prompt == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        let p = try #require(prompt)
        #expect(p["text"]?.string?.contains("reference cord RC-B-012 (Type B)") == true && p["fixture"]?.int == 2)
        let bad = try await ControlSession.with(path: d.socket) { s in
            try await s.call(RequestDraft(type: "answer"))  // missing fields
        }
        #expect(bad.error?.code == .badRequest && bad.error?.message.contains("'prompt'") == true)
        _ = try await ControlSession.with(path: d.socket) { s in
            try await s.ok("answer") {
                $0.prompt = p["id"]?.string
                $0.answer = "ok"
            }
        }
        #expect(try await reference["fixture"]?.int == 2)
    }

    /// A serial with a newline or ESC is refused without being echoed; one with U+202E (which
    /// flips the text after it) and a fake escape is escaped in the daemon's log and in
    /// ferrulectl's output: it can neither forge a log line nor drive the terminal.
    @Test func hostileSerialIsEscapedInTheLogAndInFerrulectl() async throws {
        let d = try await Daemon()
        defer { Task { await d.stop() } }
        let serial = "EVIL-1\u{202E}desrever\\u{A}forged"
        try await ControlSession.with(path: d.socket) { s in
            _ = try await s.ok("reference") {
                $0.fixture = 1
                $0.cord = "RC-B-012"
            }
            var bad = RequestDraft(type: "test")
            bad.serial = "EVIL-0\nforged line \u{1B}[31mred"
            bad.partNumber = "FT-MTP12-SMAPC-B-LL"
            let refused = try await s.call(bad)
            #expect(refused.error?.message.contains("U+000A at position 7") == true, "\(String(describing: refused.error))")
            _ = try await s.ok("subscribe")
            _ = try await s.ok("test") {
                $0.serial = serial
                $0.partNumber = "FT-MTP12-SMAPC-B-LL"
                $0.fixture = 1
            }
            _ = try await s.events { $0["kind"]?.string == "unitFinished" }
        }
        let escaped = "EVIL-1\\u{202E}desrever\\\\u{A}forged"
        let log = d.logText
        #expect(log.components(separatedBy: "\n").filter { $0.contains("unit finished") && $0.contains(escaped) }.count == 1, "\(log)")
        #expect(!log.contains("forged line") && !log.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{202E}" })
        let (status, out) = try runProgram(Repo.root + "/.build/debug/ferrulectl", ["history", "--socket", d.socket])
        #expect(status == 0, "\(out)")
        #expect(out.contains(escaped), "\(out)")
        #expect(!out.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{202E}" })
    }

    /// One daemon per data directory: a second ferruled exits naming the PID that holds it, and
    /// `ferruled probe` of the live station's data directory changes nothing there.
    @Test func aLiveDataDirectoryIsNeverShared() async throws {
        let d = try await Daemon()
        defer { Task { await d.stop() } }
        try await ControlSession.with(path: d.socket) { s in
            _ = try await s.ok("reference") {
                $0.fixture = 1
                $0.cord = "RC-B-012"
            }
        }
        /// Every file and folder of the data directory with its size and modification time.
        func snapshot() throws -> [String: String] {
            var out: [String: String] = [:]
            let root = d.dir + "/data"
            for case let f as String in FileManager.default.enumerator(atPath: root)! {
                let a = try FileManager.default.attributesOfItem(atPath: root + "/" + f)
                out[f] = "\(a[.size] as? Int ?? -1) \((a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1)"
            }
            return out
        }
        let before = try snapshot()
        let ferruled = Daemon.executable
        let (second, secondOut) = try runProgram(
            ferruled, ["--config", d.configPath, "--data-dir", d.dir + "/data", "--socket", d.dir + "/other.sock"])
        #expect(second == 2 && secondOut.contains("in use by ferruled (PID \(d.pid))"), "\(secondOut)")
        let (sameSocket, sameOut) = try runProgram(
            ferruled, ["--config", d.configPath, "--data-dir", d.dir + "/data2", "--socket", d.socket])
        #expect(sameSocket == 2 && sameOut.contains("socket \(d.socket) is in use by ferruled (PID \(d.pid))"), "\(sameOut)")
        let (probe, probeOut) = try runProgram(ferruled, ["probe", "--config", d.configPath, "--data-dir", d.dir + "/data"])
        #expect(probe == 2 && probeOut.contains("ferruled (PID \(d.pid)) is running on"), "\(probeOut)")
        #expect(try snapshot() == before)
        // The first daemon still answers on its socket and still has its simulated meter.
        let status = try await ControlSession.with(path: d.socket) { s in try await s.ok("status") }
        #expect(status["instruments"]?.array?.allSatisfy { $0["state"]?.string == "ok" } == true, "\(status)")
    }
}
