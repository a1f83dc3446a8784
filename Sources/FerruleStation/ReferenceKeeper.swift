import FerruleConfig
import FerruleCore
import FerruleProtocol
import FerruleRecords
import Foundation
import Logging

/// References and cords: a fixture holds one reference per reference cord (kept as a file, the
/// history in the store); a unit uses every valid one, and each IL only against the exact path it
/// was read on. Every cord's matings are counted against its rating. Taking a reference is the
/// station's (it needs the fixture and the instruments); keeping it is this actor's.
public actor ReferenceKeeper {
    let fixtures: [FixtureWiring]
    /// The reference cords of the config in use (a reload may change them).
    var referenceCords: [ReferenceCord]
    let data: DataDirectory
    let records: RecordKeeper
    let events: EventBus
    let logger: Logger
    let now: @Sendable () -> Date
    /// Each fixture's references by reference cord id.
    var references: [Int: [String: Reference]] = [:]
    /// Every counted cord's matings (mirrors the store).
    var cordMatings: [String: Int] = [:]
    /// Reference cords reset (replaced) since the start: their next reference is not compared
    /// with one taken through the cord they replaced.
    var replacedCords: Set<String> = []

    init(
        config: StationConfig, data: DataDirectory, records: RecordKeeper, events: EventBus, logger: Logger,
        now: @escaping @Sendable () -> Date
    ) {
        fixtures = config.fixtures
        referenceCords = config.referenceCords
        self.data = data
        self.records = records
        self.events = events
        self.logger = logger
        self.now = now
        for f in config.fixtures {
            let (loaded, refused) = data.loadReferences(fixture: f.id, at: now())
            references[f.id] = Dictionary(loaded.map { ($0.cord.id, $0) }, uniquingKeysWith: { a, b in a.takenAt > b.takenAt ? a : b })
            for why in refused {
                logger.warning("reference file refused: \(why); take a new reference of fixture \(f.id)")
            }
        }
    }

    /// A reloaded config's reference cords, for the next units and references.
    func use(referenceCords: [ReferenceCord]) { self.referenceCords = referenceCords }

    /// A fixture's references, newest first.
    public func references(fixture: Int) -> [Reference] {
        (references[fixture] ?? [:]).values.sorted { $0.takenAt > $1.takenAt }
    }

    /// The newest reference of a fixture (any cord).
    public func reference(fixture: Int) -> Reference? { references(fixture: fixture).first }

    /// The cord named by id, or by polarity (`A`, `B`, `C`: the one such cord that fits the
    /// fixture); nil picks the fixture's straight cord when it has exactly one.
    func referenceCord(_ name: String?, for w: FixtureWiring) throws(UnitRefused) -> ReferenceCord {
        let cords = referenceCords
        if let name, let c = cords.first(where: { $0.id == name }) {
            guard !w.cabled(c.map).isEmpty else {
                throw UnitRefused(
                    message: "reference cord \(c.id) does not fit fixture \(w.id)",
                    fix: "use a cord the fixture is cabled for")
            }
            return c
        }
        let wanted = name?.uppercased() ?? "A"
        guard PolarityType(rawValue: wanted) != nil || wanted == "EXPLICIT" else {
            throw UnitRefused(
                message: "no reference cord '\(Escaped.text(name ?? ""))'",
                fix: "name a cord by id or polarity: "
                    + "\(cords.map { "\($0.id) (\($0.polarityName))" }.joined(separator: ", "))")
        }
        let fitting = cords.filter { $0.polarityName.uppercased() == wanted && !w.cabled($0.map).isEmpty }
        guard fitting.count == 1 else {
            throw UnitRefused(
                message: fitting.isEmpty
                    ? "fixture \(w.id) has no reference cord of polarity \(wanted)"
                    : "fixture \(w.id) has \(fitting.count) reference cords of polarity \(wanted)",
                fix: "name the cord by id: \(cords.map { "\($0.id) (\($0.polarityName))" }.joined(separator: ", "))")
        }
        return fitting[0]
    }

    /// A reference just taken: saved as the fixture's file (the one in use) and in the store's history.
    /// The paths of a new reference whose power fell more than `maxDropDb` below the last healthy
    /// reference of the same fixture and cord (none after that cord was replaced).
    func drops(_ ref: Reference, maxDropDb: Double) -> [ReferenceHealth.Drop] {
        guard !replacedCords.contains(ref.cord.id), let last = references[ref.fixture]?[ref.cord.id], last.suspect == nil else { return [] }
        return ReferenceHealth.drops(ref, since: last, maxDropDb: maxDropDb)
    }

    func keep(_ ref: Reference) async throws {
        replacedCords.remove(ref.cord.id)
        try data.save(ref)
        try? await records.store.save(ref)  // the history of references; the file above is the one in use
        references[ref.fixture, default: [:]][ref.cord.id] = ref
        await events.publish(.referenceTaken(fixture: ref.fixture, takenAt: ref.takenAt))
    }

    /// The references a recipe may use on a fixture, or why the unit is refused.
    func referenceBook(_ w: FixtureWiring, recipe: Recipe) -> Result<ReferenceBook, UnitRefused> {
        let id = w.id
        let t = now()
        var valid: [Reference] = []
        var why: [String] = []
        for r in references(fixture: id) {
            let age = t.timeIntervalSince(r.takenAt)
            if let s = r.suspect {
                why.append("the reference with \(r.cord.id) is suspect: \(s)")
                continue
            }
            if age > recipe.reference.validitySeconds {
                why.append(
                    "the reference with \(r.cord.id) expired: taken \(Durations.words(age)) ago, "
                        + "\(recipe.partNumber) allows \(Durations.words(recipe.reference.validitySeconds))")
                continue
            }
            if age < -60 {
                why.append(
                    "the reference with \(r.cord.id) is dated in the future (\(r.takenAt)): check the station "
                        + "clock")
                continue
            }
            valid.append(r)
        }
        let book = ReferenceBook(valid)
        let missing = book.uncovered(recipe.assembly.expectedMap(), wavelengthsNm: recipe.wavelengthsNm)
        guard let first = missing.first else { return .success(book) }
        let kind = recipe.assembly.polarity.standardType?.rawValue
        let cord = referenceCords.first { c in
            c.polarityName == (kind ?? "explicit") && missing.allSatisfy { c.map[$0.launch] == $0.receive }
        }
        let polarityText = kind.map { "a Type \($0)" } ?? "a"
        let none = references(fixture: id).isEmpty
        let message =
            none
            ? "fixture \(id) has no reference"
            : "no valid reference of fixture \(id) covers the path \(first.launch) -> \(first.receive) at \(first.wavelengthNm) nm "
                + "that \(recipe.partNumber) needs" + (why.isEmpty ? "" : " (\(why.joined(separator: "; ")))")
        let which = cord.map { "reference cord \($0.id) (\(polarityText) cord)" } ?? "\(polarityText) reference cord"
        let refusal = Refusal(
            none ? .noReference : .referenceNotValid, fixture: id, cord: cord?.id, polarity: kind, partNumber: recipe.partNumber,
            remedy: cord.map { Remedy(.takeReference, fixture: id, cord: $0.id) })
        return .failure(UnitRefused(message: message, fix: "connect \(which) to fixture \(id) and take a reference", refusal))
    }

    /// The references a unit's IL is computed against, with the values its paths use.
    /// Before the unit: the references its expected paths need. After: also those of every path
    /// it was read on (a polarity fault can land light on a path another cord covers).
    static func referencesUsed(_ book: ReferenceBook, recipe: Recipe, steps: [RawStep] = []) -> [UnitReport.ReferenceUsed] {
        let map = recipe.assembly.expectedMap()
        let wls = Set(recipe.wavelengthsNm)
        var paths = Set(map.pairs.map { "\($0.key)>\($0.value)" })
        for s in steps where s.referenceCord != nil { paths.insert("\(s.fiber)>\(s.receivePosition)") }
        let cords = Set(book.used(by: map, wavelengthsNm: recipe.wavelengthsNm).map(\.cord.id) + steps.compactMap(\.referenceCord))
        return book.references.filter { cords.contains($0.cord.id) }.map { r in
            UnitReport.ReferenceUsed(
                cord: r.cord, method: r.method, takenAt: r.takenAt,
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

}
