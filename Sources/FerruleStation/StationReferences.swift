import FerruleCore
import FerruleRecords
import Foundation
import Logging

// References by cord and path, and the wear of every cord. A fixture holds one reference per
// reference cord; a unit uses every valid one, and each IL only against the exact path it was read on.
extension Station {
    /// A fixture's references, newest first.
    public func references(fixture: Int) -> [Reference] {
        (references[fixture] ?? [:]).values.sorted { $0.takenAt > $1.takenAt }
    }

    /// The newest reference of a fixture (any cord).
    public func reference(fixture: Int) -> Reference? { references(fixture: fixture).first }

    /// Wavelengths a fixture's reference must cover: every recipe wavelength its source has.
    public func referenceWavelengths(fixture: FixtureWiring) -> [Int] {
        let available = Set(instruments.specs[fixture.source]?.wavelengthsNm ?? [])
        return Set(active.recipes.values.flatMap(\.wavelengthsNm)).intersection(available).sorted()
    }

    /// The cord named by id, or by polarity (`A`, `B`, `C`: the one such cord that fits the
    /// fixture); nil picks the fixture's straight cord when it has exactly one.
    func referenceCord(_ name: String?, for w: FixtureWiring) throws(UnitRefused) -> ReferenceCord {
        let cords = active.referenceCords
        if let name, let c = cords.first(where: { $0.id == name }) {
            guard !w.cabled(c.map).isEmpty else {
                throw UnitRefused(message: "reference cord \(c.id) does not fit fixture \(w.id)",
                    fix: "use a cord the fixture is cabled for")
            }
            return c
        }
        let wanted = name?.uppercased() ?? "A"
        guard PolarityType(rawValue: wanted) != nil || wanted == "EXPLICIT" else {
            throw UnitRefused(message: "no reference cord '\(Escaped.text(name ?? ""))'",
                              fix: "name a cord by id or polarity: "
                                  + "\(cords.map { "\($0.id) (\($0.polarityName))" }.joined(separator: ", "))")
        }
        let fitting = cords.filter { $0.polarityName.uppercased() == wanted && !w.cabled($0.map).isEmpty }
        guard fitting.count == 1 else {
            throw UnitRefused(message: fitting.isEmpty ? "fixture \(w.id) has no reference cord of polarity \(wanted)"
                                  : "fixture \(w.id) has \(fitting.count) reference cords of polarity \(wanted)",
                              fix: "name the cord by id: \(cords.map { "\($0.id) (\($0.polarityName))" }.joined(separator: ", "))")
        }
        return fitting[0]
    }

    /// Start of a shift: a reference with every reference cord that fits the fixture, one cord
    /// after the other (the bench's hands ask for each).
    public func takeReferences(fixture id: Int, operatorId: String? = nil) async throws -> [Reference] {
        guard let w = config.fixtures.first(where: { $0.id == id }) else {
            throw UnitRefused(message: "no fixture \(id)", fix: "use one of \(config.fixtures.map(\.id))")
        }
        var out: [Reference] = []
        for cord in active.referenceCords where !w.cabled(cord.map).isEmpty {
            out.append(try await takeReference(fixture: id, cord: cord.id, operatorId: operatorId))
        }
        return out
    }

    /// Takes a 1-cord reference with a reference cord mated to the fixture's test cords: every
    /// launch position k the cord connects, read at the receive position the cord lands it on, at
    /// every wavelength. Counts a mating of the reference cord and of both test cords.
    public func takeReference(fixture id: Int, cord cordName: String? = nil, operatorId: String? = nil,
                              method: ReferenceMethod = .oneCord) async throws -> Reference {
        guard let w = config.fixtures.first(where: { $0.id == id }) else {
            throw UnitRefused(message: "no fixture \(id)", fix: "use one of \(config.fixtures.map(\.id))")
        }
        let cord = try referenceCord(cordName, for: w)
        guard accepting else {
            throw UnitRefused(message: "the station is shutting down", fix: "take the reference after ferruled is back")
        }
        if let use = busy[id] {
            throw UnitRefused(message: "fixture \(id) is busy with \(use)", fix: "wait for the unit to finish or abort it")
        }
        if let problem = await light.lightRefusal(w) { throw problem }
        if cordState(cord.id, wear: cord.wear).state == "limit" {
            throw UnitRefused(message: "reference cord \(cord.id) has reached its \(cord.wear.maxMatings) rated matings",
                              fix: "replace reference cord \(cord.id), then 'ferrulectl cord reset \(cord.id)'")
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
                throw UnitRefused(message: "\(e.description): no reference was taken",
                    fix: "close the lid of fixture \(id) and take the reference again")
            }
            throw error
        }
        await light.safeState(w)
        if let hands { await hands.disconnectReferenceCord(fixture: id) }
        await mate([cord.id] + w.testCords.all.map(\.id))
        let launches = pairs.keys.sorted()
        let ref = Reference(fixture: id, cord: .init(id: cord.id, polarity: cord.polarityName), method: method, takenAt: now(),
                            operatorId: operatorId,
                            pairs: "reference cord \(cord.id) (Type \(cord.polarityName)): launch k read at the receive position the "
                                + "cord lands it on, "
                                + "for k = \(Judge.list(launches)); each IL is computed only against the reference of the path it was "
                                    + "read on",
                            values: values)
        try data.save(ref)
        try? await store.save(ref)  // the history of references; the file above is the one in use
        references[id, default: [:]][cord.id] = ref
        logger.info("reference taken", metadata: ["fixture": "\(id)", "cord": "\(cord.id)", "values": "\(values.count)"])
        await events.publish(.referenceTaken(fixture: id, takenAt: ref.takenAt))
        return ref
    }

    private func measureReference(_ w: FixtureWiring, cord: ReferenceCord, pairs: [Int: Int]) async throws -> [Reference.Value] {
        let interlock = Interlock(fixture: w.id, io: w.io.flatMap { instruments.fixtureIO[$0] })
        try await interlock.check()
        let wls = referenceWavelengths(fixture: w), ins = instruments, id = w.id
        var values: [Reference.Value] = []
        for (p, q) in pairs.sorted(by: { $0.key < $1.key }) {
            guard accepting else { throw ReferenceFailed(message: "reference of fixture \(id) stopped: the station is shutting down") }
            values += try await arbiter.withLease(w.instruments) {
                let lch = w.launchChannels[p]!, rch = w.receiveChannels[q]!
                try await interlock.check()
                try await ins.switches[w.launchSwitch]!.select(channel: lch)
                try await ins.switches[w.receiveSwitch]!.select(channel: rch)
                var out: [Reference.Value] = []
                for wl in wls {
                    try await interlock.check()
                    try await ins.sources[w.source]!.enable(wavelengthNm: wl)
                    let r = try await ins.powerMeters[w.powerMeter]!.readPower(wavelengthNm: wl)
                    guard case .dBm(let dbm) = r else {
                        throw ReferenceFailed(message: "reference of fixture \(id) with cord \(cord.id): \(r) at position \(p) -> "
                            + "\(q), \(wl) nm; "
                                                  + "connect reference cord \(cord.id) (Type \(cord.polarityName)) to fixture \(id), "
                                                      + "clean it and retry")
                    }
                    out.append(.init(position: p, receivePosition: q, launchChannel: lch, receiveChannel: rch, wavelengthNm: wl,
                                     powerDbm: Judge.round(dbm, 3)))
                }
                return out
            }
        }
        return values
    }

    /// The references a recipe may use on a fixture, or why the unit is refused.
    func referenceBook(_ w: FixtureWiring, recipe: Recipe) -> Result<ReferenceBook, UnitRefused> {
        let id = w.id, t = now()
        var valid: [Reference] = [], why: [String] = []
        for r in references(fixture: id) {
            let age = t.timeIntervalSince(r.takenAt)
            if let s = r.suspect { why.append("the reference with \(r.cord.id) is suspect: \(s)"); continue }
            if age > recipe.reference.validitySeconds {
                why.append("the reference with \(r.cord.id) expired: taken \(Durations.words(age)) ago, "
                           + "\(recipe.partNumber) allows \(Durations.words(recipe.reference.validitySeconds))")
                continue
            }
            if age < -60 { why.append("the reference with \(r.cord.id) is dated in the future (\(r.takenAt)): check the station "
                + "clock"); continue }
            valid.append(r)
        }
        let book = ReferenceBook(valid)
        let missing = book.uncovered(recipe.assembly.expectedMap(), wavelengthsNm: recipe.wavelengthsNm)
        guard let first = missing.first else { return .success(book) }
        let kind = recipe.assembly.polarity.standardType?.rawValue
        let cord = active.referenceCords.first { c in
            c.polarityName == (kind ?? "explicit") && missing.allSatisfy { c.map[$0.launch] == $0.receive }
        }
        let polarityText = kind.map { "a Type \($0)" } ?? "a"
        let message = references(fixture: id).isEmpty ? "fixture \(id) has no reference"
            : "no valid reference of fixture \(id) covers the path \(first.launch) -> \(first.receive) at \(first.wavelengthNm) nm "
                + "that \(recipe.partNumber) needs" + (why.isEmpty ? "" : " (\(why.joined(separator: "; ")))")
        let command = "ferrulectl reference --fixture \(id) --cord \(cord?.id ?? kind ?? "CORD")"
        let which = cord.map { "reference cord \($0.id) (\(polarityText) cord)" } ?? "\(polarityText) reference cord"
        return .failure(UnitRefused(message: message, fix: "connect \(which) to fixture \(id) and take a reference (\(command))"))
    }

    /// The references a unit's IL is computed against, with the values its paths use.
    /// Before the unit: the references its expected paths need. After: also those of every path
    /// it was read on (a polarity fault can land light on a path another cord covers).
    static func referencesUsed(_ book: ReferenceBook, recipe: Recipe, steps: [RawStep] = []) -> [UnitReport.ReferenceUsed] {
        let map = recipe.assembly.expectedMap(), wls = Set(recipe.wavelengthsNm)
        var paths = Set(map.pairs.map { "\($0.key)>\($0.value)" })
        for s in steps where s.referenceCord != nil { paths.insert("\(s.fiber)>\(s.receivePosition)") }
        let cords = Set(book.used(by: map, wavelengthsNm: recipe.wavelengthsNm).map(\.cord.id) + steps.compactMap(\.referenceCord))
        return book.references.filter { cords.contains($0.cord.id) }.map { r in
            UnitReport.ReferenceUsed(cord: r.cord, method: r.method, takenAt: r.takenAt,
                                     validUntil: r.takenAt.addingTimeInterval(recipe.reference.validitySeconds), pairs: r.pairs,
                                     values: r.values.filter { v in
                                         wls.contains(v.wavelengthNm) && paths.contains("\(v.position)>\(v.receivePosition)")
                                     })
        }
    }

    /// After a unit showed a negative IL beyond the tolerance the bench no longer matches its
    /// references (the source drifted, a test cord was disturbed): none of the fixture's references
    /// is used again until they are taken anew.
    func markSuspect(_ judgement: Judgement, fixture: Int, recipe: Recipe, serial: String) async {
        let tol = recipe.reference.negativeIlToleranceDb
        let why = "negative IL beyond \(tol) dB on unit \(Escaped.text(serial))"
        for (cord, var r) in references[fixture] ?? [:] where r.suspect == nil {
            r.suspect = why
            references[fixture]?[cord] = r
            try? data.save(r)
        }
        await events.publish(.referenceNeeded(fixture: fixture, reason: "\(why): take new references on fixture \(fixture)"))
    }

    // MARK: Cords

    func loadCordMatings() async {
        do { cordMatings = try await store.cordMatings() } catch { await records.storageFailed(error) }
    }

    func mate(_ ids: [String]) async {
        guard !ids.isEmpty else { return }
        do { cordMatings = try await store.mate(ids, at: now()) } catch {
            await records.storageFailed(error)
            for id in ids { cordMatings[id, default: 0] += 1 }  // counted in memory until the store takes writes
        }
        for id in ids {
            guard let wear = cordWear(id), cordMatings[id] == wear.warnMatings || cordMatings[id] == wear.maxMatings else { continue }
            let state = cordMatings[id] == wear.maxMatings ? "limit" : "warning"
            logger.warning("cord \(id) has \(cordMatings[id] ?? 0) of \(wear.maxMatings) rated matings (\(state))")
            await events.publish(.cordWear(cord: id, matings: cordMatings[id] ?? 0, maxMatings: wear.maxMatings, state: state))
        }
    }

    func cordWear(_ id: String) -> CordWear? {
        active.referenceCords.first { $0.id == id }?.wear ?? config.fixtures.flatMap(\.testCords.all).first { $0.id == id }?.wear
    }

    func cordState(_ id: String, wear: CordWear) -> UnitReport.CordUse {
        let n = cordMatings[id] ?? 0
        let state = n >= wear.maxMatings ? "limit" : (n >= wear.warnMatings ? "warning" : "ok")
        return UnitReport.CordUse(role: "", id: id, matings: n, maxMatings: wear.maxMatings, state: state)
    }

    /// The cords of a fixture's light path: its test cords, then every reference cord that fits it.
    func cordUses(_ w: FixtureWiring) -> [UnitReport.CordUse] {
        var out: [UnitReport.CordUse] = []
        for (role, c) in [("launch", w.testCords.launch), ("receive", w.testCords.receive)] {
            guard let c else { continue }
            var u = cordState(c.id, wear: c.wear)
            u.role = role
            out.append(u)
        }
        for c in active.referenceCords where !w.cabled(c.map).isEmpty {
            var u = cordState(c.id, wear: c.wear)
            u.role = "reference"
            out.append(u)
        }
        return out
    }

    /// A fixture whose test cord is worn out refuses units until it is replaced and re-referenced.
    func cordRefusal(_ w: FixtureWiring) -> UnitRefused? {
        guard let worn = cordUses(w).first(where: { $0.role != "reference" && $0.state == "limit" }) else { return nil }
        return UnitRefused(message: "the \(worn.role) test cord \(worn.id) of fixture \(w.id) has reached \(worn.matings) of its "
                               + "\(worn.maxMatings) rated matings",
                           fix: "replace or clean \(worn.id), run 'ferrulectl cord reset \(worn.id)', then take new references on "
                               + "fixture \(w.id)")
    }

    /// A cord replaced or cleaned: its count starts again; a test cord's fixture needs new references.
    public func resetCord(_ id: String, operatorId: String?) async throws(UnitRefused) {
        guard cordWear(id) != nil else {
            let known = active.referenceCords.map(\.id) + config.fixtures.flatMap(\.testCords.all).map(\.id)
            throw UnitRefused(message: "no cord '\(Escaped.text(id))'", fix: "use one of: \(known.joined(separator: ", "))")
        }
        do { try await store.resetCord(id, at: now()) } catch {
            throw UnitRefused(message: "the reset of \(id) cannot be stored: \(error)", fix: "free disk space, then reset the cord again")
        }
        cordMatings[id] = 0
        for w in config.fixtures where w.testCords.all.contains(where: { $0.id == id }) {
            references[w.id] = [:]
            for cord in active.referenceCords { data.removeReference(fixture: w.id, cord: cord.id) }
            await events.publish(.referenceNeeded(fixture: w.id, reason: "test cord \(id) was replaced or cleaned: take new references"))
        }
        logger.notice("cord \(id) reset by \(Escaped.text(operatorId ?? "?"))")
    }
}
