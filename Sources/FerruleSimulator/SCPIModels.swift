import FerruleCore
import Foundation

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
            try? await pause(ms: bench.timing.meterAveragingMs)
            let detector = await bench.readPower(meter: name, wavelengthNm: w)
            if await device.overRangeNow { return .reply("-9.9E+37") }
            // The RL1 shows IL against its reference; its detector bottoms out near -75 dBm, and
            // nothing at all (or noise below zero) is an infinite loss, SCPI's +9.9E37.
            switch detector {
            case .overRange: return .reply("-9.9E+37")
            case .watts(let w) where w <= Optics.dBmToWatts(-75): return .reply("+9.9E+37")
            case .watts(let w): return .reply(String(format: "%.4f", (refs.il[wl()!] ?? 0) - 10 * log10(w * 1000)))
            }
        }
        if SCPIDevice.matches(h, "READ:RL?") {
            guard let w = wl() else { return .error(-109, "Missing parameter") }
            try? await pause(ms: bench.timing.rlMeasurementMs)
            guard let (rla, rlb) = await bench.readReturnLoss(meter: name, wavelengthNm: w) else { return .error(-230,
                "Data corrupt or stale") }
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
        if Self.moves(h) {
            guard let ch = a.last.flatMap(Int.init), (1...channels).contains(ch) else { return .error(-222, "Data out of range") }
            await bench.setSwitch(name, channel: ch)
            await device.startSwitching(driver: WireModel.santecOSX.rawValue)
            return .none
        }
        if SCPIDevice.matches(h, "CLOSe?") { return .reply(String(await bench.switchChannel(name) ?? 0)) }
        if SCPIDevice.matches(h, "MODule:CATalog?") { return .reply("\"SX 1Ax\(channels)\"") }
        if SCPIDevice.matches(h, "STATus:OPERation:CONDition?") { return .reply(await device.switching ? "1" : "0") }
        return .error(-113, "Undefined header")
    }

    func channel(selectedBy h: String, _ a: [String]) -> Int? { Self.moves(h) ? a.last.flatMap(Int.init) : nil }

    /// `CLOSe <ch>` or `ROUTe<m>:CHANnel <ch>`.
    static func moves(_ h: String) -> Bool {
        SCPIDevice.matches(h, "CLOSe") || h.range(of: #"^ROUT(E)?\d*:CHAN(NEL)?$"#, options: .regularExpression) != nil
    }
}

/// Keysight 8164B mainframe: a laser module in `sourceSlot` (slot 0 is the built-in one) and a
/// power meter module in `meterSlot`/`meterChannel`. Commands address their slot and channel
/// (`:SOUR0:WAV 1310NM`, `:SENS1:CHAN1:POW:WAV 1310NM`, `:READ1:CHAN1:POW?`); a slot with no
/// module answers -241 "Hardware missing". Readings in watts (noise included: a dark detector
/// reads a tiny power around zero), or dBm with `:POW:UNIT 0`; over range is +9.91E37.
struct KeysightModel: SCPIModel {
    let name: String
    let bench: SimulatedBench
    let slots: KeysightSimSlots
    let wavelengths: [Int]
    let state = State()
    var identity: String { "Keysight Technologies,8164B,SIM-\(name),V5.25(72637)" }
    var ieee4882: Bool { true }

    final class State: @unchecked Sendable {  // used from the owning device actor only
        var wavelength = 1550
        var dBm = false
        var sourceWavelength: Int?
        var sourceOn = false
    }

    /// Splits `SENS1:CHAN1:POW:WAV` into (slot 1, channel 1, "POW:WAV"); the channel defaults to 1.
    static func address(_ h: String, _ root: String) -> (slot: Int, channel: Int, rest: String)? {
        let pattern = "^" + root + #"(\d*)(?::CHAN(?:NEL)?(\d+))?:(.+)$"#
        guard let m = h.firstMatch(of: try! Regex(pattern)) else { return nil }
        let slot = Int((m.output[1].substring ?? "").isEmpty ? "1" : String(m.output[1].substring!)) ?? 1
        let channel = m.output[2].substring.flatMap { Int($0) } ?? 1
        return (slot, channel, String(m.output[3].substring ?? ""))
    }

    func execute(_ h: String, _ a: [String], device: SCPIDevice) async -> SCPIResult {
        if let (slot, _, rest) = Self.address(h, "SOUR(?:CE)?") { return await source(slot, rest, a) }
        if let (slot, ch, rest) = Self.address(h, "SENS(?:E)?") {
            guard slot == slots.meterSlot, ch == slots.meterChannel else { return .error(-241, "Hardware missing") }
            return sense(rest, a)
        }
        if let (slot, ch, rest) = Self.address(h, "(?:READ|FETC(?:H)?)"), rest == "POW?" || rest == "POWER?" {
            guard slot == slots.meterSlot, ch == slots.meterChannel else { return .error(-241, "Hardware missing") }
            try? await pause(ms: bench.timing.meterAveragingMs)
            let detector = await bench.readPower(meter: name, wavelengthNm: state.wavelength)
            if await device.overRangeNow { return .reply("+9.91000000E+037") }
            switch detector {
            case .overRange: return .reply("+9.91000000E+037")
            case .watts(let w) where state.dBm: return .reply(w > 0 ? String(format: "%+.8E", 10 * log10(w * 1000)) : "-2.00000000E+002")
            case .watts(let w): return .reply(String(format: "%+.8E", w))
            }
        }
        return .error(-113, "Undefined header")
    }

    /// `1310NM`, `1310nm` or `1.31E-6` (metres, as the 816x also takes): whole nanometres.
    static func nanometres(_ text: String?) -> Int? {
        guard let t = text?.uppercased() else { return nil }
        if t.hasSuffix("NM"), let n = Double(t.dropLast(2)) { return Int(n.rounded()) }
        guard let v = Double(t) else { return nil }
        return Int((v < 1 ? v * 1e9 : v).rounded())
    }

    private func source(_ slot: Int, _ rest: String, _ a: [String]) async -> SCPIResult {
        guard slot == slots.sourceSlot else { return .error(-241, "Hardware missing") }
        switch rest {
        case "WAV", "WAVELENGTH":
            guard let n = Self.nanometres(a.first), wavelengths.contains(n) else { return .error(-222, "Data out of range") }
            state.sourceWavelength = n
            if state.sourceOn { await bench.setSource(name, wavelengthNm: n) }
            return .none
        case "POW:STAT", "POWER:STATE":
            guard let v = a.first?.uppercased(), ["0", "1", "ON", "OFF"].contains(v) else { return .error(-224, "Illegal parameter value") }
            state.sourceOn = v == "1" || v == "ON"
            await bench.setSource(name, wavelengthNm: state.sourceOn ? (state.sourceWavelength ?? wavelengths.first) : nil)
            return .none
        case "POW:STAT?", "POWER:STATE?": return .reply(state.sourceOn ? "1" : "0")
        default: return .error(-113, "Undefined header")
        }
    }

    private func sense(_ rest: String, _ a: [String]) -> SCPIResult {
        switch rest {
        case "POW:WAV", "POWER:WAVELENGTH":
            guard let n = Self.nanometres(a.first), (600...1700).contains(n) else { return .error(-222, "Data out of range") }
            state.wavelength = n
            return .none
        case "POW:UNIT", "POWER:UNIT":
            guard let v = a.first, v == "0" || v == "1" else { return .error(-224, "Illegal parameter value") }
            state.dBm = v == "0"
            return .none
        case "POW:ATIM", "POWER:ATIME":
            guard let v = a.first, Double(v.uppercased().replacingOccurrences(of: "S", with: "")) != nil else {
                return .error(-224, "Illegal parameter value")
            }
            return .none
        default: return .error(-113, "Undefined header")
        }
    }
}

/// Where the simulated 8164B's modules sit.
public struct KeysightSimSlots: Sendable, Hashable {
    public var sourceSlot: Int?
    public var meterSlot: Int
    public var meterChannel: Int

    public init(sourceSlot: Int? = nil, meterSlot: Int = 1, meterChannel: Int = 1) {
        self.sourceSlot = sourceSlot
        self.meterSlot = meterSlot
        self.meterChannel = meterChannel
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
            // A MEMS move is short and synchronous: the next line waits for it.
            if await bench.switchChannel(name) != ch {
                await bench.setSwitch(name, channel: ch)
                try? await pause(ms: bench.timing.settleMs(WireModel.diconMEMS.rawValue))
            }
            return .none
        case "I1?": return .reply(String(await bench.switchChannel(name) ?? 0))
        case "PK": await bench.parkSwitch(name); return .none
        default: return .error(0, "")
        }
    }

    func channel(selectedBy h: String, _ a: [String]) -> Int? { h == "I1" ? a.first.flatMap(Int.init) : nil }
}
