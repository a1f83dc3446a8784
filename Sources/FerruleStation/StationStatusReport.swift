import FerruleConfig
import FerruleCore
import FerruleDevices
import FerruleProtocol
import FerruleRecords
import Foundation
import Logging

// What `status` shows, and the idle-fixture choice made from it.
extension Station {
    /// The first idle fixture cabled for `partNumber`'s assembly (a unit started without a fixture).
    public func firstIdleFixture(for partNumber: String) throws(UnitRefused) -> Int {
        guard let recipe = active.recipes[partNumber] else {
            throw UnitRefused(
                message: "no recipe for part number '\(Escaped.text(partNumber))'",
                fix: "use one of: \(active.recipeOrder.joined(separator: ", "))")
        }
        guard let f = config.fixtures.first(where: { $0.cannotTest(recipe.assembly) == nil && fixtureState($0.id) == .idle }) else {
            throw UnitRefused(
                message: "no idle fixture can test \(Escaped.text(partNumber))",
                fix: "wait for a fixture, or name one with \"fixture\"")
        }
        return f.id
    }

    /// What a fixture is doing, as `status` shows it.
    func fixtureState(_ id: Int) -> FixtureState {
        progress[id]?.state ?? (busy[id] == .reference ? .referencing : .idle)
    }

    public func status() async -> StationStatus {
        var fixtures: [StationStatus.Fixture] = []
        for w in config.fixtures { fixtures.append(await fixtureStatus(w, at: now())) }
        let instrumentsStatus = await availability.status()
        var status = StationStatus(
            stationId: active.stationId, softwareVersion: FerruleVersion.current, configPath: active.sourcePath,
            configHash: active.hash, dataDir: data.root, startedAt: startedAt, accepting: accepting,
            fixtures: fixtures, instruments: instrumentsStatus,
            storage: await records.status(),
            sinks: delivery.statuses())
        status.webAddress = webAddress
        status.centralRecipes = centralRecipes
        return status
    }

    /// One fixture's line of `status`: its state, unit, references, cords and light.
    func fixtureStatus(_ w: FixtureWiring, at t: Date) async -> StationStatus.Fixture {
        let testable = active.recipes.values.filter { w.cannotTest($0.assembly) == nil }
        let validity = testable.map(\.reference.validitySeconds).min() ?? 8 * 3600
        let refs = await referenceKeeper.references(fixture: w.id).map { r -> StationStatus.ReferenceState in
            let until = r.takenAt.addingTimeInterval(validity)
            return .init(
                state: r.suspect != nil ? .suspect : (until < t ? .expired : .valid), takenAt: r.takenAt, validUntil: until,
                suspect: r.suspect, cord: r.cord.id, polarity: r.cord.polarity)
        }
        let missing = StationStatus.ReferenceState(
            state: .missing, takenAt: nil, validUntil: nil, suspect: nil, cord: nil,
            polarity: nil)
        var fixture = StationStatus.Fixture(
            id: w.id, state: fixtureState(w.id), unit: progress[w.id], reference: refs.first ?? missing, references: refs,
            cords: await referenceKeeper.cordUses(w), sourceMayBeOn: await light.sourceWarning(w))
        fixture.lastUnit = lastUnits[w.id]
        let overdue = await availability.overdue(among: w.instruments, today: CalendarDay.of(t))
        if !overdue.isEmpty { fixture.calibrationOverdue = overdue.map { .init(instrument: $0.name, due: $0.calibration.due) } }
        return fixture
    }
}

extension Station {
    /// The web app tells where it listens once it does (`status` shows it).
    public func setWebAddress(_ address: String?) { webAddress = address }
}
