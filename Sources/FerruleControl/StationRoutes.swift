import FerruleCore
import FerruleProtocol
import FerruleRecords
import FerruleConfig
import FerruleStation
import Foundation

extension ControlRoutes {
    /// The station's requests: status, units, references, cords, recipes, records and prompts.
    public static func station(_ station: Station) -> ControlRoutes {
        let s = StationRoutes(station: station)
        var routes = ControlRoutes()
        routes.on(.status) { _ in try JSONValue.from(await station.status()) }
        routes.on(.test, s.test)
        routes.on(.abort) { r in
            guard case .abort(let fixture) = r.request else { throw misrouted(r, to: .abort) }
            try await station.abort(fixture: fixture)
            return .object(["aborting": .number(Double(fixture))])
        }
        routes.on(.reference, s.reference)
        routes.on(.cordReset) { r in
            guard case .cordReset(let cord) = r.request else { throw misrouted(r, to: .cordReset) }
            try await station.referenceKeeper.resetCord(cord, operatorId: r.operator)
            return .object(["cord": .string(cord), "matings": .number(0)])
        }
        routes.on(.recipes) { _ in
            let cfg = await station.currentConfig
            return .array(try cfg.recipeOrder.compactMap { cfg.recipes[$0] }.map { try JSONValue.from(RecipeSummary($0)) })
        }
        routes.on(.history) { r in
            guard case .history(let q) = r.request else { throw misrouted(r, to: .history) }
            let filter = HistoryFilter(
                serial: q.serial, partNumber: q.partNumber, verdict: q.verdict, since: q.window.since, until: q.window.until,
                limit: q.limit, offset: q.offset)
            return try JSONValue.from(await station.records.history(filter))
        }
        routes.on(.yield) { r in
            guard case .yield(let w) = r.request else { throw misrouted(r, to: .yield) }
            return try JSONValue.from(await station.store.yield(since: w.since, until: w.until))
        }
        routes.on(.spc) { r in
            guard case .spc(let part, let w) = r.request else { throw misrouted(r, to: .spc) }
            return try JSONValue.from(try await station.spc(partNumber: part, since: w.since, until: w.until))
        }
        routes.on(.lot) { r in
            guard case .lot(let part, let w) = r.request else { throw misrouted(r, to: .lot) }
            return try JSONValue.from(try await station.lot(partNumber: part, since: w.since, until: w.until))
        }
        routes.on(.pareto) { r in
            guard case .pareto(let part, let w) = r.request else { throw misrouted(r, to: .pareto) }
            return try JSONValue.from(await station.store.pareto(partNumber: part, since: w.since, until: w.until))
        }
        routes.on(.report, s.report)
        routes.on(.prompts) { _ in try JSONValue.from(await station.prompts.pending) }
        routes.on(.sinks, s.sinks)
        routes.on(.resend, s.resend)
        routes.on(.answer) { r in
            guard case .answer(let id, let text) = r.request else { throw misrouted(r, to: .answer) }
            do { try await station.prompts.answer(id, text) } catch {
                throw ControlError(.notFound, "\(error)")
            }
            return .object(["answered": .string(id)])
        }
        return routes
    }
}

/// The station requests that take more than a few lines.
struct StationRoutes: Sendable {
    let station: Station

    func test(_ r: ControlRequest) async throws -> JSONValue {
        guard case .test(let u) = r.request else { throw misrouted(r, to: .test) }
        let fixture: Int
        if let named = u.fixture { fixture = named } else { fixture = try await station.firstIdleFixture(for: u.partNumber) }
        var unit = UnitRequest(serial: u.serial, partNumber: u.partNumber, fixture: fixture, operatorId: r.operator ?? "unknown")
        unit.requestedBy = r.via
        try await station.start(unit)
        return .object(["accepted": .bool(true), "serial": .string(u.serial), "fixture": .number(Double(fixture))])
    }

    /// No cord named: every reference cord that fits the fixture, one after the other.
    func reference(_ r: ControlRequest) async throws -> JSONValue {
        guard case .reference(let fixture, let cord) = r.request else { throw misrouted(r, to: .reference) }
        let refs =
            cord == nil
            ? try await station.takeReferences(fixture: fixture, operatorId: r.operator)
            : [try await station.takeReference(fixture: fixture, cord: cord, operatorId: r.operator)]
        guard let last = refs.last else {
            throw ControlError(.refused, "no reference cord fits fixture \(fixture)", fix: "declare one under 'referenceCords'")
        }
        return .object([
            "fixture": .number(Double(fixture)), "takenAt": try JSONValue.from(last.takenAt),
            "values": .number(Double(refs.map(\.values.count).reduce(0, +))),
            "cord": .string(refs.map(\.cord.id).joined(separator: ", ")),
            "polarity": .string(refs.map(\.cord.polarity).joined(separator: ", "))
        ])
    }

    /// Every sink's queue, with its parked reports and why each was refused.
    func sinks(_ r: ControlRequest) async throws -> JSONValue {
        guard case .sinks(let sink) = r.request else { throw misrouted(r, to: .sinks) }
        do { return try JSONValue.from(try await station.delivery.queues(sink: sink)) } catch let p as ResendProblem {
            throw Self.controlError(p)
        }
    }

    /// Puts a report (or every parked one) back in a sink's queue.
    func resend(_ r: ControlRequest) async throws -> JSONValue {
        guard case .resend(let sink, let target) = r.request else { throw misrouted(r, to: .resend) }
        let selection: ResendSelection =
            switch target {
            case .report(let report): .report(report)
            case .parked: .parked
            }
        do {
            return try JSONValue.from(try await station.delivery.resend(sink: sink, selection, by: r.via ?? r.operator ?? "unknown"))
        } catch let p as ResendProblem {
            throw Self.controlError(p)
        }
    }

    static func controlError(_ p: ResendProblem) -> ControlError {
        switch p {
        case .unknownSink(_, let known):
            ControlError(
                .notFound, p.description, fix: known.isEmpty ? "declare one under 'sinks'" : "name one of: \(known.joined(separator: ", "))"
            )
        case .noReport: ControlError(.notFound, p.description, fix: "give a report id or a serial that was tested ('ferrulectl history')")
        case .stillWaiting:
            ControlError(.refused, p.description, fix: "nothing to do: the sink will get it ('ferrulectl sinks' shows its queue)")
        case .storage: ControlError(.refused, p.description)
        }
    }

    /// Every test of one serial, with whether its files exist and where each sink delivered it.
    func report(_ r: ControlRequest) async throws -> JSONValue {
        guard case .report(let serial) = r.request else { throw misrouted(r, to: .report) }
        let rows = try await station.records.history(HistoryFilter(serial: serial, limit: 1000))
        guard !rows.isEmpty else {
            throw ControlError(
                .notFound, "no unit with serial '\(Escaped.text(serial))' was tested on this station",
                fix: "check the serial; 'history' lists what was tested")
        }
        var out: [JSONValue] = []
        for row in rows {
            guard case .object(var fields) = try JSONValue.from(row) else { continue }
            let deliveries = try await station.store.deliveries(of: row.entry.reportId)
            fields["filesExist"] = .bool(row.reportPath.map { FileManager.default.fileExists(atPath: $0) } ?? false)
            fields["deliveries"] = .array(
                deliveries.map {
                    .object([
                        "sink": .string($0.sink), "state": .string($0.state.rawValue), "detail": $0.detail.map(JSONValue.string) ?? .null
                    ])
                })
            out.append(.object(fields))
        }
        return .array(out)
    }
}

/// What `recipes` lists for each part number.
struct RecipeSummary: Encodable {
    var partNumber, description, kind, fiberType, polarity: String
    var fibers: Int
    var wavelengthsNm: [Int]
    var ilMaxDb: [String: Double]
    var meanIlMaxDb: Double?
    var rlMinDb: Double?
    var referenceValiditySeconds: Double
    /// The MPO's positions (12 per row) and those this assembly uses, for a fiber grid.
    var positionsPerRow: Int
    var positions: Int
    var usedPositions: [Int]

    init(_ r: Recipe) {
        partNumber = r.partNumber
        description = r.description
        kind = r.assembly.kind.rawValue
        fiberType = r.assembly.fiberType.rawValue
        polarity = r.assembly.polarity.standardType?.rawValue ?? "explicit"
        fibers = r.assembly.fiberCount
        wavelengthsNm = r.wavelengthsNm
        ilMaxDb = Dictionary(uniqueKeysWithValues: r.limits.ilMaxDb.map { (String($0.key), $0.value) })
        meanIlMaxDb = r.limits.meanIlMaxDb
        rlMinDb = r.limits.rlMinDb
        referenceValiditySeconds = r.reference.validitySeconds
        positionsPerRow = r.assembly.layout.positionsPerRow
        positions = r.assembly.layout.positionCount
        usedPositions = r.assembly.layout.usedPositions
    }
}
