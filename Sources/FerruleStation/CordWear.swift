import FerruleConfig
import FerruleCore
import FerruleProtocol
import FerruleRecords
import Foundation
import Logging

// The wear of every cord: matings counted in the store, warned at `warnMatings`, refused at
// `maxMatings` until the cord is replaced (`resetCord`).
extension ReferenceKeeper {
    func loadCordMatings() async {
        do { cordMatings = try await records.store.cordMatings() } catch { await records.storageFailed(error) }
        for (id, n) in cordMatings.sorted(by: { $0.key < $1.key }) {
            guard let wear = cordWear(id), n >= wear.maxMatings else { continue }
            await raiseWorn(id, detail: Self.wornOut(id, n, wear))
        }
    }

    /// The worn cord's fault, under an id made from the cord and when its count started: the
    /// same after a restart, so the MES sees the one fault until the cord's reset clears it.
    func raiseWorn(_ id: String, detail: String) async {
        let since = (try? await records.store.cordsSince())?[id].map { "\($0.timeIntervalSince1970)" } ?? "unknown"
        records.lineFaults.raise(.cordWorn, id, detail: detail, id: CFXUnitMessages.stableID(name: "cord-worn/\(id)/\(since)"))
    }

    static func wornOut(_ id: String, _ matings: Int, _ wear: CordWear) -> String {
        "cord \(id) has \(matings) of its \(wear.maxMatings) rated matings: replace or clean it and reset its count"
    }

    func mate(_ ids: [String]) async {
        guard !ids.isEmpty else { return }
        do { cordMatings = try await records.store.mate(ids, at: now()) } catch {
            await records.storageFailed(error)
            for id in ids { cordMatings[id, default: 0] += 1 }  // counted in memory until the store takes writes
        }
        for id in ids {
            guard let wear = cordWear(id), cordMatings[id] == wear.warnMatings || cordMatings[id] == wear.maxMatings else { continue }
            let state: CordState = cordMatings[id] == wear.maxMatings ? .limit : .warning
            if state == .limit { await raiseWorn(id, detail: Self.wornOut(id, wear.maxMatings, wear)) }
            logger.warning("cord \(id) has \(cordMatings[id] ?? 0) of \(wear.maxMatings) rated matings (\(state))")
            await events.publish(.cordWear(cord: id, matings: cordMatings[id] ?? 0, maxMatings: wear.maxMatings, state: state))
        }
    }

    func cordWear(_ id: String) -> CordWear? {
        referenceCords.first { $0.id == id }?.wear ?? fixtures.flatMap(\.testCords.all).first { $0.id == id }?.wear
    }

    /// A cord's matings so far against its rating, in the role it plays.
    func cordUse(_ id: String, wear: CordWear, role: UnitReport.CordUse.Role) -> UnitReport.CordUse {
        let n = cordMatings[id] ?? 0
        let state: CordState = n >= wear.maxMatings ? .limit : (n >= wear.warnMatings ? .warning : .ok)
        return UnitReport.CordUse(role: role, id: id, matings: n, maxMatings: wear.maxMatings, state: state)
    }

    /// The cords of a fixture's light path: its test cords, then every reference cord that fits it.
    func cordUses(_ w: FixtureWiring) -> [UnitReport.CordUse] {
        var out: [UnitReport.CordUse] = []
        for (role, c) in [(UnitReport.CordUse.Role.launch, w.testCords.launch), (.receive, w.testCords.receive)] {
            guard let c else { continue }
            out.append(cordUse(c.id, wear: c.wear, role: role))
        }
        for c in referenceCords where !w.cabled(c.map).isEmpty {
            out.append(cordUse(c.id, wear: c.wear, role: .reference))
        }
        return out
    }

    /// A fixture whose test cord is worn out refuses units until it is replaced and re-referenced.
    func cordRefusal(_ w: FixtureWiring) -> UnitRefused? {
        guard let worn = cordUses(w).first(where: { $0.role != .reference && $0.state == .limit }) else { return nil }
        return UnitRefused(
            message: "the \(worn.role) test cord \(worn.id) of fixture \(w.id) has reached \(worn.matings) of its "
                + "\(worn.maxMatings) rated matings",
            fix: "replace or clean \(worn.id), have a supervisor reset its count, then take new references on fixture \(w.id)",
            Refusal(.cordWorn, fixture: w.id, cord: worn.id, remedy: Remedy(.resetCord, cord: worn.id)))
    }

    /// A cord replaced or cleaned: its count starts again; a test cord's fixture needs new references.
    public func resetCord(_ id: String, operatorId: String?) async throws(UnitRefused) {
        guard cordWear(id) != nil else {
            let known = referenceCords.map(\.id) + fixtures.flatMap(\.testCords.all).map(\.id)
            throw UnitRefused(message: "no cord '\(Escaped.text(id))'", fix: "use one of: \(known.joined(separator: ", "))")
        }
        do { try await records.store.resetCord(id, at: now()) } catch {
            throw UnitRefused(message: "the reset of \(id) cannot be stored: \(error)", fix: "free disk space, then reset the cord again")
        }
        cordMatings[id] = 0
        records.lineFaults.clear(.cordWorn, id)
        if referenceCords.contains(where: { $0.id == id }) { replacedCords.insert(id) }
        for w in fixtures where w.testCords.all.contains(where: { $0.id == id }) {
            references[w.id] = [:]
            for cord in referenceCords { data.removeReference(fixture: w.id, cord: cord.id) }
            await events.publish(.referenceNeeded(fixture: w.id, reason: "test cord \(id) was replaced or cleaned: take new references"))
        }
        logger.notice("cord \(id) reset by \(Escaped.text(operatorId ?? "?"))")
    }
}
