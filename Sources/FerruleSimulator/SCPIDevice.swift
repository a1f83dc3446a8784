import FerruleCore
import FerruleSimSpec
import FerruleDevices
import Foundation

/// What one instrument model does with a command. Headers arrive upper-cased, without a leading ':'.
protocol SCPIModel: Sendable {
    var identity: String { get }
    /// Non-SCPI instruments (DiCon) have no IEEE 488.2 common commands or error queue.
    var ieee4882: Bool { get }
    func execute(_ header: String, _ args: [String], device: SCPIDevice) async -> SCPIResult
    /// The channel a switch command selects (nil: not a move), for faults scoped to a fiber.
    func channel(selectedBy header: String, _ args: [String]) -> Int?
    /// `*` commands of the model's own beyond IEEE 488.2's (the PCT's `*REM`, `*ACT?`).
    var ownStarCommands: Set<String> { get }
}

extension SCPIModel {
    func channel(selectedBy header: String, _ args: [String]) -> Int? { nil }
    var ownStarCommands: Set<String> { [] }
}

enum SCPIResult: Sendable {
    case none
    case reply(String)
    case error(Int, String)
}

/// The IEEE 488.2 side of a simulated instrument: common commands, a FIFO error queue (about
/// 30 deep, -350 as the last entry on overflow, cleared by *CLS) and injectable faults.
public actor SCPIDevice {
    nonisolated public var unownedExecutor: UnownedSerialExecutor { SimulatorThread.actorExecutor }
    public let name: String
    let model: any SCPIModel
    let bench: SimulatedBench
    public internal(set) var fault: WireFault = .none
    public internal(set) var scope = FaultScope()
    /// Set while a line is answered under an `overRange` fault: the models answer their sentinel.
    private(set) var overRangeNow = false
    /// The injected fault that applies to the line being answered (`.none` if none does).
    private(set) var faultNow: WireFault = .none
    private var errors: [(Int, String)] = []
    /// IEEE 488.2 Standard Event Status Register and its enable masks.
    private var esr = 0
    private var ese = 0
    private var sre = 0
    public static let queueDepth = 30
    /// A fixed settling time (tests); nil: the bench's timing for the model.
    var switchSettle: Duration?
    /// Whether the instrument is on a serial line (a pty), whose speed the bench's timing gives.
    var onSerialLine = false
    var busyUntil: ContinuousClock.Instant = .now

    init(name: String, model: any SCPIModel, bench: SimulatedBench) {
        self.name = name
        self.model = model
        self.bench = bench
    }

    public func inject(_ f: WireFault, scope: FaultScope = FaultScope()) {
        fault = f
        self.scope = f == .none ? FaultScope() : scope
    }

    func push(_ code: Int, _ text: String) {
        if errors.count < Self.queueDepth { errors.append((code, text)) } else { errors[Self.queueDepth - 1] = (-350, "Queue overflow") }
        // IEEE 488.2 11.5.1: command errors set bit 5, execution errors bit 4, device-dependent bit 3, query errors bit 2.
        switch code {
        case -199 ... -100: esr |= 32
        case -299 ... -200: esr |= 16
        case -399 ... -300: esr |= 8
        case -499 ... -400: esr |= 4
        default: esr |= 8
        }
    }

    /// Whether the injected fault applies to this line: its command, and the fiber lit now or,
    /// for a switch, the fiber the channel it moves to serves (a switch's one line for a fiber
    /// both moves it and reads its status, and may arrive before the launch switch has moved).
    private func faultApplies(to line: String) async -> Bool {
        guard fault != .none else { return false }
        let parts = line.split(separator: ";").map { Self.split(String($0.trimmingBlanks())) }
        if let command = scope.command {
            let want = Self.split(command).0
            guard parts.contains(where: { $0.0.hasPrefix(want) }) else { return false }
        }
        guard let fiber = scope.fiber, await bench.litFiber(instrument: name) != fiber else { return true }
        for (header, args) in parts {
            if let channel = model.channel(selectedBy: header, args), await bench.fiber(servedBy: name, channel: channel) == fiber {
                return true
            }
        }
        return false
    }

    public var queuedErrors: Int { errors.count }
    /// Lines received, each one exchange (a benchmark divides them by the fibers measured).
    public private(set) var linesHandled = 0

    /// Handles one line; returns the reply line, nil for none, or `.close` semantics via `closeConnection`.
    func handle(_ line: String) async -> (reply: String?, close: Bool) {
        linesHandled += 1
        // An unplugged instrument is gone for every line, whatever the fault's scope.
        let active = await faultApplies(to: line) ? fault : (fault == .unplug ? .unplug : .none)
        switch active {
        case .disconnect: fault = .none; return (nil, true)
        case .unplug: return (nil, true)
        case .garbage: return ("#\u{7}?ERR\u{1}", false)
        default: break
        }
        overRangeNow = active == .overRange
        faultNow = active
        defer { overRangeNow = false; faultNow = .none }
        var replies: [String] = []
        // Several commands may share a line: "CLOSe 3;*OPC?".
        for part in line.split(separator: ";").map({ String($0.trimmingBlanks()) }) where !part.isEmpty {
            let (header, args) = Self.split(part)
            if commonWithArgument(header, args) { continue }
            if let r = await common(header) {
                if let r { replies.append(r) }
                continue
            }
            switch await model.execute(header, args, device: self) {
            case .none: break
            case .reply(let r): replies.append(r)
            case .error(let code, let text): if model.ieee4882 { push(code, text) } else { replies.append("ERR") }
            }
            if active == .queueError { push(-222, "Data out of range") }
        }
        if active == .noReply { return (nil, false) }
        let reply = replies.isEmpty ? nil : replies.joined(separator: ";")
        // Every line costs the instrument its answer time, and a serial line its bytes.
        let bytes = Double(line.utf8.count + 1 + (reply.map { $0.utf8.count + 1 } ?? 0))
        let timing = bench.timing
        let lineMs = onSerialLine ? (timing.serialBytesPerSecond.map { bytes / $0 * 1000 } ?? 0) : 0
        try? await pause(ms: timing.answerMs + lineMs)
        return (reply, false)
    }

    /// IEEE 488.2 common commands, the status registers and the error queue. `nil`: not a common
    /// command. An unknown header, common or not, is -113 "Undefined header".
    private func common(_ header: String) async -> String?? {
        guard model.ieee4882 else { return nil }
        switch header {
        case "*IDN?": return .some(model.identity)
        case "*CLS": errors.removeAll(); esr = 0; return .some(nil)
        case "*RST": errors.removeAll(); esr = 0; ese = 0; sre = 0; return .some(nil)
        case "*OPC?":
            let wait = busyUntil - .now
            if wait > .zero { try? await Task.sleep(for: wait) }
            return .some("1")
        case "*OPC": esr |= 1; return .some(nil)
        case "*WAI":
            let wait = busyUntil - .now
            if wait > .zero { try? await Task.sleep(for: wait) }
            return .some(nil)
        case "*ESR?":
            defer { esr = 0 }  // reading the register clears it
            return .some(String(esr))
        case "*ESE?": return .some(String(ese))
        case "*SRE?": return .some(String(sre))
        case "*STB?": return .some(String(statusByte))
        case "*TST?": return .some("0")  // self-test passed
        case "SYST:ERR?", "SYSTEM:ERROR?", "SYST:ERR:NEXT?", "SYSTEM:ERROR:NEXT?":
            if errors.isEmpty { return .some("0,\"No error\"") }
            let (c, t) = errors.removeFirst()
            return .some("\(c),\"\(t)\"")
        default:
            guard header.hasPrefix("*"), !model.ownStarCommands.contains(header) else { return nil }
            push(-113, "Undefined header")
            return .some(nil)
        }
    }

    /// `*ESE <n>` and `*SRE <n>` carry a number, so they arrive here with their argument.
    private func commonWithArgument(_ header: String, _ args: [String]) -> Bool {
        guard model.ieee4882, header == "*ESE" || header == "*SRE" else { return false }
        guard let v = args.first.flatMap(Int.init), (0...255).contains(v) else {
            push(-224, "Illegal parameter value")
            return true
        }
        if header == "*ESE" { ese = v } else { sre = v & ~64 }
        return true
    }

    /// IEEE 488.2 status byte: bit 2 error queue not empty, bit 5 event summary, bit 6 request service.
    private var statusByte: Int {
        var stb = (errors.isEmpty ? 0 : 4) | ((esr & ese) != 0 ? 32 : 0)
        if stb & sre != 0 { stb |= 64 }
        return stb
    }

    static func split(_ part: String) -> (String, [String]) {
        let trimmed = part.hasPrefix(":") ? String(part.dropFirst()) : part
        guard let space = trimmed.firstIndex(of: " ") else { return (trimmed.uppercased(), []) }
        let args = trimmed[trimmed.index(after: space)...].split(separator: ",").map { String($0.trimmingBlanks()) }
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
    func startSwitching(driver: String) {
        let settle = switchSettle ?? .microseconds(Int64(bench.timing.settleMs(driver) * 1000))
        busyUntil = .now + settle + (fault == .slowSwitch ? .seconds(2) : .zero)
    }
    var switching: Bool { ContinuousClock.now < busyUntil }
}

