import FerruleCore
import FerruleDevices
import Foundation

// The simulated PCT's measurements: a reference or a DUT cycle over the Port Map's linked paths,
// the port map's own search, and the results as `:MEASure:ALL?` gives them (guide 5-8).
extension PCTModel {
    /// `:MEASure:STARt` (5-31): takes the cycle's readings from the bench at once and is busy for
    /// as long as the instrument would be; the results are there once it is idle again.
    func start(device: SCPIDevice) async -> SCPIResult {
        let s = state
        s.faulted = false
        // With the Port Map its linked paths; without it (single MTJ) each listed SW1 channel into
        // the receive jumper, written as receive channel 0.
        let paths = s.portMapOn ? s.links.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } : s.pathList.map { ($0, 0) }
        let duration = bench.timing.pctPathMs * Double(max(paths.count, 1) * s.sourceList.count)
        s.busyUntil = .now + .microseconds(Int64(duration * 1000))
        func fault(_ code: Int, _ text: String) -> SCPIResult {
            s.faulted = true
            s.warnings.append((code, text))
            if s.function == 1 { s.dutResults = [:] }
            return .none
        }
        guard !paths.isEmpty else { return fault(-33, "Invalid port map path") }
        if await device.faultNow == .measurementFault { return fault(-38, "Reference detector has too little power") }
        if s.function == 0 {
            var taken: [String: String] = [:]
            for (l, r) in paths { taken["\(l)/\(r)"] = await referenceGroups(l, r) }
            s.referenceResults = taken
            return .none
        }
        var out: [String: String] = [:]
        for (l, r) in paths {
            guard let groups = await dutGroups(l, r) else { return fault(-4, "Reference measurement not taken") }
            out["\(l)/\(r)"] = groups
        }
        s.dutResults = out
        return .none
    }

    private func referenceGroups(_ l: Int, _ r: Int) async -> String {
        var groups: [String] = []
        for wl in state.sourceList {
            let rx = r > 0 ? r : await bench.sequencedReceiveChannel(name, launchChannel: l) ?? 0
            let t = await bench.sequencedPath(name, launchChannel: l, receiveChannel: rx, wavelengthNm: wl)
            guard let p = t.powerDbm, p >= -70 else {
                groups.append("\(wl),-------,,")
                continue
            }
            let pathKey = PCTState.key(l, r, wl), launchKey = "\(l)@\(wl)"
            state.reference[pathKey] = p
            state.launchReference[launchKey] = p
            let offset = bench.settings.sourcePowerDbm - p
            groups.append(String(format: "%d,%.3f,%.3f,%.2f", wl, p, offset, t.lengthM))
        }
        return groups.joined(separator: ",")
    }

    /// A DUT path's groups, nil when the instrument holds no reference for its launch channel.
    private func dutGroups(_ l: Int, _ r: Int) async -> String? {
        var groups: [String] = []
        for wl in state.sourceList {
            // The exact path's reference; else the launch channel's from another path, as a
            // single-jumper reference would give (wrong by the receive channels' difference).
            // An IL override in use stands for the launch jumper's loss against the source's calibrated power.
            let overridden = state.ilOverrideOn.contains(l) ? state.ilOverride[l].map { bench.settings.sourcePowerDbm - $0 } : nil
            guard let ref = overridden ?? state.reference[PCTState.key(l, r, wl)] ?? state.launchReference["\(l)@\(wl)"] else {
                return nil
            }
            let rx = r > 0 ? r : await bench.sequencedReceiveChannel(name, launchChannel: l) ?? 0
            let t = await bench.sequencedPath(name, launchChannel: l, receiveChannel: rx, wavelengthNm: wl)
            if t.overRange {
                groups.append("\(wl),+++++++,,,")
            } else if let p = t.powerDbm, p >= -70 {
                groups.append(String(format: "%d,%.3f,%.2f,%.2f,%.2f", wl, ref - p, t.lengthM, t.returnLoss.a, t.returnLoss.b))
            } else {
                groups.append("\(wl),-------,,,")
            }
        }
        return groups.joined(separator: ",")
    }

    /// `:PMAP:MEASure:ALL` (5-66): finds the SW2 channel of every SW1 channel not yet linked, at
    /// the first wavelength; -31 in the warning queue for each one whose light arrives nowhere.
    func searchPorts() async -> SCPIResult {
        let s = state
        guard s.portMapOn, !s.sw1.isEmpty else { return .error(-205, "Command not valid in current state") }
        s.faulted = false
        let open = s.sw1.filter { s.links[$0] == nil }
        let wl = s.sourceList.first ?? 1310
        for l in open {
            let taken = Set(s.links.values)
            let candidates = s.sw2.filter { !taken.contains($0) }
            if let r = await bench.sequencedArrival(name, launchChannel: l, among: candidates, wavelengthNm: wl) {
                s.links[l] = r
            } else {
                s.warnings.append((-31, "Could not find output port for input channel \(l)"))
            }
        }
        s.busyUntil = .now + .microseconds(Int64(bench.timing.pctPortMapMs * Double(open.count) * 1000))
        return .none
    }

    /// `:MEASure:ALL? <launch>[,<receive>]` for the current mode; empty fields where there is no result.
    func results(_ a: [String]) -> SCPIResult {
        let s = state
        guard let l = a.first.flatMap(Int.init), (1...channels).contains(l), a.count <= 2 else {
            return .error(-224, "Illegal parameter value")
        }
        guard ContinuousClock.now >= s.busyUntil else { return .error(-205, "Command not valid in current state") }
        let r = s.portMapOn ? (a.count == 2 ? Int(a[1]) : s.links[l]) : 0  // single MTJ: the receive channel is ignored
        let stored = s.function == 0 ? s.referenceResults : s.dutResults
        if let r, let groups = stored["\(l)/\(r)"] { return .reply(groups) }
        let empties = s.function == 0 ? ",,," : ",,,,"
        return .reply(s.sourceList.map { "\($0)\(empties)" }.joined(separator: ","))
    }
}
