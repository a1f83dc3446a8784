import FerruleConfig
import FerruleCore
import FerruleDevices
import FerruleProtocol
import FerruleRecords
import Foundation
import Logging

// Taking references: the fixture is busy with it, the light goes through every path the cord
// connects, and the result is kept by the `ReferenceKeeper`.
extension Station {
    /// Wavelengths a fixture's reference must cover: every recipe wavelength its source has.
    public func referenceWavelengths(fixture: FixtureWiring) -> [Int] {
        let available = Set(instruments.specs[fixture.source]?.wavelengthsNm ?? [])
        return Set(active.recipes.values.flatMap(\.wavelengthsNm)).intersection(available).sorted()
    }

    /// Start of a shift: a reference with every reference cord that fits the fixture, one cord
    /// after the other (the bench's hands ask for each).
    public func takeReferences(fixture id: Int, operatorId: String? = nil) async throws -> [Reference] {
        guard let w = config.fixtures.first(where: { $0.id == id }) else {
            throw UnitRefused(message: "no fixture \(id)", fix: "use one of \(config.fixtures.map(\.id))")
        }
        var out: [Reference] = []
        for cord in await referenceKeeper.referenceCords where !w.cabled(cord.map).isEmpty {
            out.append(try await takeReference(fixture: id, cord: cord.id, operatorId: operatorId))
        }
        return out
    }

    /// Takes a 1-cord reference with a reference cord mated to the fixture's test cords: every
    /// launch position k the cord connects, read at the receive position the cord lands it on, at
    /// every wavelength. Counts a mating of the reference cord and of both test cords.
    public func takeReference(
        fixture id: Int, cord cordName: String? = nil, operatorId: String? = nil,
        method: ReferenceMethod = .oneCord
    ) async throws -> Reference {
        guard let w = config.fixtures.first(where: { $0.id == id }) else {
            throw UnitRefused(message: "no fixture \(id)", fix: "use one of \(config.fixtures.map(\.id))")
        }
        let cord = try await referenceKeeper.referenceCord(cordName, for: w)
        guard accepting else {
            throw UnitRefused(
                message: "the station is shutting down", fix: "take the reference after ferruled is back", Refusal(.shuttingDown))
        }
        if let use = busy[id] {
            throw UnitRefused(
                message: "fixture \(id) is busy with \(use)", fix: "wait for the unit to finish or abort it",
                Refusal(.fixtureBusy, fixture: id))
        }
        if let problem = await light.lightRefusal(w) { throw problem }
        if await referenceKeeper.cordUse(cord.id, wear: cord.wear, role: .reference).state == .limit {
            throw UnitRefused(
                message: "reference cord \(cord.id) has reached its \(cord.wear.maxMatings) rated matings",
                fix: "replace reference cord \(cord.id), then have a supervisor reset its count",
                Refusal(.cordWorn, fixture: id, cord: cord.id, remedy: Remedy(.resetCord, cord: cord.id)))
        }
        busy[id] = .reference
        defer { busy[id] = nil }
        if let hands { try await hands.connectReferenceCord(fixture: id, cord: cord) }
        let pairs = w.cabled(cord.map)
        let values: [Reference.Value]
        do {
            values = try await measureReference(w, cord: cord, pairs: pairs)
        } catch {
            await light.safeState(w)
            if let hands { await hands.disconnectReferenceCord(fixture: id) }
            if let e = error as? InterlockOpen {
                throw UnitRefused(
                    message: "\(e.description): no reference was taken",
                    fix: "close the lid of fixture \(id) and take the reference again")
            }
            throw error
        }
        await light.safeState(w)
        if let hands { await hands.disconnectReferenceCord(fixture: id) }
        await referenceKeeper.mate([cord.id] + w.testCords.all.map(\.id))
        let launches = pairs.keys.sorted()
        let ref = Reference(
            fixture: id, cord: .init(id: cord.id, polarity: cord.polarityName), method: method, takenAt: now(),
            operatorId: operatorId,
            pairs: (w.sequencer.map { "\($0) referenced itself (its reference mode, measured values, no override) with " } ?? "")
                + "reference cord \(cord.id) (Type \(cord.polarityName)): launch k read at the receive position the "
                + "cord lands it on, "
                + "for k = \(Judge.list(launches)); each IL is computed only against the reference of the path it was "
                + "read on",
            values: values)
        try await checkHealth(ref, cord: cord)
        try await referenceKeeper.keep(ref)
        let done = LineMessage.CalibrationDone(
            fixture: id, cord: cord.id, method: method.rawValue, paths: launches.count,
            wavelengthsNm: Array(Set(values.map(\.wavelengthNm))).sorted())
        await delivery.post(LineMessage(at: ref.takenAt, .calibrationPerformed(done)), logger: logger)
        logger.info("reference taken", metadata: ["fixture": "\(id)", "cord": "\(cord.id)", "values": "\(values.count)"])
        return ref
    }

    /// Refuses a reference that lost light on some path since the last one (a dirty cord): it is
    /// not kept, and the fixture goes on with the reference it had, if that is still valid.
    private func checkHealth(_ ref: Reference, cord: ReferenceCord) async throws {
        let drops = await referenceKeeper.drops(ref, maxDropDb: active.referenceMaxDropDb)
        guard !drops.isEmpty else { return }
        let why = "reference of fixture \(ref.fixture) with cord \(cord.id) not kept: \(ReferenceHealth.describe(drops)) since the "
            + "last reference (more than the \(active.referenceMaxDropDb) dB station.referenceMaxDropDb allows)"
        logger.warning("\(why)")
        throw ReferenceFailed(
            message: why + "; clean reference cord \(cord.id) and the fixture's test cord end faces and take the reference "
                + "again (a reference cord that was replaced: reset its count first, ferrulectl cord reset \(cord.id))")
    }

    private func measureReference(_ w: FixtureWiring, cord: ReferenceCord, pairs: [Int: Int]) async throws -> [Reference.Value] {
        let interlock = Interlock(fixture: w.id, io: w.io.flatMap { instruments.fixtureIO[$0] })
        try await interlock.check()
        let rig: SteppedRig
        switch try FixtureRig(w, in: instruments) {
        case .sequenced(let meter):
            return try await measureSequencedReference(w, meter: meter, cord: cord, pairs: pairs, interlock: interlock)
        case .stepped(let stepped): rig = stepped
        }
        let wls = referenceWavelengths(fixture: w)
        let id = w.id
        var values: [Reference.Value] = []
        for (p, q) in pairs.sorted(by: { $0.key < $1.key }) {
            guard accepting else { throw ReferenceFailed(message: "reference of fixture \(id) stopped: the station is shutting down") }
            let path = try w.path(p, q)
            let (lch, rch) = (path.launchChannel, path.receiveChannel)
            values += try await arbiter.withLease(w.instruments) {
                try await interlock.check()
                try await rig.launch.select(channel: lch)
                try await rig.receive.select(channel: rch)
                var out: [Reference.Value] = []
                for wl in wls {
                    try await interlock.check()
                    try await rig.source.enable(wavelengthNm: wl)
                    let r = try await rig.meter.readPower(wavelengthNm: wl)
                    guard case .dBm(let dbm) = r else { throw Self.noReferenceLight(r, id, cord, p, q, wl) }
                    out.append(
                        .init(
                            position: p, receivePosition: q, launchChannel: lch, receiveChannel: rch, wavelengthNm: wl,
                            powerDbm: Judge.round(dbm, 3)))
                }
                return out
            }
        }
        return values
    }

    static func noReferenceLight(_ r: PowerReading, _ fixture: Int, _ cord: ReferenceCord, _ p: Int, _ q: Int, _ wl: Int)
        -> ReferenceFailed
    {
        ReferenceFailed(
            message: "reference of fixture \(fixture) with cord \(cord.id): \(r) at position \(p) -> \(q), \(wl) nm; "
                + "connect reference cord \(cord.id) (Type \(cord.polarityName)) to fixture \(fixture), clean it and retry")
    }

    /// The instrument takes its own reference over every path the cord connects (the PCT's
    /// reference mode), and what it measured on each path becomes the fixture's reference, kept,
    /// checked and aged like any other.
    private func measureSequencedReference(
        _ w: FixtureWiring, meter: any PathSetMeter, cord: ReferenceCord, pairs: [Int: Int], interlock: Interlock
    ) async throws -> [Reference.Value] {
        let sorted = pairs.sorted { $0.key < $1.key }
        let plan = PathSetPlan(
            launchPort: w.launchPort ?? 1,
            paths: try sorted.map { try w.path($0.key, $0.value) },
            wavelengthsNm: referenceWavelengths(fixture: w))
        let taken = try await arbiter.withLease(w.instruments) {
            try await interlock.check()
            return try await meter.reference(plan)
        }
        var values: [Reference.Value] = []
        for (p, q) in sorted {
            let path = try w.path(p, q)
            let (lch, rch) = (path.launchChannel, path.receiveChannel)
            for wl in plan.wavelengthsNm {
                let r = taken.first { $0.path == InstrumentPath(launchChannel: lch, receiveChannel: rch) && $0.wavelengthNm == wl }
                guard case .dBm(let dbm)? = r?.power else { throw Self.noReferenceLight(r?.power ?? .noLight, w.id, cord, p, q, wl) }
                values.append(.init(
                    position: p, receivePosition: q, launchChannel: lch, receiveChannel: rch, wavelengthNm: wl,
                    powerDbm: Judge.round(dbm, 3)))
            }
        }
        return values
    }
}
