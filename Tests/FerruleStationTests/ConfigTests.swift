import FerruleProtocol
import FerruleSetup
import FerruleSimSpec
import Foundation
import FerruleTesting
import Testing

@testable import FerruleConfig
@testable import FerruleStation

@Suite(.shutsDownStations) struct ConfigTests {
    let good: String = try! String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)

    /// Replaces `old` (which must occur) and parses, returning the error.
    func error(replacing old: String, with new: String) throws -> ConfigError {
        #expect(good.contains(old), "fixture text not found: \(old)")
        let text = good.replacingOccurrences(of: old, with: new)
        do {
            _ = try StationConfig.parse(text, file: "bench.yaml")
        } catch {
            return error
        }
        Issue.record("expected a config error")
        throw CancellationError()
    }

    func line(of needle: String, in text: String) -> Int {
        text.components(separatedBy: "\n").firstIndex { $0.contains(needle) }! + 1
    }

    @Test func defaultConfigIsValid() throws {
        let c = try StationConfig.load(path: Repo.simulatedConfig)
        #expect(c.fixtures.count == 2)
        #expect(c.recipes.count == 4)
        #expect(c.recipes["FT-MTP24-OM4-A"]?.wavelengthsNm == [850, 1300])  // defaults from fiber type
        #expect(c.recipes["FT-MTP12-SMAPC-B-LL"]?.reference.validitySeconds == 28_800.0)
        #expect(c.fixtures[1].launchChannels[1] == 25 && c.fixtures[1].launchChannels[24] == 48)
        #expect(c.simulation?.demoLot.count == 8)
    }

    @Test func typoInKeyNamesLineAndSuggestion() throws {
        let e = try error(replacing: "      meanIlMaxDb: 0.20", with: "      meanIlMxDb: 0.20")
        #expect(e.line == line(of: "meanIlMaxDb: 0.20", in: good))
        #expect(e.message.contains("unknown key 'meanIlMxDb'"))
        #expect(e.fix.contains("did you mean 'meanIlMaxDb'"))
        #expect(e.path.description == "recipes[0].limits.meanIlMxDb")
        #expect(e.description.hasPrefix("bench.yaml:\(e.line!):"))
    }

    @Test func wrongTypeNamesTheValue() throws {
        let e = try error(replacing: "      ilMaxDb: 0.60", with: "      ilMaxDb: low")
        #expect(e.line == line(of: "ilMaxDb: 0.60", in: good))
        #expect(e.path.description.hasPrefix("recipes[2].limits.ilMaxDb"))
        #expect(e.message.contains("low"))
    }

    @Test func badEnumListsChoices() throws {
        let e = try error(replacing: "      fiberType: OM4", with: "      fiberType: OM9")
        #expect(e.line == line(of: "fiberType: OM4", in: good))
        #expect(e.message.contains("'OM9'"))
        #expect(e.fix.contains("SM, OM3, OM4, OM5"))
        #expect(e.path.description == "recipes[1].assembly.fiberType")
    }

    @Test func missingKeyPointsAtItsParent() throws {
        let e = try error(
            replacing: "    powerMeter: ilrl\n    rlMeter: ilrl\n    io: fixture1-io", with: "    rlMeter: ilrl\n    io: fixture1-io")
        #expect(e.message.contains("missing required key 'powerMeter'"))
        #expect(e.path.description == "fixtures[0]")
        #expect(e.line == line(of: "  - id: 1", in: good))
    }

    @Test func modbusMapsAreCheckedWithTheFix() throws {
        let io =
            "io: { lidClosed: \"di:0\", partPresent: \"di:1\", startButton: \"di:2\", "
                + "red: \"coil:0\", amber: \"coil:1\", green: \"coil:2\" }"
        var e = try error(replacing: io, with: io.replacingOccurrences(of: "\"di:0\"", with: "\"dx:0\""))
        #expect(e.path.description == "instruments[3].io.lidClosed" && e.message.contains("'dx:0' is not a Modbus point"))
        #expect(e.fix.contains("TABLE:ADDRESS[.BIT]") && e.line == line(of: "name: fixture1-io", in: good) + 5)
        e = try error(replacing: io, with: io.replacingOccurrences(of: "\"coil:0\"", with: "\"di:9\""))
        #expect(e.path.description == "instruments[3].io.red" && e.message.contains("read-only"))
        e = try error(replacing: "    unitId: 2\n", with: "    unitId: 300\n")
        #expect(e.path.description == "instruments[4].unitId" && e.message.contains("300") && e.fix.contains("1...247"))
        e = try error(replacing: "    io: fixture2-io", with: "    io: ilrl")
        #expect(e.path.description == "fixtures[1].io" && e.message.contains("cannot act as fixture I/O module"))
        e = try error(
            replacing:
                "    simulate: tcp             # on a real bench: address: tcp://192.168.10.31:502\n"
                    + "    unitId: 1\n    timeout: 1s\n    \(io)",
            with: "    address: tcp://192.168.10.31:502\n    unitId: 1")
        #expect(e.path.description == "instruments[3]" && e.message.contains("no signal map"))
        e = try error(replacing: "    unitId: 2\n", with: "    unitId: 2\n    registers: { channel: \"hr:0\" }\n")
        #expect(e.path.description == "instruments[4].registers" && e.message.contains("'registers' is for modbus-switch"))
    }

    @Test func sinksAreCheckedWithTheFix() throws {
        func sinks(_ yaml: String) throws -> ConfigError { try error(replacing: "diagnosis:\n", with: "sinks:\n\(yaml)diagnosis:\n") }
        var e = try sinks("  - { name: share, kind: ftp }\n")
        #expect(e.path.description == "sinks[0].kind" && e.fix.contains("directory, http, postgres"))
        e = try sinks("  - { name: share, kind: directory }\n")
        #expect(e.path.description == "sinks[0].path" && e.fix.contains("path: /mnt/mes/inbox"))
        e = try sinks("  - { name: share, kind: directory, path: /x, formats: [json, pdf] }\n")
        #expect(e.path.description == "sinks[0].formats[1]" && e.message.contains("pdf") && e.fix.contains("cfx"))
        e = try sinks("  - { name: mes, kind: http, url: \"ftp://mes\" }\n")
        #expect(e.path.description == "sinks[0].url" && e.message.contains("not an http(s) URL"))
        e = try sinks("  - { name: db, kind: postgres, url: \"postgres://db.line/results\" }\n")
        #expect(e.path.description == "sinks[0].url" && e.fix.contains("postgres://ferrule@"))
        e = try sinks("  - { name: a, kind: directory, path: /x }\n  - { name: a, kind: directory, path: /y }\n")
        #expect(e.path.description == "sinks[1].name" && e.message.contains("used twice"))
        let ok = try StationConfig.parse(
            good.replacingOccurrences(
                of: "diagnosis:\n",
                with: """
                    sinks:
                      - { name: share, kind: directory, path: out, formats: [json, csv] }
                      - { name: db, kind: postgres, url: "postgres://ferrule@db:5432/results", passwordFile: db.pw, tls: require }
                    diagnosis:

                    """), file: "/etc/ferrule/station.yaml")
        #expect(ok.sinks.map(\.name) == ["share", "db"])
        #expect(ok.sinks[0].destination == .directory(DirectorySinkSpec(path: "/etc/ferrule/out", formats: [.json, .csv])))
        #expect(ok.sinks[1].destination == .postgres(PostgresSinkSpec(
            url: "postgres://ferrule@db:5432/results", passwordFile: "/etc/ferrule/db.pw", requireTLS: true)))
    }

    @Test func labelSinksAreCheckedWithTheFix() throws {
        func sinks(_ yaml: String) throws -> ConfigError { try error(replacing: "diagnosis:\n", with: "sinks:\n\(yaml)diagnosis:\n") }
        var e = try sinks("  - { name: labels, kind: zpl-label, printer: \"lpt1\" }\n")
        #expect(e.path.description == "sinks[0].printer" && e.fix.contains("tcp://10.3.0.50:9100"))
        e = try sinks("  - { name: labels, kind: zpl-label, printer: \"tcp://p\", print: [pass, great] }\n")
        #expect(e.path.description == "sinks[0].print[1]" && e.message.contains("great"))
        let dir = temporaryDirectory()
        try "^XA^FH^FD{{serail}}^FS^XZ".write(toFile: dir + "/bad.zpl", atomically: true, encoding: .utf8)
        e = try sinks("  - { name: labels, kind: zpl-label, printer: \"tcp://p\", templates: { FT-X: \(dir)/bad.zpl } }\n")
        #expect(e.path.description == "sinks[0].templates.FT-X" && e.message.contains("'{{serail}}' is not a label field"), "\(e)")
        try "^XA^FH^FD{{serial}}^FS^XZ".write(toFile: dir + "/good.zpl", atomically: true, encoding: .utf8)
        let ok = try StationConfig.parse(
            good.replacingOccurrences(
                of: "diagnosis:\n",
                with: "sinks:\n  - { name: labels, kind: zpl-label, printer: \"tcp://p\", print: [pass, fail], "
                    + "templates: { FT-X: \(dir)/good.zpl } }\ndiagnosis:\n"), file: "/etc/ferrule/station.yaml")
        guard case .zplLabel(let label)? = ok.sinks.first?.destination else {
            Issue.record("not a label sink: \(ok.sinks)")
            return
        }
        #expect(label.printOn == [.pass, .fail] && label.templates["FT-X"]?.contains("{{serial}}") == true)
        #expect(label.printer == .tcp(host: "p", port: 9100))
    }

    @Test func cfxAMQPSinksAreCheckedWithTheFix() throws {
        func sinks(_ yaml: String) throws -> ConfigError { try error(replacing: "diagnosis:\n", with: "sinks:\n\(yaml)diagnosis:\n") }
        var e = try sinks("  - { name: cfx, kind: cfx-amqp, url: \"http://broker\", address: /queue/cfx }\n")
        #expect(e.path.description == "sinks[0].url" && e.fix.contains("amqp://broker.line3:5672"))
        e = try sinks("  - { name: cfx, kind: cfx-amqp, url: \"amqps://broker\", address: /queue/cfx }\n")
        #expect(e.path.description == "sinks[0].caFile" && e.message.contains("needs the CA"), "\(e)")
        e = try sinks("  - { name: cfx, kind: cfx-amqp, url: \"amqp://broker\" }\n")
        #expect(e.path.description == "sinks[0].address" && e.fix.contains("/exchange/amq.topic/cfx"))
        e = try sinks("  - { name: cfx, kind: cfx-amqp, url: \"amqp://broker\", address: /queue/cfx, user: ferrule }\n")
        #expect(e.path.description == "sinks[0].passwordFile" && e.message.contains("'ferrule' has no password"))
        e = try sinks("  - { name: cfx, kind: cfx-amqp, url: \"amqp://broker\", address: /queue/cfx, formats: [json] }\n")
        #expect(e.path.description == "sinks[0].formats")
        let ok = try StationConfig.parse(
            good.replacingOccurrences(
                of: "diagnosis:\n",
                with: """
                    sinks:
                      - name: line-cfx
                        kind: cfx-amqp
                        url: amqp://broker.line3:5672
                        address: /exchange/amq.topic/cfx
                        handle: ferrule.line3.station07
                        user: ferrule
                        passwordFile: amqp.password
                    diagnosis:

                    """), file: "/etc/ferrule/station.yaml")
        let cfx = try #require(ok.sinks.first)
        #expect(cfx.kind == .cfxAMQP)
        guard case .cfxAMQP(let c) = cfx.destination else { return }
        #expect(c.address == "/exchange/amq.topic/cfx" && c.handle == "ferrule.line3.station07" && c.broker.port == 5672)
        #expect(c.broker.user == "ferrule" && c.broker.passwordFile == "/etc/ferrule/amqp.password" && c.broker.tls == nil)
    }

    @Test func yamlSyntaxErrorHasALine() throws {
        let e = try error(replacing: "  id: SIM-01", with: "  id: [SIM-01")
        #expect(e.line != nil)
        #expect(e.message.contains("YAML syntax error"))
    }

    @Test func unknownInstrumentReference() throws {
        let e = try error(
            replacing: "receive: { switch: receive-switch, channels: \"25-48\" }",
            with: "receive: { switch: rx-switch, channels: \"25-48\" }")
        #expect(e.line == line(of: "receive: { switch: receive-switch, channels: \"25-48\" }", in: good))
        #expect(e.message.contains("no instrument named 'rx-switch'"))
        #expect(e.fix.contains("launch-switch, receive-switch, ilrl"))
    }

    @Test func channelOutsideSwitch() throws {
        let e = try error(
            replacing: "launch:  { switch: launch-switch,  channels: \"25-48\" }",
            with: "launch:  { switch: launch-switch,  channels: \"25-49\" }")
        #expect(e.message.contains("channel 49 is outside switch 'launch-switch' (1...48)"))
    }

    @Test func channelsCabledTwice() throws {
        let e = try error(
            replacing: "launch:  { switch: launch-switch,  channels: \"25-48\" }",
            with: "launch:  { switch: launch-switch,  channels: \"20-43\" }")
        #expect(e.message.contains("already cabled to fixture 1"))
    }

    @Test func meterCannotBeASwitch() throws {
        let e = try error(
            replacing: "    launch:  { switch: launch-switch,  channels: \"1-24\" }",
            with: "    launch:  { switch: ilrl,  channels: \"1-24\" }")
        #expect(e.message.contains("cannot act as switch"))
    }

    @Test func unconfirmedPolarityCanBeOverridden() throws {
        // An explicit map replaces the built-in one; a broken map is refused with its reason.
        // Keys quoted as PyYAML writes them, and plain: both are position numbers.
        let quoted = (1...24).map { "'\($0)': \(25 - $0)" }.joined(separator: ", ")
        let plain = (1...24).map { "\($0): \(25 - $0)" }.joined(separator: ", ")
        let mapped = good.replacingOccurrences(
            of: "      polarity: A\n      lengthM: 10",
            with: "      polarityMap: { \(quoted) }\n      lengthM: 10")
        // Its paths need a reference cord that covers them: without one the config says which.
        let uncovered = try #require(throws: ConfigError.self) { try StationConfig.parse(mapped, file: "x.yaml") }
        #expect(uncovered.message.contains("no reference cord covers the path 1->24 that FT-MTP24-OM4-A needs on fixture 1"))
        #expect(uncovered.fix.contains("referenceCords"))
        let text = mapped.replacingOccurrences(
            of: "referenceCords:\n",
            with: "referenceCords:\n  - { id: RC-X-024, fibers: 24, polarityMap: { \(plain) } }\n")
        let c = try StationConfig.parse(text, file: "x.yaml")
        #expect(c.recipes["FT-MTP24-OM4-A"]?.assembly.expectedMap()[1] == 24)
        #expect(c.referenceCords.first { $0.id == "RC-X-024" }?.map[24] == 1)
        let e = try error(replacing: "      polarity: A\n      lengthM: 10", with: "      polarityMap: { 1: 2 }\n      lengthM: 10")
        #expect(e.message.contains("has no destination"))
        #expect(e.path.description == "recipes[1].assembly.polarityMap")
    }

    /// A recipe with an RL limit on a fixture that has no RL meter: the recipe, the fixture and the fix.
    @Test func returnLossLimitNeedsAnRLMeter() throws {
        let e = try error(replacing: "    rlMeter: ilrl\n    io: fixture2-io", with: "    io: fixture2-io")
        #expect(e.message.contains("recipe FT-MTP12-SMAPC-B-LL judges RL, but fixture 2 (which can test it) has no RL meter"), "\(e)")
        #expect(e.fix.contains("add 'rlMeter: NAME' to fixture 2, or remove rlMinDb from FT-MTP12-SMAPC-B-LL"))
        #expect(e.path.description == "recipes[0].limits.rlMinDb" && e.line != nil)
        let perEnd = try error(replacing: "rlMinDb: { A: 60, B: 45 }", with: "rlMinDb: { A: 60, C: 45 }")
        #expect(perEnd.message.contains("'C' is not an end") && perEnd.fix.contains("{ A: 60, B: 45 }"))
    }

    @Test func cordsAndMeterSettingsAreChecked() throws {
        let badId = try error(replacing: "{ id: RC-B-024, polarity: B, fibers: 24 }", with: "{ id: \"RC B/24\", polarity: B, fibers: 24 }")
        #expect(badId.message.contains("cord id 'RC B/24'") && badId.path.description == "referenceCords[2].id")
        let twice = try error(replacing: "{ id: RC-B-024, polarity: B, fibers: 24 }", with: "{ id: TC-L-1, polarity: B, fibers: 24 }")
        #expect(twice.message.contains("cord id 'TC-L-1' is used twice"))
        let wear = try error(replacing: "maxMatings: 1000, warnMatings: 900", with: "maxMatings: 1000, warnMatings: 1200")
        #expect(wear.message.contains("a warning at 1200 matings is not within 0...1000"))
        let floor = try error(replacing: "    calibrationDue: \"2027-06-30\"", with: "    noLightFloorDbm: -200")
        #expect(floor.message.contains("-200.0 dBm is not in -120...-30 dBm"))
        let slot = try error(replacing: "    calibrationDue: \"2027-06-30\"", with: "    source: { slot: 0 }")
        #expect(slot.message.contains("'source' module slots are for keysight-816x, not santec-rl1"))
        let fault = try error(replacing: "    calibrationDue: \"2027-06-30\"", with: "    fault: { kind: noReply, fiber: 99 }")
        #expect(fault.message.contains("fiber 99 is not an MPO position") && fault.path.description == "instruments[2].fault.fiber")
    }

    /// Values that once trapped the daemon at start (or at the next unit after a reload) are
    /// config errors with their allowed range, found at once and without growing memory.
    @Test(.timeLimit(.minutes(1)), arguments: [  // a value that would trap or spin must not hang the check
        (
            "    channels: 48\n  - name: receive-switch", "    timeout: 1e10s\n    channels: 48\n  - name: receive-switch",
            "instruments[0].timeout", "outside 1 ms...24.0 h"
        ),
        (
            "    channels: 48\n  - name: receive-switch", "    timeout: infs\n    channels: 48\n  - name: receive-switch",
            "instruments[0].timeout", "is not a duration"
        ),
        (
            "    channels: 48\n  - name: receive-switch", "    timeout: 1e300s\n    channels: 48\n  - name: receive-switch",
            "instruments[0].timeout", "outside 1 ms...24.0 h"
        ),
        ("diagnosis:\n", "control: { promptTimeout: 1e16s }\ndiagnosis:\n", "control.promptTimeout", "outside"),
        (
            "    noiseDb: 0.003\n", "    noiseDb: 0.003\n    switchSettleMs: 1e300\n", "simulation.bench.switchSettleMs",
            "outside 0.0...60000.0 ms"
        ),
        (
            "diagnosis:\n", "sinks: [{ name: share, kind: directory, path: /tmp, maxBackoff: 1e300s }]\ndiagnosis:\n",
            "sinks[0].maxBackoff", "outside"
        ),
        (
            "channels: \"1-24\" }   # end-A", "channels: \"1-240000000\" }   # end-A", "fixtures[0].launch.channels",
            "goes past channel 1024"
        ),
        (
            "      validity: 8h\n      negativeIlToleranceDb: 0.05", "      validity: 1e300d\n      negativeIlToleranceDb: 0.05",
            "recipes[0].reference.validity", "outside 60 s...744.0 h"
        )
    ])
    func valuesThatWouldTrapAreRefused(old: String, new: String, path: String, message: String) throws {
        let e = try error(replacing: old, with: new)
        #expect(e.path.description == path && e.message.contains(message), "\(e)")
        #expect(!e.fix.isEmpty)
    }

    @Test func oversizedAndAliasBombConfigsAreRefused() throws {
        let big = String(repeating: "# padding\n", count: 120_000) + good
        let e1 = try #require(throws: ConfigError.self) { try StationConfig.parse(big, file: "big.yaml") }
        #expect(e1.message.contains("more than a config can be"))
        var bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...7 {
            bomb +=
                "\(Character(UnicodeScalar(97 + i)!)): &\(Character(UnicodeScalar(97 + i)!)) ["
                + Array(repeating: "*\(Character(UnicodeScalar(96 + i)!))", count: 10).joined(separator: ", ") + "]\n"
        }
        let e2 = try #require(throws: ConfigError.self) { try StationConfig.parse(bomb, file: "bomb.yaml") }
        #expect(e2.message.contains("expands to more than 200000 nodes"), "\(e2)")
    }

    @Test func bothPolarityAndMapIsAnError() throws {
        let e = try error(
            replacing: "      polarity: A\n      lengthM: 10", with: "      polarity: A\n      polarityMap: { 1: 1 }\n      lengthM: 10")
        #expect(e.message.contains("both"))
    }

    @Test func unsupportedFiberCount() throws {
        let e = try error(replacing: "      fibers: 8\n", with: "      fibers: 10\n")
        #expect(e.message.contains("unsupported fiber count 10"))
        #expect(e.line == line(of: "      fibers: 8", in: good))
    }

    @Test func wavelengthNoSourceHas() throws {
        let e = try error(
            replacing: "    wavelengthsNm: [1310, 1550]\n    limits:\n      ilMaxDb: 0.35",
            with: "    wavelengthsNm: [1310, 1625]\n    limits:\n      ilMaxDb: 0.35")
        #expect(e.message.contains("1625 nm"))
    }

    @Test func badDuration() throws {
        let e = try error(
            replacing: "      validity: 8h\n      negativeIlToleranceDb", with: "      validity: eight hours\n      negativeIlToleranceDb")
        #expect(e.message.contains("not a duration"))
        #expect(e.fix.contains("8h"))
    }

    @Test func demoFaultOnEmptyPosition() throws {
        let e = try error(replacing: "{ kind: highLoss, fiber: 10, extraDb: 0.8 }", with: "{ kind: highLoss, fiber: 6, extraDb: 0.8 }")
        #expect(e.message.contains("fiber 6 is not a used position"))
    }

    @Test func missingFileIsClear() {
        do {
            _ = try StationConfig.load(path: "/nonexistent/ferrule.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("/nonexistent/ferrule.yaml"))
            #expect(error.message.contains("cannot read"))
        }
    }

    @Test func checkConfigCommandReportsLine() throws {
        // The executable's own subcommand, as an operator would run it.
        let bad = temporaryDirectory() + "/bad.yaml"
        try good.replacingOccurrences(of: "      meanIlMaxDb: 0.20", with: "      meanIlMxDb: 0.20").write(
            toFile: bad, atomically: true, encoding: .utf8)
        let exe = URL(fileURLWithPath: Repo.root + "/.build/debug/ferruled")
        guard FileManager.default.isExecutableFile(atPath: exe.path) else {
            Issue.record("build ferruled first (swift build): \(exe.path) is missing")
            return
        }
        for (path, code) in [(bad, Int32(1)), (Repo.simulatedConfig, Int32(0))] {
            let (status, out) = try runProgram(exe.path, ["check-config", path])
            #expect(status == code, "\(out)")
            if code == 1 {
                #expect(out.contains("bad.yaml:\(line(of: "meanIlMaxDb: 0.20", in: good)):"))
            } else {
                #expect(out.contains("OK"))
            }
        }
    }
}
