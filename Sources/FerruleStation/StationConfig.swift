import FerruleCore
import FerruleDevices
import FerruleRecords
import FerruleSimSpec
import Foundation
import Yams
import Crypto

/// Drivers this build knows, by the name used in `instruments[].driver`.
public enum DriverKind: String, Sendable, CaseIterable {
    /// Santec RL1/RLM IL-RL meter (SCPI): source, power meter and RL meter.
    case santecRL1 = "santec-rl1"
    /// Santec OSX optical switch (SCPI over TCP 5025).
    case santecOSX = "santec-osx"
    /// Keysight 816x power meter (SCPI).
    case keysight816x = "keysight-816x"
    /// DiCon MEMS 1xN switch (serial line protocol).
    case diconMEMS = "dicon-mems"
    /// A 1xN optical switch over Modbus RTU/TCP, register map from the config.
    case modbusSwitch = "modbus-switch"
    /// A fixture I/O module over Modbus RTU/TCP (lid interlock, part sensor, start, stack light).
    case modbusIO = "modbus-io"
    /// In-process simulated 1xN switch on the simulated bench (no wire; fastest for engine tests).
    case simSwitch = "sim-switch"
    /// In-process simulated IL/RL meter (no wire).
    case simILRL = "sim-ilrl"

    var isSwitch: Bool { [.simSwitch, .santecOSX, .diconMEMS, .modbusSwitch].contains(self) }
    var isFixtureIO: Bool { self == .modbusIO }
    var isModbus: Bool { self == .modbusSwitch || self == .modbusIO }
    var isSource: Bool { [.simILRL, .santecRL1].contains(self) }
    var isPowerMeter: Bool { [.simILRL, .santecRL1, .keysight816x].contains(self) }
    var isRLMeter: Bool { [.simILRL, .santecRL1].contains(self) }
    /// In-process simulated: no wire, no address.
    public var isSimulated: Bool { self == .simSwitch || self == .simILRL }
}

public struct InstrumentSpec: Sendable, Hashable {
    public var name: String
    public var driver: DriverKind
    /// For a real driver: where it is. For `simulate`, assigned when the simulator starts.
    public var address: String
    public var simulate: WireTransport?
    public var fault: WireFault = .none
    public var faultScope = FaultScope()
    /// Readings below this are no light; nil: the driver's default for its model.
    public var noLightFloorDbm: Double?
    /// Keysight 816x: where its laser and power-meter modules sit.
    public var keysight: Keysight816x.Slots?
    public var serial = SerialSettings()
    public var timeoutSeconds: Double?
    public var channels: Int?
    public var wavelengthsNm: [Int]
    public var calibrationDue: String?
    public var unitId = 1
    public var retries = 2
    public var switchMap: ModbusSwitchMap?
    public var ioMap: ModbusIOMap?
    /// udev properties that find the instrument's port (resolved at start, followed on hot-plug).
    public var match: [String: String]?

    /// The roles this instrument can take, from its driver and (for a Keysight mainframe) its modules.
    public var canBeSource: Bool { driver.isSource || (driver == .keysight816x && keysight?.sourceSlot != nil) }
    public var canBePowerMeter: Bool { driver.isPowerMeter }
    public var canBeRLMeter: Bool { driver.isRLMeter }
}

public struct DemoUnit: Sendable {
    public var serial: String
    public var partNumber: String
    public var fixture: Int?
    public var faults: [AssemblyFault]
}

public struct SimulationSpec: Sendable {
    public var bench: BenchSettings
    public var demoLot: [DemoUnit]
    public var operatorPrompts = false
}

public struct ControlSpec: Sendable, Hashable {
    /// Status socket path; nil: the default (see `ferruled --help`).
    public var socket: String?
    public var group: String?
    public var promptTimeoutSeconds: Double = 600
    /// A socket client that is not subscribed and sends no complete request for this long is closed.
    public var idleTimeoutSeconds: Double = 60
}

/// A sink: somewhere every report goes, at least once, with its own place in the outbox.
public struct SinkSpec: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable { case directory, http, postgres }
    public var name: String
    public var kind: Kind
    /// directory: the folder (absolute, or relative to the config file's folder).
    public var path: String?
    /// directory: the files written per unit.
    public var formats: [ReportFormat] = [.json, .html]
    /// http: the endpoint and the body's format.
    public var url: String?
    public var format: ReportFormat = .json
    public var tokenFile: String?
    /// postgres: the password's file (the URL may carry one too) and whether TLS is required.
    public var passwordFile: String?
    public var requireTLS = false
    public var timeoutSeconds: Double = 10
    public var maxBackoffSeconds: Double = 60
}

enum TLSMode: String, CaseIterable { case disable, require }

/// A validated station configuration.
public struct StationConfig: Sendable {
    public var sourcePath: String
    public var stationId: String
    public var dataDir: String?
    public var instruments: [InstrumentSpec]
    public var fixtures: [FixtureWiring]
    public var recipes: [String: Recipe]
    public var recipeOrder: [String]
    /// The reference cords; a config without any has one straight cord, `straight-A` (see README).
    public var referenceCords: [ReferenceCord]
    public var rules: DiagnosisRules
    public var control: ControlSpec
    public var sinks: [SinkSpec]
    public var simulation: SimulationSpec?
    /// SHA-256 of the file's bytes (`sha256:<hex>`): identifies the config a report was made with.
    public var hash: String

    public static func load(path: String) throws(ConfigError) -> StationConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(file: path, line: nil, column: nil, path: ConfigPath(),
                              message: "cannot read the file (\(error.localizedDescription))",
                              fix: "give the path of a readable YAML file")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(ConfigError) -> StationConfig {
        func fail(_ node: Node?, _ path: ConfigPath, _ message: String, _ fix: String) -> ConfigError {
            ConfigError(file: file, line: node?.mark?.line, column: node?.mark?.column, path: path, message: message, fix: fix)
        }
        // 0. Size: a station's config is a few kB; anything near a megabyte is a wrong file.
        guard text.utf8.count <= maxConfigBytes else {
            throw fail(nil, ConfigPath(), "the file is \(text.utf8.count) bytes, more than a config can be (\(maxConfigBytes))",
                       "check that this is the station's config file")
        }
        // 1. YAML syntax.
        let composed: Node
        do {
            guard let n = try Yams.compose(yaml: text) else {
                throw fail(nil, ConfigPath(), "the file is empty", "start from Config/simulated.yaml")
            }
            composed = n
        } catch let e as ConfigError {
            throw e
        } catch let e as YamlError {
            var line: Int?, column: Int?, problem = "\(e)"
            switch e {
            case .scanner(_, let p, let m, _), .parser(_, let p, let m, _), .composer(_, let p, let m, _):
                line = m.line; column = m.column; problem = p
            default: break
            }
            throw ConfigError(file: file, line: line, column: column, path: ConfigPath(),
                              message: "YAML syntax error: \(problem)", fix: "correct the YAML at that line (indentation, a missing ':' or quote)")
        } catch {
            throw fail(nil, ConfigPath(), "YAML error: \(error)", "correct the YAML")
        }

        // 2. Shape and types. Quoted keys ('1': 2, as PyYAML writes a map) read like plain ones.
        // Aliases are shared, not copied, until decoding: count the nodes they expand to first
        // (a "billion laughs" file would otherwise take the daemon's memory).
        guard expandedNodeCount(composed, limit: maxConfigNodes) <= maxConfigNodes else {
            throw fail(composed, ConfigPath(), "the YAML expands to more than \(maxConfigNodes) nodes (aliases of aliases)",
                       "write the config without nested aliases")
        }
        let root = plainScalarKeys(composed)
        let decoded: ConfigFile
        do {
            decoded = try YAMLDecoder().decode(ConfigFile.self, from: root)
        } catch let e as DecodingError {
            throw decodingError(e, root: root, file: file)
        } catch {
            throw fail(root, ConfigPath(), "\(error)", "correct the file")
        }

        // 3. Keys that nothing reads: a typo must not silently fall back to a default.
        if let (path, known) = unknownKey(source: root, decoded: decoded) {
            let key = path.components.last.map { if case .key(let k) = $0 { return k }; return "" } ?? ""
            let suggestion = known.min { editDistance($0, key) < editDistance($1, key) }
            let node = root.keyNode(path) ?? root.locate(path)
            throw fail(node, path, "unknown key '\(key)'",
                       suggestion.map { "did you mean '\($0)'? Known keys here: \(known.sorted().joined(separator: ", "))" }
                           ?? "remove it")
        }

        // 4. Meaning.
        do {
            var config = try validate(decoded, file: file)
            config.hash = fileHash(text)
            return config
        } catch let issue as ConfigIssue {
            throw fail(root.locate(issue.path), issue.path, issue.message, issue.fix)
        } catch {
            throw fail(root, ConfigPath(), "\(error)", "correct the file")
        }
    }

    private static func decodingError(_ e: DecodingError, root: Node, file: String) -> ConfigError {
        func err(_ ctx: DecodingError.Context, _ message: String, _ fix: String, extra: [any CodingKey] = []) -> ConfigError {
            let path = ConfigPath(codingPath: ctx.codingPath + extra)
            let node = root.locate(path)
            return ConfigError(file: file, line: node.mark?.line, column: node.mark?.column, path: path, message: message, fix: fix)
        }
        switch e {
        case .keyNotFound(let key, let ctx):
            return err(ctx, "missing required key '\(key.stringValue)'", "add '\(key.stringValue): ...' here")
        case .typeMismatch(let type, let ctx), .valueNotFound(let type, let ctx):
            let path = ConfigPath(codingPath: ctx.codingPath)
            let got = root.locate(path).string.map { "'\($0)'" } ?? "a \(root.locate(path).mapping != nil ? "mapping" : "list or empty value")"
            return err(ctx, "expected \(describe(type)), got \(got)", "write \(describe(type)) here")
        case .dataCorrupted(let ctx):
            let path = ConfigPath(codingPath: ctx.codingPath)
            let got = root.locate(path).string.map { " (got '\($0)')" } ?? ""
            return err(ctx, "invalid value\(got): \(ctx.debugDescription)", "see Config/simulated.yaml for the expected form")
        @unknown default:
            return ConfigError(file: file, line: nil, column: nil, path: ConfigPath(), message: "\(e)", fix: "correct the file")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is UInt64.Type: return "a whole number"
        case is Double.Type: return "a number"
        case is String.Type: return "text"
        case is [Int].Type: return "a list of whole numbers"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "a list" }
            if name.hasPrefix("Dictionary") { return "a mapping" }
            return "a \(name) (a mapping)"
        }
    }

    /// The first key in the source that no field of the decoded config reads, with the keys known
    /// there. Walks the decoded value with Mirror, so optional fields left out still count as known.
    private static func unknownKey(source: Node, decoded: ConfigFile) -> (ConfigPath, [String])? {
        firstUnknown(source, decoded, ConfigPath())
    }

    private static func firstUnknown(_ src: Node, _ value: Any, _ path: ConfigPath) -> (ConfigPath, [String])? {
        let m = Mirror(reflecting: value)
        switch m.displayStyle {
        case .optional:
            guard let inner = m.children.first else { return nil }
            return firstUnknown(src, inner.value, path)
        case .struct:
            guard let sm = src.mapping else { return nil }
            var fields: [String: Any] = [:]
            for c in m.children { if let l = c.label { fields[l.hasPrefix("_") ? String(l.dropFirst()) : l] = c.value } }
            for (k, v) in sm {
                guard let key = k.string else { continue }
                guard let fv = fields[key] else { return (path.key(key), fields.keys.sorted()) }
                if let r = firstUnknown(v, fv, path.key(key)) { return r }
            }
        case .collection:
            guard let ss = src.sequence else { return nil }
            for (i, (n, c)) in zip(ss, m.children).enumerated() {
                if let r = firstUnknown(n, c.value, path.index(i)) { return r }
            }
        default:
            break  // scalars, enums with their own decoding, free-form maps
        }
        return nil
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.lowercased()), b = Array(b.lowercased())
        if a.isEmpty { return b.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var prev = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let cur = row[j]
                row[j] = Swift.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
                prev = cur
            }
        }
        return row[b.count]
    }

    /// "sha256:" and the SHA-256 of the file's bytes, so `sha256sum station.yaml` matches a report.
    static func fileHash(_ text: String) -> String {
        "sha256:" + SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

// MARK: - Validation

extension StationConfig {
    static func oneOf<T: RawRepresentable & CaseIterable>(_ value: String, _ type: T.Type, _ path: ConfigPath,
                                                          what: String) throws -> T where T.RawValue == String {
        if let v = T(rawValue: value) ?? T.allCases.first(where: { $0.rawValue.lowercased() == value.lowercased() }) { return v }
        throw ConfigIssue(path: path, message: "'\(value)' is not a known \(what)",
                          fix: "use one of: \(T.allCases.map(\.rawValue).joined(separator: ", "))")
    }

    /// What a waiting duration (a timeout, a prompt, a back-off) may be: 1 ms to 24 h. Anything
    /// outside is a typo, and a huge one would trap when turned into a `Duration`.
    static let waiting: ClosedRange<Double> = 0.001...86_400

    /// "8h", "30m", "90s", "1d", "300ms" or a number of seconds, within `range` (seconds).
    static func duration(_ text: String, _ path: ConfigPath, within range: ClosedRange<Double> = waiting) throws -> Double {
        let t = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        let (number, unit) = units.first { t.hasSuffix($0.0) && Double(t.dropLast($0.0.count)) != nil }
            .map { (Double(t.dropLast($0.0.count)), $0.1) } ?? (Double(t), 1)
        guard let n = number, n.isFinite, n > 0 else {
            throw ConfigIssue(path: path, message: "'\(Escaped.text(text))' is not a duration", fix: "write a positive duration such as 8h, 30m, 90s or 300ms")
        }
        let seconds = n * unit
        guard range.contains(seconds) else {
            throw ConfigIssue(path: path, message: "'\(Escaped.text(text))' is outside \(Durations.words(range.lowerBound))...\(Durations.words(range.upperBound))",
                              fix: "give a duration from \(Durations.words(range.lowerBound)) to \(Durations.words(range.upperBound))")
        }
        return seconds
    }

    /// The largest switch and channel number this station takes (real 1xN switches stop well below).
    static let maxChannels = 1024

    static func channels(_ list: ChannelList, _ path: ConfigPath) throws -> [Int] {
        switch list {
        case .list(let l):
            guard !l.isEmpty else { throw ConfigIssue(path: path, message: "the channel list is empty", fix: "list one channel per position") }
            return l
        case .range(let s):
            let parts = s.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let lo = parts[0], let hi = parts[1], lo >= 1, hi >= lo else {
                throw ConfigIssue(path: path, message: "'\(s)' is not a channel range",
                                  fix: "write a range such as \"1-24\" or a list such as [1, 2, 3]")
            }
            guard hi <= maxChannels else {
                throw ConfigIssue(path: path, message: "channel range '\(s)' goes past channel \(maxChannels)",
                                  fix: "check the range: a fixture has one channel per MPO position (up to 72)")
            }
            return Array(lo...hi)
        }
    }

    static func point(_ text: String?, _ path: ConfigPath, output: Bool = false, word: Bool = false) throws -> ModbusPoint? {
        guard let text else { return nil }
        switch ModbusPoint.parse(text) {
        case .failure(let e):
            throw ConfigIssue(path: path, message: "'\(text)' is not a Modbus point: \(e.reason)",
                              fix: "write TABLE:ADDRESS[.BIT] with TABLE coil, di, hr or ir, e.g. di:0, coil:2, ir:5.3, !di:1 (active low)")
        case .success(let p):
            if output && !p.table.writable {
                throw ConfigIssue(path: path, message: "'\(text)' is a \(p.table.title), which is read-only", fix: "map an output to a coil or a holding register")
            }
            if word && p.isSignal {
                throw ConfigIssue(path: path, message: "'\(text)' names a bit, a whole register is needed here", fix: "write hr:N or ir:N")
            }
            if word && output && p.table != .hr {
                throw ConfigIssue(path: path, message: "'\(text)' is not a holding register", fix: "the channel is written to a holding register: hr:N")
            }
            return p
        }
    }

    /// Unit id, retries and the register map of a Modbus instrument; refuses them on others.
    static func modbusSettings(_ e: InstrumentEntry, driver: DriverKind, into spec: inout InstrumentSpec, _ p: ConfigPath) throws {
        guard driver.isModbus else {
            for (key, present) in [("unitId", e.unitId != nil), ("retries", e.retries != nil), ("registers", e.registers != nil), ("io", e.io != nil)] where present {
                throw ConfigIssue(path: p.key(key), message: "'\(key)' is for Modbus instruments, not \(driver.rawValue)", fix: "remove it")
            }
            return
        }
        if let id = e.unitId {
            guard (1...247).contains(id) else {
                throw ConfigIssue(path: p.key("unitId"), message: "unit id \(id) is outside 1...247", fix: "give the module's Modbus address (1...247)")
            }
            spec.unitId = id
        }
        if let r = e.retries {
            guard (0...10).contains(r) else { throw ConfigIssue(path: p.key("retries"), message: "\(r) retries is not in 0...10", fix: "use 0...10 (2 is usual)") }
            spec.retries = r
        }
        let simulated = e.simulate != nil
        switch driver {
        case .modbusSwitch:
            if e.io != nil { throw ConfigIssue(path: p.key("io"), message: "'io' is for modbus-io", fix: "a switch's map goes under 'registers'") }
            if let r = e.registers {
                let rp = p.key("registers")
                spec.switchMap = ModbusSwitchMap(channel: try point(r.channel, rp.key("channel"), output: true, word: true)!,
                                                 position: try point(r.position, rp.key("position"), word: true),
                                                 busy: try point(r.busy, rp.key("busy")))
            } else if simulated {
                spec.switchMap = ModbusSwitchMap()
            } else {
                throw ConfigIssue(path: p, message: "Modbus switch '\(e.name)' has no register map",
                                  fix: "add 'registers: {channel: hr:N, position: ir:N, busy: ir:N.B}' from the switch's manual")
            }
        case .modbusIO:
            if e.registers != nil { throw ConfigIssue(path: p.key("registers"), message: "'registers' is for modbus-switch", fix: "an I/O module's map goes under 'io'") }
            if let m = e.io {
                let ip = p.key("io")
                spec.ioMap = ModbusIOMap(lidClosed: try point(m.lidClosed, ip.key("lidClosed"))!,
                                         partPresent: try point(m.partPresent, ip.key("partPresent")),
                                         startButton: try point(m.startButton, ip.key("startButton")),
                                         red: try point(m.red, ip.key("red"), output: true), amber: try point(m.amber, ip.key("amber"), output: true),
                                         green: try point(m.green, ip.key("green"), output: true))
                if let bad = [("lidClosed", spec.ioMap!.lidClosed), ("partPresent", spec.ioMap!.partPresent), ("startButton", spec.ioMap!.startButton)]
                    .first(where: { $0.1.map { !$0.isSignal } ?? false }) {
                    throw ConfigIssue(path: ip.key(bad.0), message: "'\(bad.1!)' is a whole register, an input signal is a bit",
                                      fix: "write di:N, coil:N or REGISTER:N.BIT")
                }
            } else if simulated {
                spec.ioMap = ModbusIOMap()
            } else {
                throw ConfigIssue(path: p, message: "I/O module '\(e.name)' has no signal map",
                                  fix: "add 'io: {lidClosed: di:N, partPresent: di:N, startButton: di:N, red: coil:N, amber: coil:N, green: coil:N}'")
            }
        default: break
        }
    }

    static func validate(_ f: ConfigFile, file: String) throws -> StationConfig {
        let root = ConfigPath()
        guard !f.station.id.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ConfigIssue(path: root.key("station").key("id"), message: "the station id is empty", fix: "name the station, e.g. ST-01")
        }

        // Instruments.
        var instruments: [InstrumentSpec] = []
        for (i, e) in f.instruments.enumerated() {
            let p = root.key("instruments").index(i)
            if instruments.contains(where: { $0.name == e.name }) {
                throw ConfigIssue(path: p.key("name"), message: "instrument name '\(e.name)' is used twice", fix: "give every instrument its own name")
            }
            let driver = try oneOf(e.driver, DriverKind.self, p.key("driver"), what: "driver")
            if driver.isSwitch {
                guard let n = e.channels, (1...maxChannels).contains(n) else {
                    throw ConfigIssue(path: p.key("channels"), message: "a switch needs its channel count",
                                      fix: "add 'channels: N' (the N of the 1xN switch)")
                }
                _ = n
            }
            let wls = e.wavelengthsNm ?? []
            if (driver.isSource || e.source != nil) && wls.isEmpty {
                throw ConfigIssue(path: p.key("wavelengthsNm"), message: "a source needs its wavelengths", fix: "add e.g. 'wavelengthsNm: [1310, 1550]'")
            }
            var spec = InstrumentSpec(name: e.name, driver: driver, address: e.address ?? "sim://\(e.name)",
                                      channels: e.channels, wavelengthsNm: wls, calibrationDue: e.calibrationDue)
            if let t = e.timeout { spec.timeoutSeconds = try duration(t, p.key("timeout")) }
            try modbusSettings(e, driver: driver, into: &spec, p)
            try meterSettings(e, driver: driver, into: &spec, p)
            if driver.isSimulated {
                if e.simulate != nil {
                    throw ConfigIssue(path: p.key("simulate"), message: "driver \(driver.rawValue) is already simulated in-process",
                                      fix: "use a real driver (\(DriverKind.allCases.filter { !$0.isSimulated }.map(\.rawValue).joined(separator: ", "))) with 'simulate: tcp' or 'pty'")
                }
            } else if let sim = e.simulate {
                if e.match != nil || e.address != nil {
                    throw ConfigIssue(path: p.key("simulate"), message: "'simulate' serves the instrument itself; 'address' or 'match' is given too",
                                      fix: "remove 'simulate' to use the real instrument, or remove 'address'/'match'")
                }
                spec.simulate = try oneOf(sim, WireTransport.self, p.key("simulate"), what: "simulator transport")
                if let f = e.fault { (spec.fault, spec.faultScope) = try simulatedFault(f, p.key("fault")) }
            } else if let m = e.match {
                if e.address != nil {
                    throw ConfigIssue(path: p.key("match"), message: "both 'address' and 'match' are given", fix: "keep one: 'match' finds the port by its udev properties")
                }
                guard !m.isEmpty else {
                    throw ConfigIssue(path: p.key("match"), message: "the match is empty", fix: "name udev properties such as ID_VENDOR_ID, ID_MODEL_ID, ID_SERIAL_SHORT (see `ferruled devices`)")
                }
                if let bad = m.keys.sorted().first(where: { k in k.isEmpty || !k.allSatisfy { $0.isUppercase || $0.isNumber || $0 == "_" } }) {
                    throw ConfigIssue(path: p.key("match").key(bad), message: "'\(bad)' is not a udev property name",
                                      fix: "use udev property names such as ID_VENDOR_ID, ID_MODEL_ID, ID_SERIAL_SHORT, ID_PATH")
                }
                spec.match = m
                spec.address = "udev:" + m.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            } else {
                guard let a = e.address else {
                    throw ConfigIssue(path: p, message: "instrument '\(e.name)' has no address",
                                      fix: "add 'address: tcp://HOST:PORT', a serial device path such as /dev/ferrule/\(e.name), 'match: {ID_SERIAL_SHORT: ...}' (see `ferruled devices`) or 'simulate: tcp'")
                }
                guard InstrumentAddress.parse(a) != nil else {
                    throw ConfigIssue(path: p.key("address"), message: "'\(a)' is not an instrument address",
                                      fix: "write tcp://HOST:PORT (e.g. tcp://192.168.1.20:5025) or a device path such as /dev/ttyUSB0")
                }
                if e.fault != nil {
                    throw ConfigIssue(path: p.key("fault"), message: "faults are for simulated instruments", fix: "remove 'fault' or add 'simulate: tcp'")
                }
            }
            if let se = e.serial {
                let sp = p.key("serial")
                if let b = se.baud { spec.serial.baud = b }
                if let d = se.dataBits {
                    guard (5...8).contains(d) else { throw ConfigIssue(path: sp.key("dataBits"), message: "\(d) data bits", fix: "use 5, 6, 7 or 8") }
                    spec.serial.dataBits = d
                }
                if let par = se.parity { spec.serial.parity = try oneOf(par, SerialSettings.Parity.self, sp.key("parity"), what: "parity") }
                if let st = se.stopBits {
                    guard st == 1 || st == 2 else { throw ConfigIssue(path: sp.key("stopBits"), message: "\(st) stop bits", fix: "use 1 or 2") }
                    spec.serial.stopBits = st
                }
                if let r = se.rtsCts { spec.serial.rtsCts = r }
                guard [9600, 19200, 38400, 57600, 115_200, 230_400].contains(spec.serial.baud) else {
                    throw ConfigIssue(path: sp.key("baud"), message: "baud \(spec.serial.baud) is not supported", fix: "use 9600, 19200, 38400, 57600, 115200 or 230400")
                }
            }
            instruments.append(spec)
        }
        func instrument(_ name: String, _ p: ConfigPath, role: String, _ ok: (InstrumentSpec) -> Bool) throws -> InstrumentSpec {
            guard let ins = instruments.first(where: { $0.name == name }) else {
                throw ConfigIssue(path: p, message: "no instrument named '\(name)'",
                                  fix: "use one of: \(instruments.map(\.name).joined(separator: ", "))")
            }
            guard ok(ins) else {
                throw ConfigIssue(path: p, message: "instrument '\(name)' (driver \(ins.driver.rawValue)) cannot act as \(role)",
                                  fix: "name an instrument whose driver is a \(role)")
            }
            return ins
        }

        // Fixtures.
        var fixtures: [FixtureWiring] = []
        var taken: [String: Int] = [:]  // "switch#channel" -> fixture
        guard !f.fixtures.isEmpty else {
            throw ConfigIssue(path: root.key("fixtures"), message: "no fixtures", fix: "add at least one fixture")
        }
        for (i, e) in f.fixtures.enumerated() {
            let p = root.key("fixtures").index(i)
            guard e.id >= 1 else { throw ConfigIssue(path: p.key("id"), message: "fixture id \(e.id) is not positive", fix: "number fixtures from 1") }
            if fixtures.contains(where: { $0.id == e.id }) {
                throw ConfigIssue(path: p.key("id"), message: "fixture id \(e.id) is used twice", fix: "give every fixture its own id")
            }
            var maps: [[Int: Int]] = []
            for (side, port) in [("launch", e.launch), ("receive", e.receive)] {
                let sw = try instrument(port.switch, p.key(side).key("switch"), role: "switch") { $0.driver.isSwitch }
                let chans = try channels(port.channels, p.key(side).key("channels"))
                var map: [Int: Int] = [:]
                for (k, ch) in chans.enumerated() {
                    guard ch >= 1, ch <= sw.channels ?? 0 else {
                        throw ConfigIssue(path: p.key(side).key("channels"), message: "channel \(ch) is outside switch '\(sw.name)' (1...\(sw.channels ?? 0))",
                                          fix: "use channels 1...\(sw.channels ?? 0) or a larger switch")
                    }
                    if let other = taken["\(sw.name)#\(ch)"] {
                        throw ConfigIssue(path: p.key(side).key("channels"), message: "channel \(ch) of switch '\(sw.name)' is already cabled to fixture \(other)",
                                          fix: "give each fixture its own channels")
                    }
                    taken["\(sw.name)#\(ch)"] = e.id
                    map[k + 1] = ch
                }
                maps.append(map)
            }
            _ = try instrument(e.source, p.key("source"), role: "light source") { $0.canBeSource }
            _ = try instrument(e.powerMeter, p.key("powerMeter"), role: "power meter") { $0.canBePowerMeter }
            if let rl = e.rlMeter { _ = try instrument(rl, p.key("rlMeter"), role: "RL meter") { $0.canBeRLMeter } }
            if let io = e.io {
                _ = try instrument(io, p.key("io"), role: "fixture I/O module") { $0.driver.isFixtureIO }
                if let other = fixtures.first(where: { $0.io == io }) {
                    throw ConfigIssue(path: p.key("io"), message: "I/O module '\(io)' already serves fixture \(other.id)", fix: "give each fixture its own I/O module")
                }
            }
            fixtures.append(FixtureWiring(id: e.id, launchSwitch: e.launch.switch, launchChannels: maps[0],
                                          receiveSwitch: e.receive.switch, receiveChannels: maps[1],
                                          source: e.source, powerMeter: e.powerMeter, rlMeter: e.rlMeter, io: e.io,
                                          testCords: try testCords(e.testCords, p.key("testCords"))))
        }

        // Recipes.
        var recipes: [String: Recipe] = [:]
        var order: [String] = []
        for (i, e) in f.recipes.enumerated() {
            let p = root.key("recipes").index(i)
            let recipe = try validateRecipe(e, p)
            if recipes[recipe.partNumber] != nil {
                throw ConfigIssue(path: p.key("partNumber"), message: "part number '\(recipe.partNumber)' has two recipes", fix: "keep one recipe per part number")
            }
            for wl in recipe.wavelengthsNm where !fixtures.contains(where: { w in
                instruments.first { $0.name == w.source }?.wavelengthsNm.contains(wl) ?? false
            }) {
                throw ConfigIssue(path: p.key("wavelengthsNm"), message: "no fixture's source has a \(wl) nm laser",
                                  fix: "test at wavelengths the sources have, or add a source with \(wl) nm")
            }
            if fixtures.allSatisfy({ $0.cannotTest(recipe.assembly) != nil }) {
                throw ConfigIssue(path: p.key("assembly"), message: "no fixture is cabled for this assembly (\(fixtures.compactMap { $0.cannotTest(recipe.assembly) }.first!))",
                                  fix: "cable a fixture with enough launch and receive channels")
            }
            try checkReturnLossMeters(recipe, fixtures: fixtures, p)
            recipes[recipe.partNumber] = recipe
            order.append(recipe.partNumber)
        }

        var rules = DiagnosisRules()
        if let d = f.diagnosis {
            if let v = d.contaminationClusterMin {
                guard v >= 2 else { throw ConfigIssue(path: root.key("diagnosis").key("contaminationClusterMin"), message: "\(v) is below 2", fix: "use 2 or more") }
                rules.contaminationClusterMin = v
            }
            if let v = d.lightThresholdIlDb { rules.lightThresholdIlDb = v }
            if let v = d.rlDegradedDb { rules.rlDegradedDb = v }
        }

        // Simulation.
        var simulation: SimulationSpec?
        if let s = f.simulation {
            var bench = BenchSettings()
            if let v = s.seed { bench.seed = v }
            if let b = s.bench {
                let bp = root.key("simulation").key("bench")
                if let v = b.sourcePowerDbm { bench.sourcePowerDbm = try within(v, -40...20, bp.key("sourcePowerDbm"), "dBm") }
                if let v = b.noiseDb { bench.noiseDb = try within(v, 0...1, bp.key("noiseDb"), "dB") }
                if let v = b.driftDbPerReading { bench.driftDbPerReading = try within(v, -1...1, bp.key("driftDbPerReading"), "dB") }
                if let v = b.pathLossMinDb { bench.pathLossMinDb = try within(v, 0...10, bp.key("pathLossMinDb"), "dB") }
                if let v = b.pathLossMaxDb { bench.pathLossMaxDb = try within(v, 0...10, bp.key("pathLossMaxDb"), "dB") }
                guard bench.pathLossMinDb >= 0, bench.pathLossMaxDb >= bench.pathLossMinDb else {
                    throw ConfigIssue(path: root.key("simulation").key("bench").key("pathLossMaxDb"),
                                      message: "path loss range \(bench.pathLossMinDb)...\(bench.pathLossMaxDb) dB is empty or negative",
                                      fix: "give 0 <= pathLossMinDb <= pathLossMaxDb, e.g. 0.3 and 0.9")
                }
                if let v = b.darkNoiseWatts { bench.darkNoiseWatts = try within(v, 0...1e-6, bp.key("darkNoiseWatts"), "W") }
                if let v = b.switchSettleMs { bench.switchSettleMs = try within(v, 0...60_000, bp.key("switchSettleMs"), "ms") }
                if let v = b.meterReadMs { bench.meterReadMs = try within(v, 0...60_000, bp.key("meterReadMs"), "ms") }
            }
            var lot: [DemoUnit] = []
            for (i, u) in (s.demoLot ?? []).enumerated() {
                let p = root.key("simulation").key("demoLot").index(i)
                guard let recipe = recipes[u.partNumber] else {
                    throw ConfigIssue(path: p.key("partNumber"), message: "no recipe for part number '\(u.partNumber)'",
                                      fix: "use one of: \(order.joined(separator: ", "))")
                }
                if let fx = u.fixture {
                    guard let w = fixtures.first(where: { $0.id == fx }) else {
                        throw ConfigIssue(path: p.key("fixture"), message: "no fixture \(fx)", fix: "use one of: \(fixtures.map { String($0.id) }.joined(separator: ", "))")
                    }
                    if let why = w.cannotTest(recipe.assembly) { throw ConfigIssue(path: p.key("fixture"), message: why, fix: "put the unit on a fixture cabled for it") }
                }
                for (j, fault) in (u.faults ?? []).enumerated() {
                    let used = recipe.assembly.layout.usedPositions
                    let named: [Int]
                    switch fault {
                    case .highLoss(let fb, _), .darkFiber(let fb): named = [fb]
                    case .swappedPair(let a, let b): named = [a, b]
                    case .dirtyEndFace(_, let fbs, _): named = fbs
                    case .wrongPolarity, .genderMismatch: named = []
                    case .darkAtWavelength(let fb, _): named = [fb]
                    }
                    if let bad = named.first(where: { !used.contains($0) }) {
                        throw ConfigIssue(path: p.key("faults").index(j), message: "fiber \(bad) is not a used position of \(u.partNumber)",
                                          fix: "name one of \(Judge.list(used))")
                    }
                }
                lot.append(DemoUnit(serial: u.serial, partNumber: u.partNumber, fixture: u.fixture, faults: u.faults ?? []))
            }
            simulation = SimulationSpec(bench: bench, demoLot: lot, operatorPrompts: s.operatorPrompts ?? false)
        }
        if instruments.contains(where: { $0.driver.isSimulated || $0.simulate != nil }) && simulation == nil {
            simulation = SimulationSpec(bench: BenchSettings(), demoLot: [])
        }
        var control = ControlSpec()
        if let c = f.control {
            control.socket = c.socket
            control.group = c.group
            if let t = c.promptTimeout { control.promptTimeoutSeconds = try duration(t, root.key("control").key("promptTimeout")) }
            if let t = c.idleTimeout {
                control.idleTimeoutSeconds = try duration(t, root.key("control").key("idleTimeout"), within: 1...86400)
            }
        }

        var sinks: [SinkSpec] = []
        for (i, e) in (f.sinks ?? []).enumerated() {
            let p = root.key("sinks").index(i)
            guard !e.name.trimmingCharacters(in: .whitespaces).isEmpty, !e.name.contains("/") else {
                throw ConfigIssue(path: p.key("name"), message: "sink name '\(e.name)' is empty or has a '/'", fix: "name the sink, e.g. 'mes-share'")
            }
            guard !sinks.contains(where: { $0.name == e.name }) else {
                throw ConfigIssue(path: p.key("name"), message: "sink name '\(e.name)' is used twice", fix: "give every sink its own name: it keys its place in the outbox")
            }
            var spec = SinkSpec(name: e.name, kind: try oneOf(e.kind, SinkSpec.Kind.self, p.key("kind"), what: "sink kind"))
            if let t = e.timeout { spec.timeoutSeconds = try duration(t, p.key("timeout")) }
            if let t = e.maxBackoff { spec.maxBackoffSeconds = try duration(t, p.key("maxBackoff")) }
            switch spec.kind {
            case .directory:
                guard let path = e.path, !path.isEmpty else {
                    throw ConfigIssue(path: p.key("path"), message: "a directory sink needs its folder", fix: "add 'path: /mnt/mes/inbox' (the folder the MES watches)")
                }
                for (key, v) in [("url", e.url), ("format", e.format), ("tokenFile", e.tokenFile)] where v != nil {
                    throw ConfigIssue(path: p.key(key), message: "'\(key)' is for http sinks", fix: "remove it, or use 'kind: http'")
                }
                spec.path = path.hasPrefix("/") ? path : parentDirectory(of: file) + "/" + path
                if let fs = e.formats {
                    guard !fs.isEmpty else { throw ConfigIssue(path: p.key("formats"), message: "no formats", fix: "list some of: \(ReportFormat.allCases.map(\.rawValue).joined(separator: ", "))") }
                    spec.formats = try fs.enumerated().map { j, x in try oneOf(x, ReportFormat.self, p.key("formats").index(j), what: "report format") }
                }
            case .postgres:
                guard let url = e.url, let u = URLComponents(string: url), ["postgres", "postgresql"].contains(u.scheme ?? ""),
                      u.host != nil, u.user != nil, !u.path.dropFirst().isEmpty else {
                    throw ConfigIssue(path: p.key("url"), message: "'\(e.url ?? "")' is not a postgres URL",
                                      fix: "give the line database, e.g. 'url: postgres://ferrule@db.line3:5432/results' and its 'passwordFile'")
                }
                for (key, set) in [("path", e.path != nil), ("formats", e.formats != nil), ("format", e.format != nil), ("tokenFile", e.tokenFile != nil)] where set {
                    throw ConfigIssue(path: p.key(key), message: "'\(key)' is not for postgres sinks", fix: "remove it; the database gets the whole report")
                }
                spec.url = url
                if let t = e.passwordFile { spec.passwordFile = t.hasPrefix("/") ? t : parentDirectory(of: file) + "/" + t }
                if let t = e.tls { spec.requireTLS = try oneOf(t, TLSMode.self, p.key("tls"), what: "TLS mode") == .require }
            case .http:
                guard let url = e.url, let u = URL(string: url), ["http", "https"].contains(u.scheme ?? ""), u.host != nil else {
                    throw ConfigIssue(path: p.key("url"), message: "'\(e.url ?? "")' is not an http(s) URL", fix: "give the MES endpoint, e.g. 'url: https://mes.example/api/results'")
                }
                for (key, set) in [("path", e.path != nil), ("formats", e.formats != nil)] where set {
                    throw ConfigIssue(path: p.key(key), message: "'\(key)' is for directory sinks", fix: "remove it; an http sink sends one 'format'")
                }
                spec.url = url
                if let x = e.format { spec.format = try oneOf(x, ReportFormat.self, p.key("format"), what: "report format") }
                if let t = e.tokenFile { spec.tokenFile = t.hasPrefix("/") ? t : parentDirectory(of: file) + "/" + t }
            }
            sinks.append(spec)
        }

        let cords = try referenceCords(f.referenceCords, fixtures: fixtures, root.key("referenceCords"))
        try checkCoverage(recipes: order.map { recipes[$0]! }, cords: cords, fixtures: fixtures, root.key("recipes"))
        return StationConfig(sourcePath: file, stationId: f.station.id, dataDir: f.station.dataDir, instruments: instruments,
                             fixtures: fixtures, recipes: recipes, recipeOrder: order, referenceCords: cords, rules: rules,
                             control: control,
                             sinks: sinks, simulation: simulation, hash: "")
    }

    static func validateRecipe(_ e: RecipeEntry, _ p: ConfigPath) throws -> Recipe {
        guard !e.partNumber.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ConfigIssue(path: p.key("partNumber"), message: "the part number is empty", fix: "give the part number")
        }
        let a = e.assembly, ap = p.key("assembly")
        let layout: MPOLayout
        do { layout = try MPOLayout(fiberCount: a.fibers) } catch {
            throw ConfigIssue(path: ap.key("fibers"), message: error.message, fix: error.fix ?? "")
        }
        let kind = try a.kind.map { try oneOf($0, AssemblyKind.self, ap.key("kind"), what: "assembly kind") } ?? .trunk
        let fiberType = try oneOf(a.fiberType, FiberType.self, ap.key("fiberType"), what: "fiber type")
        func end(_ x: EndEntry, _ ep: ConfigPath) throws -> ConnectorEnd {
            ConnectorEnd(connector: x.connector, polish: try oneOf(x.polish, Polish.self, ep.key("polish"), what: "polish"),
                         gender: try x.gender.map { try oneOf($0, Gender.self, ep.key("gender"), what: "gender") })
        }
        let endA = try end(a.endA, ap.key("endA")), endB = try end(a.endB, ap.key("endB"))
        let polarity: PolaritySpec
        switch (a.polarity, a.polarityMap) {
        case (let t?, nil):
            polarity = .standard(try oneOf(t, PolarityType.self, ap.key("polarity"), what: "polarity type"))
        case (nil, let m?):
            let receive = kind == .trunk ? layout.allPositions : Array(1...layout.fiberCount)
            polarity = .explicit(try polarityMap(m, layout: layout, receivePositions: receive, ap.key("polarityMap")))
        case (nil, nil):
            throw ConfigIssue(path: ap, message: "no polarity given", fix: "add 'polarity: A', 'B' or 'C', or an explicit 'polarityMap'")
        case (_?, _?):
            throw ConfigIssue(path: ap.key("polarityMap"), message: "both 'polarity' and 'polarityMap' are given", fix: "keep one of them")
        }
        if let l = a.lengthM, l <= 0 {
            throw ConfigIssue(path: ap.key("lengthM"), message: "length \(l) m is not positive", fix: "give the length in metres")
        }
        let spec = AssemblySpec(layout: layout, kind: kind, fiberType: fiberType, endA: endA, endB: endB, lengthM: a.lengthM, polarity: polarity)

        let wls = e.wavelengthsNm ?? fiberType.defaultWavelengthsNm
        guard !wls.isEmpty, wls.allSatisfy({ (600...1700).contains($0) }), Set(wls).count == wls.count else {
            throw ConfigIssue(path: p.key("wavelengthsNm"), message: "wavelengths \(wls) are not distinct values in 600...1700 nm",
                              fix: "list wavelengths such as [1310, 1550] (SM) or [850, 1300] (MM)")
        }
        var ilMax: [Int: Double] = [:]
        switch e.limits.ilMaxDb {
        case .all(let v): for wl in wls { ilMax[wl] = v }
        case .each(let m):
            for (k, v) in m {
                guard let wl = Int(k), wls.contains(wl) else {
                    throw ConfigIssue(path: p.key("limits").key("ilMaxDb").key(k), message: "'\(k)' is not one of the recipe's wavelengths \(wls)",
                                      fix: "key the limits by the wavelengths tested")
                }
                ilMax[wl] = v
            }
            if let missing = wls.first(where: { ilMax[$0] == nil }) {
                throw ConfigIssue(path: p.key("limits").key("ilMaxDb"), message: "no IL limit for \(missing) nm", fix: "add '\(missing): <dB>'")
            }
        }
        if let (wl, v) = ilMax.first(where: { $0.value <= 0 || $0.value > 30 }) {
            throw ConfigIssue(path: p.key("limits").key("ilMaxDb"), message: "IL max \(v) dB at \(wl) nm is not in (0, 30]",
                              fix: "give the per-fiber IL limit in dB, e.g. 0.35")
        }
        if let v = e.limits.meanIlMaxDb, v <= 0 {
            throw ConfigIssue(path: p.key("limits").key("meanIlMaxDb"), message: "mean IL max \(v) dB is not positive", fix: "give a positive dB value or remove it")
        }
        let (rlA, rlB) = try returnLossLimits(e.limits.rlMinDb, p.key("limits").key("rlMinDb"))
        let r = e.reference
        let validity = try r?.validity.map { try duration($0, p.key("reference").key("validity"), within: 60...(31 * 86400)) } ?? 8 * 3600
        let tol = r?.negativeIlToleranceDb ?? (fiberType.isSingleMode ? 0.05 : 0.10)
        guard tol >= 0 else {
            throw ConfigIssue(path: p.key("reference").key("negativeIlToleranceDb"), message: "\(tol) is negative", fix: "give the tolerance as a positive dB value")
        }
        let method = try r?.method.map { try oneOf($0, ReferenceMethod.self, p.key("reference").key("method"), what: "reference method") } ?? .oneCord
        return Recipe(partNumber: e.partNumber, description: e.description ?? e.partNumber, assembly: spec, wavelengthsNm: wls,
                      limits: Limits(ilMaxDb: ilMax, meanIlMaxDb: e.limits.meanIlMaxDb, rlMinDb: rlA, rlMinDbB: rlB),
                      reference: ReferencePolicy(validitySeconds: validity, negativeIlToleranceDb: tol, method: method))
    }
}
