import FerruleCore
import FerruleDevices
import Foundation
import NIOConcurrencyHelpers

// A simulated VIAVI MAP-300 with a PCT module, after VIAVI's MAP-PCT Programming Guide
// 22112369-346 R002: the chassis port launches the PCT application, which then takes a
// connection on its own port; the PCT sequences its switches itself and is read out afterwards.

/// Whether the PCT application is up: launched from the chassis, up after the launch time.
public final class PCTApplication: Sendable {
    private let readyAt = NIOLockedValueBox<ContinuousClock.Instant?>(nil)

    public init(running: Bool = false) { if running { readyAt.withLockedValue { $0 = .now } } }

    /// `:SUPer:LAUNch PCT`: up after `ms` (a second launch changes nothing).
    func launch(afterMs ms: Double) {
        readyAt.withLockedValue { if $0 == nil { $0 = .now + .microseconds(Int64(ms * 1000)) } }
    }
    /// Whether the PCT port takes connections.
    public var isUp: Bool { readyAt.withLockedValue { $0.map { ContinuousClock.now >= $0 } ?? false } }
    public var launched: Bool { readyAt.withLockedValue { $0 != nil } }
}

/// The MAP-300 chassis controller (port 8100): system commands only (guide chapter 3).
struct MapChassisModel: SCPIModel {
    let name: String
    let application: PCTApplication
    let applicationPort: Int
    let bench: SimulatedBench
    var identity: String { "VIAVI,MAP-300,SIM-\(name),3.0.1" }
    var ieee4882: Bool { true }

    func execute(_ h: String, _ a: [String], device: SCPIDevice) async -> SCPIResult {
        if SCPIDevice.matches(h, "SUPer:LAUNch") {
            guard a.first == "PCT" else { return .error(-224, "Illegal parameter value") }
            application.launch(afterMs: bench.timing.pctLaunchMs)
            return SCPIResult.none
        }
        if SCPIDevice.matches(h, "SUPer:STATus?") {
            guard a.first == "PCT" else { return .reply("2") }
            return .reply(application.launched ? "1" : "0")
        }
        if SCPIDevice.matches(h, "SUPer:EXIT") { return SCPIResult.none }
        if SCPIDevice.matches(h, "SYSTem:LAYout:PORT?") { return .reply("CMR MAP-300 8100,1 PCT \(applicationPort)") }
        return .error(-113, "Undefined header")
    }
}

/// The PCT module's state on the simulated instrument (one per instrument, used from its device actor).
final class PCTState: @unchecked Sendable {
    var sourceList: [Int] = [1310, 1550]
    var launchPort = 1
    var zones: [Int: [String]] = [:]
    var portMapOn = false
    var sw1: [Int] = []
    var sw2: [Int] = []
    var links: [Int: Int] = [:]
    /// `:PATH:LIST 1,...`: the SW1 channels measured without the Port Map (single MTJ).
    var pathList: [Int] = []
    /// `:PATH:JUMPer:IL` overrides of the launch MTJ per channel, and whether each is in use.
    var ilOverride: [Int: Double] = [:]
    var ilOverrideOn: Set<Int> = []
    var function = 1
    var busyUntil: ContinuousClock.Instant = .now
    var faulted = false
    var warnings: [(Int, String)] = []
    /// The instrument's reference: power per (SW1, SW2, wavelength) path, and per SW1 channel.
    var reference: [String: Double] = [:]
    var launchReference: [String: Double] = [:]
    var referenceResults: [String: String] = [:]
    var dutResults: [String: String] = [:]

    static func key(_ l: Int, _ r: Int, _ wl: Int) -> String { "\(l)/\(r)@\(wl)" }
}

/// The PCT module (port 8300 + slot): the measurement commands of chapter 5.
struct PCTModel: SCPIModel {
    let name: String
    let wavelengths: [Int]
    let channels: Int
    let bench: SimulatedBench
    let state = PCTState()
    var identity: String { "VIAVI,MAP PCT mORL-A1,SIM-\(name),2.1.4" }
    var ieee4882: Bool { true }
    var ownStarCommands: Set<String> { ["*REM", "*ACT?"] }

    func execute(_ h: String, _ a: [String], device: SCPIDevice) async -> SCPIResult {
        let s = state
        if h == "*REM" { return SCPIResult.none }
        if h == "*ACT?" { return .reply("1") }
        if SCPIDevice.matches(h, "MEASure:STATe?") { return .reply(measurementState()) }
        if SCPIDevice.matches(h, "SYSTem:WARNing?") {
            guard !s.warnings.isEmpty else { return .reply("0,\"No warning\"") }
            let (c, t) = s.warnings.removeFirst()
            return .reply("\(c),\"\(t)\"")
        }
        if SCPIDevice.matches(h, "FACTory:CALibration:DATe?") { return .reply("2026.03.02") }
        if SCPIDevice.matches(h, "FACTory:CALibration?") { return .reply("YES") }
        if busy, !SCPIDevice.matches(h, "MEASure:STOP"), !h.hasSuffix("?") { return .error(-205, "Command not valid in current state") }
        if let r = settings(h, a) { return r }
        if let r = portMap(h, a) { return r }
        if SCPIDevice.matches(h, "MEASure:STARt") { return await start(device: device) }
        if SCPIDevice.matches(h, "PMAP:MEASure:ALL") { return await searchPorts() }
        if SCPIDevice.matches(h, "MEASure:STOP") {
            guard busy else { return .error(-205, "Command not valid in current state") }
            s.busyUntil = .now
            s.dutResults = [:]
            return SCPIResult.none
        }
        if SCPIDevice.matches(h, "MEASure:ALL?") { return results(a) }
        return .error(-113, "Undefined header")
    }

    private var busy: Bool { ContinuousClock.now < state.busyUntil }

    /// 5-32: 1 idle, 2 busy, 3 fault (cleared by the next start).
    private func measurementState() -> String { busy ? "2" : (state.faulted ? "3" : "1") }

    private func settings(_ h: String, _ a: [String]) -> SCPIResult? {
        let s = state
        if SCPIDevice.matches(h, "SOURce:LIST") {
            let list = a.compactMap { Int($0) }
            guard !list.isEmpty, list.count == a.count, list.allSatisfy(wavelengths.contains) else {
                return .error(-224, "Illegal parameter value")
            }
            s.sourceList = list
            return SCPIResult.none
        }
        if SCPIDevice.matches(h, "SOURce:LIST?") { return .reply(s.sourceList.map(String.init).joined(separator: ",")) }
        if SCPIDevice.matches(h, "PATH:LAUNch") {
            guard let p = a.first.flatMap(Int.init), p == 1 || p == 2 else { return .error(-224, "Illegal parameter value") }
            s.launchPort = p
            return SCPIResult.none
        }
        if SCPIDevice.matches(h, "PATH:LIST") {  // 5-60: `1,1-10,12`; SW1's list is what a single-MTJ cycle measures
            guard a.count >= 2, a[0] == "1" || a[0] == "2", let list = Self.channelList(a.dropFirst()) else {
                return .error(-224, "Illegal parameter value")
            }
            if a[0] == "1" { s.pathList = list }
            return SCPIResult.none
        }
        if SCPIDevice.matches(h, "MEASure:ORL:SETup") {
            guard let zone = a.first.flatMap(Int.init), zone == 1 || zone == 2, a.count == 2 || a.count == 5,
                  a.count == 2 || (["1", "2"].contains(a[1]) && ["1", "2", "3"].contains(a[2]) && Double(a[3]) != nil
                      && Double(a[4]) != nil)
            else { return .error(-224, "Illegal parameter value") }
            s.zones[zone] = Array(a.dropFirst())
            return SCPIResult.none
        }
        if SCPIDevice.matches(h, "MEASure:ORL:SETup?") { return .reply(s.zones[Int(a.first ?? "") ?? 0]?.joined(separator: ",") ?? "0") }
        if SCPIDevice.matches(h, "SENSe:FUNCtion") {
            guard let f = a.first.flatMap(Int.init), f == 0 || f == 1 else { return .error(-224, "Illegal parameter value") }
            s.function = f
            return SCPIResult.none
        }
        if SCPIDevice.matches(h, "SENSe:FUNCtion?") { return .reply(String(s.function)) }
        for node in ["PATH:JUMPer:IL", "PATH:JUMPer:IL:AUTO", "PATH:JUMPer:LENGth", "PATH:JUMPer:LENGth:AUTO"]
        where SCPIDevice.matches(h, node) {
            guard a.count == 3, let g = Int(a[0]), (1...3).contains(g), let c = Int(a[1]), (1...channels).contains(c),
                  let v = Double(a[2]) else { return .error(-224, "Illegal parameter value") }
            guard g == 1 else { return SCPIResult.none }  // the launch MTJ's are the ones a DUT's IL uses here
            if node == "PATH:JUMPer:IL" { s.ilOverride[c] = v }
            if node == "PATH:JUMPer:IL:AUTO" {
                guard v == 0 || v == 1 else { return .error(-224, "Illegal parameter value") }
                if v == 0 { s.ilOverrideOn.insert(c) } else { s.ilOverrideOn.remove(c) }
            }
            return SCPIResult.none
        }
        return nil
    }

    /// `1-10`, `12`... as a channel list; nil when a part is not a channel or a range.
    static func channelList(_ parts: ArraySlice<String>) -> [Int]? {
        var out: [Int] = []
        for part in parts {
            let ends = part.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard (1...2).contains(ends.count), let from = ends.first!, let to = ends.last!, from >= 1, from <= to else { return nil }
            out += Array(from...to)
        }
        return out
    }

    private func portMap(_ h: String, _ a: [String]) -> SCPIResult? {
        let s = state
        if SCPIDevice.matches(h, "PMAP:ENABle") {
            guard let v = a.first, v == "0" || v == "1" else { return .error(-224, "Illegal parameter value") }
            s.portMapOn = v == "1"
            return SCPIResult.none
        }
        if SCPIDevice.matches(h, "PMAP:SETup:INIT:LIST") {
            guard s.portMapOn else { return .error(-205, "Command not valid in current state") }
            guard a.count == 3, let l1 = ViaviPCTReplies.channels(fromBits: a[0]), let l2 = ViaviPCTReplies.channels(fromBits: a[1]),
                  let mode = Int(a[2]), (0...2).contains(mode), (l1 + l2).allSatisfy({ $0 <= channels }), !l1.isEmpty
            else { return .error(-224, "Illegal parameter value") }
            s.sw1 = l1
            s.sw2 = l2
            s.links = [:]
            if mode == 0 {  // fixed: the k-th SW1 channel with the k-th SW2 channel
                guard l1.count == l2.count else { return .error(-228, "Invalid parameter value for current configuration") }
                s.links = Dictionary(uniqueKeysWithValues: zip(l1, l2).map { ($0, $1) })
            }
            return SCPIResult.none
        }
        if SCPIDevice.matches(h, "PMAP:SETup:LINK") {
            guard a.count == 2, let f = Int(a[0]), let v = Int(a[1]), s.sw1.contains(f), s.sw2.contains(v) else {
                return .error(-228, "Invalid parameter value for current configuration")
            }
            s.links[f] = v
            return SCPIResult.none
        }
        if SCPIDevice.matches(h, "PMAP:PATH:SIZE?") { return .reply(String(s.sw1.count)) }
        if SCPIDevice.matches(h, "PMAP:PATH:LINK?") {
            guard let p = a.first.flatMap(Int.init), (1...max(s.sw1.count, 1)).contains(p), !s.sw1.isEmpty else {
                return .error(-224, "Illegal parameter value")
            }
            let l = s.sw1[p - 1]
            return .reply(s.links[l].map { "\(l),\($0)" } ?? "\(l)")
        }
        return nil
    }
}
