import FerruleCore
import FerruleDevices
import Foundation

/// A fault a wire-level simulated instrument can be told to have, from config or at run time.
public enum WireFault: String, Sendable, Codable, CaseIterable {
    case none
    /// Reads commands but never answers.
    case noReply
    /// Answers with bytes that are not a reply.
    case garbage
    /// Puts -222,"Data out of range" in the error queue after every command.
    case queueError
    /// Closes the connection on the next line.
    case disconnect
    /// The switch takes 2 s to settle.
    case slowSwitch
    /// The instrument vanishes: connections drop, new ones are refused, a pty's device link is
    /// removed. Injecting `none` plugs it back in.
    case unplug
}

/// What one instrument model does with a command. Headers arrive upper-cased, without a leading ':'.
protocol SCPIModel: Sendable {
    var identity: String { get }
    /// Non-SCPI instruments (DiCon) have no IEEE 488.2 common commands or error queue.
    var ieee4882: Bool { get }
    func execute(_ header: String, _ args: [String], device: SCPIDevice) async -> SCPIResult
}

enum SCPIResult: Sendable {
    case none
    case reply(String)
    case error(Int, String)
}

/// The IEEE 488.2 side of a simulated instrument: common commands, a FIFO error queue (about
/// 30 deep, -350 as the last entry on overflow, cleared by *CLS) and injectable faults.
public actor SCPIDevice {
    public let name: String
    let model: any SCPIModel
    let bench: SimulatedBench
    public internal(set) var fault: WireFault = .none
    private var errors: [(Int, String)] = []
    public static let queueDepth = 30
    var switchSettle: Duration = .zero
    var busyUntil: ContinuousClock.Instant = .now

    init(name: String, model: any SCPIModel, bench: SimulatedBench) {
        self.name = name
        self.model = model
        self.bench = bench
    }

    public func inject(_ f: WireFault) { fault = f }

    func push(_ code: Int, _ text: String) {
        if errors.count < Self.queueDepth { errors.append((code, text)) } else { errors[Self.queueDepth - 1] = (-350, "Queue overflow") }
    }

    public var queuedErrors: Int { errors.count }

    /// Handles one line; returns the reply line, nil for none, or `.close` semantics via `closeConnection`.
    func handle(_ line: String) async -> (reply: String?, close: Bool) {
        switch fault {
        case .disconnect: fault = .none; return (nil, true)
        case .unplug: return (nil, true)
        case .garbage: return ("#\u{7}?ERR\u{1}", false)
        default: break
        }
        var replies: [String] = []
        // Several commands may share a line: "CLOSe 3;*OPC?".
        for part in line.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            let (header, args) = Self.split(part)
            if let r = await common(header) {
                if let r { replies.append(r) }
                continue
            }
            switch await model.execute(header, args, device: self) {
            case .none: break
            case .reply(let r): replies.append(r)
            case .error(let code, let text): if model.ieee4882 { push(code, text) } else { replies.append("ERR") }
            }
            if fault == .queueError { push(-222, "Data out of range") }
        }
        if fault == .noReply { return (nil, false) }
        return (replies.isEmpty ? nil : replies.joined(separator: ";"), false)
    }

    /// IEEE 488.2 common commands and the error queue. `nil`: not a common command.
    private func common(_ header: String) async -> String?? {
        guard model.ieee4882 else { return nil }
        switch header {
        case "*IDN?": return .some(model.identity)
        case "*CLS": errors.removeAll(); return .some(nil)
        case "*RST": errors.removeAll(); return .some(nil)
        case "*OPC?":
            let wait = busyUntil - .now
            if wait > .zero { try? await Task.sleep(for: wait) }
            return .some("1")
        case "*ESR?": return .some(errors.isEmpty ? "0" : "32")
        case "SYST:ERR?", "SYSTEM:ERROR?", "SYST:ERR:NEXT?", "SYSTEM:ERROR:NEXT?":
            if errors.isEmpty { return .some("0,\"No error\"") }
            let (c, t) = errors.removeFirst()
            return .some("\(c),\"\(t)\"")
        default:
            return header.hasPrefix("*") ? .some(nil) : nil
        }
    }

    static func split(_ part: String) -> (String, [String]) {
        let trimmed = part.hasPrefix(":") ? String(part.dropFirst()) : part
        guard let space = trimmed.firstIndex(of: " ") else { return (trimmed.uppercased(), []) }
        let args = trimmed[trimmed.index(after: space)...].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return (String(trimmed[..<space]).uppercased(), args)
    }

    /// SCPI mnemonic match: each node in its short form (the pattern's capitals) or long form.
    static func matches(_ header: String, _ pattern: String) -> Bool {
        let h = header.split(separator: ":"), p = pattern.split(separator: ":")
        guard h.count == p.count else { return false }
        for (hn, pn) in zip(h, p) {
            let query = pn.hasSuffix("?")
            guard hn.hasSuffix("?") == query else { return false }
            let hw = query ? hn.dropLast() : hn[...], pw = query ? pn.dropLast() : pn[...]
            let short = pw.filter { $0.isUppercase || $0.isNumber || $0 == "*" }  // SENSe1 -> SENS1
            let long = pw.uppercased()
            let hu = hw.uppercased()
            guard hu == long || (!short.isEmpty && hu == String(short)) else { return false }
        }
        return true
    }

    // Helpers for models.
    func startSwitching() { busyUntil = .now + switchSettle + (fault == .slowSwitch ? .seconds(2) : .zero) }
    var switching: Bool { ContinuousClock.now < busyUntil }
}

// MARK: - Models of real command sets

/// Santec RL1 IL/RL meter.
struct RL1Model: SCPIModel {
    let name: String
    let wavelengths: [Int]
    let bench: SimulatedBench
    let refs = RefStore()
    var identity: String { "SANTEC,RL1,SIM-\(name),1.00.00" }
    var ieee4882: Bool { true }

    final class RefStore: @unchecked Sendable {  // used from the owning device actor only
        var il: [Int: Double] = [:]
        var sensitivity = "FAST"
        var dutLength = 100
    }

    func execute(_ h: String, _ a: [String], device: SCPIDevice) async -> SCPIResult {
        func wl(_ i: Int = 0) -> Int? { a.count > i ? Int(a[i].filter(\.isNumber)) : nil }
        if SCPIDevice.matches(h, "LAS:ENAB") {
            guard let w = wl(), wavelengths.contains(w) else { return .error(-222, "Data out of range") }
            await bench.setSource(name, wavelengthNm: w)
            return .none
        }
        if SCPIDevice.matches(h, "LAS:DISAB") { await bench.setSource(name, wavelengthNm: nil); return .none }
        if SCPIDevice.matches(h, "REF:IL:det1") {
            guard let w = wl(), a.count == 2, let v = Double(a[1]) else { return .error(-109, "Missing parameter") }
            refs.il[w] = v
            return .none
        }
        if SCPIDevice.matches(h, "REF:RL") { return .none }
        if SCPIDevice.matches(h, "RL:SENS") {
            guard let m = a.first?.uppercased(), ["FAST", "STANDARD"].contains(m) else { return .error(-224, "Illegal parameter value") }
            refs.sensitivity = m
            return .none
        }
        if SCPIDevice.matches(h, "DUT:LENGTH") {
            guard let l = a.first.flatMap(Int.init), [100, 1500, 4000].contains(l) else { return .error(-224, "Illegal parameter value") }
            refs.dutLength = l
            return .none
        }
        if SCPIDevice.matches(h, "READ:IL:det1?") {
            guard let w = wl() else { return .error(-109, "Missing parameter") }
            switch await bench.readPower(meter: name, wavelengthNm: w) {
            case .dBm(let p): return .reply(String(format: "%.4f", (refs.il[w] ?? 0) - p))
            case .noLight: return .reply("+9.9E+37")
            case .overRange: return .reply("-9.9E+37")
            }
        }
        if SCPIDevice.matches(h, "READ:RL?") {
            guard wl() != nil else { return .error(-109, "Missing parameter") }
            guard let rla = await bench.readReturnLoss(meter: name, wavelengthNm: wl()!) else { return .error(-230, "Data corrupt or stale") }
            let rlb = rla + 12
            let total = -10 * log10(pow(10, -rla / 10) + pow(10, -rlb / 10))
            return .reply(String(format: "%.2f,%.2f,%.2f,%.1f", rla, rlb, total, 3.0))
        }
        if SCPIDevice.matches(h, "READ:BARC?") { return .reply("\"\"") }
        return .error(-113, "Undefined header")
    }
}

/// Santec OSX optical switch.
struct OSXModel: SCPIModel {
    let name: String
    let channels: Int
    let bench: SimulatedBench
    var identity: String { "SANTEC,OSX-100,SIM-\(name),2.3.0" }
    var ieee4882: Bool { true }

    func execute(_ h: String, _ a: [String], device: SCPIDevice) async -> SCPIResult {
        if SCPIDevice.matches(h, "CLOSe") || h.range(of: #"^ROUT(E)?\d*:CHAN(NEL)?$"#, options: .regularExpression) != nil {
            guard let ch = a.last.flatMap(Int.init), (1...channels).contains(ch) else { return .error(-222, "Data out of range") }
            await bench.setSwitch(name, channel: ch)
            await device.startSwitching()
            return .none
        }
        if SCPIDevice.matches(h, "CLOSe?") { return .reply(String(await bench.switchChannel(name) ?? 0)) }
        if SCPIDevice.matches(h, "MODule:CATalog?") { return .reply("\"SX 1Ax\(channels)\"") }
        if SCPIDevice.matches(h, "STATus:OPERation:CONDition?") { return .reply(await device.switching ? "1" : "0") }
        return .error(-113, "Undefined header")
    }
}

/// Keysight 816x power meter.
struct KeysightModel: SCPIModel {
    let name: String
    let bench: SimulatedBench
    let state = State()
    var identity: String { "Keysight Technologies,N7744C,SIM-\(name),1.2.3" }
    var ieee4882: Bool { true }

    final class State: @unchecked Sendable {  // used from the owning device actor only
        var wavelength = 1550
        var dBm = false
    }

    func execute(_ h: String, _ a: [String], device: SCPIDevice) async -> SCPIResult {
        if SCPIDevice.matches(h, "SENSe1:POWer:WAVelength") {
            guard let v = a.first, let n = Double(v.lowercased().replacingOccurrences(of: "nm", with: "")), (600...1700).contains(n) else {
                return .error(-222, "Data out of range")
            }
            state.wavelength = Int(n)
            return .none
        }
        if SCPIDevice.matches(h, "SENSe1:POWer:UNIT") {
            guard let v = a.first, v == "0" || v == "1" else { return .error(-224, "Illegal parameter value") }
            state.dBm = v == "0"
            return .none
        }
        if SCPIDevice.matches(h, "SENSe1:POWer:ATIMe") { return .none }
        if SCPIDevice.matches(h, "READ1:POWer?") || SCPIDevice.matches(h, "FETCh1:POWer?") {
            switch await bench.readPower(meter: name, wavelengthNm: state.wavelength) {
            case .dBm(let p):
                return .reply(state.dBm ? String(format: "%+.8E", p) : String(format: "%+.8E", pow(10, p / 10) / 1000))
            case .noLight: return .reply(state.dBm ? "-2.00000000E+002" : "+0.00000000E+000")
            case .overRange: return .reply("+9.91000000E+037")
            }
        }
        return .error(-113, "Undefined header")
    }
}

/// DiCon MEMS switch (not SCPI: no common commands, no error queue, commands have no reply).
struct DiConModel: SCPIModel {
    let name: String
    let channels: Int
    let bench: SimulatedBench
    var identity: String { "DiCon,MEMS 1x\(channels),SIM-\(name),2.1" }
    var ieee4882: Bool { false }

    func execute(_ h: String, _ a: [String], device: SCPIDevice) async -> SCPIResult {
        switch h {
        case "ID?": return .reply(identity)
        case "I1":
            guard let ch = a.first.flatMap(Int.init), (1...channels).contains(ch) else { return .error(0, "") }
            await bench.setSwitch(name, channel: ch)
            return .none
        case "I1?": return .reply(String(await bench.switchChannel(name) ?? 0))
        case "PK": await bench.parkSwitch(name); return .none
        default: return .error(0, "")
        }
    }
}
