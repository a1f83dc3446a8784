import FerruleCore
import FerruleProtocol
import FerruleRecords
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
            let fixture = try r.require(r.fixture, "fixture", example: "1")
            try await station.abort(fixture: fixture)
            return .object(["aborting": .number(Double(fixture))])
        }
        routes.on(.reference, s.reference)
        routes.on(.cordReset) { r in
            let cord = try r.require(r.cord, "cord", example: "\"TC-L-1\"")
            try await station.referenceKeeper.resetCord(cord, operatorId: r.operator)
            return .object(["cord": .string(cord), "matings": .number(0)])
        }
        routes.on(.recipes) { _ in
            let cfg = await station.currentConfig
            return .array(try cfg.recipeOrder.compactMap { cfg.recipes[$0] }.map { try JSONValue.from(RecipeSummary($0)) })
        }
        routes.on(.history, s.history)
        routes.on(.yield) { r in
            try JSONValue.from(await station.store.yield(since: try r.time(r.since, "since"), until: try r.time(r.until, "until")))
        }
        routes.on(.pareto) { r in
            try JSONValue.from(
                await station.store.pareto(
                    partNumber: r.partNumber, since: try r.time(r.since, "since"),
                    until: try r.time(r.until, "until")))
        }
        routes.on(.report, s.report)
        routes.on(.prompts) { _ in try JSONValue.from(await station.prompts.pending) }
        routes.on(.sinks, s.sinks)
        routes.on(.resend, s.resend)
        routes.on(.answer) { r in
            let id = try r.require(r.prompt, "prompt", example: "\"p1\"")
            let text = try r.require(r.answer, "answer", example: "\"ok\"")
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
        let serial = try r.require(r.serial, "serial", example: "\"SN123\"")
        let part = try r.require(r.partNumber, "partNumber", example: "\"FT-MTP12-SMAPC-B-LL\"")
        let fixture: Int
        if let named = r.fixture { fixture = named } else { fixture = try await station.firstIdleFixture(for: part) }
        var unit = UnitRequest(serial: serial, partNumber: part, fixture: fixture, operatorId: r.operator ?? "unknown")
        unit.requestedBy = r.via
        try await station.start(unit)
        return .object(["accepted": .bool(true), "serial": .string(serial), "fixture": .number(Double(fixture))])
    }

    /// No cord named: every reference cord that fits the fixture, one after the other.
    func reference(_ r: ControlRequest) async throws -> JSONValue {
        let fixture = try r.require(r.fixture, "fixture", example: "1")
        let refs =
            r.cord == nil
            ? try await station.takeReferences(fixture: fixture, operatorId: r.operator)
            : [try await station.takeReference(fixture: fixture, cord: r.cord, operatorId: r.operator)]
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
        do { return try JSONValue.from(try await station.delivery.queues(sink: r.sink)) } catch let p as ResendProblem {
            throw Self.controlError(p)
        }
    }

    /// Puts a report (or every parked one) back in a sink's queue.
    func resend(_ r: ControlRequest) async throws -> JSONValue {
        let sink = try r.require(r.sink, "sink", example: "\"line-mes\"")
        let selection: ResendSelection
        switch (r.report, r.parked ?? false) {
        case (let report?, false): selection = .report(report)
        case (nil, true): selection = .parked
        default:
            throw ControlError(
                .badRequest, r.report == nil ? "neither 'report' nor 'parked' is given" : "both 'report' and 'parked' are given",
                fix: "send \"report\": a report id or serial, or \"parked\": true for every parked report of the sink")
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

    func history(_ r: ControlRequest) async throws -> JSONValue {
        var verdict: Verdict?
        if let v = r.verdict {
            guard let x = Verdict(rawValue: v) else {
                throw ControlError(
                    .badRequest, "'verdict' is '\(Escaped.text(v))'",
                    fix: "use one of: \(Verdict.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            verdict = x
        }
        let limit = r.limit ?? 50
        let offset = r.offset ?? 0
        guard (1...ControlProtocol.maxHistoryPage).contains(limit) else {
            throw ControlError(
                .badRequest, "'limit' is \(limit)",
                fix: "ask for 1 to \(ControlProtocol.maxHistoryPage) units a page and page on with 'offset'")
        }
        guard offset >= 0 else {
            throw ControlError(.badRequest, "'offset' is \(offset)", fix: "use 0 or more (rows to skip, newest first)")
        }
        let filter = HistoryFilter(
            serial: r.serial, partNumber: r.partNumber, verdict: verdict, since: try r.time(r.since, "since"),
            until: try r.time(r.until, "until"), limit: limit, offset: offset)
        return try JSONValue.from(await station.records.history(filter))
    }

    /// Every test of one serial, with whether its files exist and where each sink delivered it.
    func report(_ r: ControlRequest) async throws -> JSONValue {
        let serial = try r.require(r.serial, "serial", example: "\"SN123\"")
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
                    .object(["sink": .string($0.sink), "state": .string($0.state.rawValue), "detail": $0.detail.map(JSONValue.string) ?? .null])
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
