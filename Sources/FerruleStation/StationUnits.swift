import FerruleConfig
import FerruleCore
import FerruleDevices
import FerruleProtocol
import FerruleRecords
import Foundation
import Logging

// Units: admission (every check before anything is measured), the run, and its outcome.
extension Station {
    struct Prepared {
        var request: UnitRequest
        var recipe: Recipe
        var wiring: FixtureWiring
        var references: ReferenceBook
        var rules: DiagnosisRules
        /// Units started from the socket wait for the fixture's start button, when it has one.
        var waitForStart = false
        /// What the MES said, where it was asked.
        var route: UnitReport.RouteCheck?
        /// The fixture's instruments by the part each plays.
        var rig: FixtureRig
    }

    /// All checks before a unit may start; marks the fixture busy. Nothing is measured. The
    /// checks that ask the station's other parts come between two synchronous ones, so that
    /// "not busy" and "now busy" happen in one step on this actor.
    func prepare(_ req: UnitRequest) async throws(UnitRefused) -> Prepared {
        var (recipe, w) = try admissible(req)
        // Only an instrument that gates RL itself applies the recipe's window (the PCT; the RL1's
        // manual gives no window command): elsewhere the report states none.
        if w.sequencer == nil { recipe.rlWindow = nil }
        if let (name, why) = await availability.unplugged(among: w.instruments.union(w.io.map { [$0] } ?? [])) {
            throw UnitRefused(
                message: why, fix: "plug \(name) back in; the station reconnects by itself", Refusal(.instrumentMissing, fixture: w.id))
        }
        let rig = try FixtureRig(w, in: instruments)
        if let problem = await light.lightRefusal(w) { throw problem }
        if let problem = await calibrationRefusal(w) { throw problem }
        if let problem = await referenceKeeper.cordRefusal(w) { throw problem }
        let book: ReferenceBook
        switch await referenceKeeper.referenceBook(w, recipe: recipe) {
        case .success(let b): book = b
        case .failure(let problem): throw problem
        }
        if let problem = await records.storageRefusal() { throw problem }
        let route = try await askTheMES(req)  // last: the slowest check, after every one the station answers itself
        try claim(w, for: req)
        return Prepared(request: req, recipe: recipe, wiring: w, references: book, rules: active.rules, route: route, rig: rig)
    }

    /// The MES's route check, before any light: a refusal ends the unit here with the MES's
    /// reason; an MES that cannot be asked refuses the unit or lets it run as `onUnavailable` says.
    func askTheMES(_ req: UnitRequest) async throws(UnitRefused) -> UnitReport.RouteCheck? {
        guard let check = routeCheck, let spec = config.routeCheck else { return nil }
        let query = RouteQuery(serial: req.serial, partNumber: req.partNumber, station: active.stationId, fixture: req.fixture,
                               operator: req.operatorId)
        let decision = await check.check(query)
        func told(_ outcome: RouteOutcome, _ detail: String?) async {
            await events.publish(.routeChecked(fixture: req.fixture, serial: req.serial, outcome: outcome, detail: detail))
        }
        switch decision {
        case .allowed:
            await told(.allowed, nil)
            return UnitReport.RouteCheck(result: .allowed)
        case .refused(let reason):
            await told(.refused, Escaped.text(reason))
            throw UnitRefused(
                message: "the MES refused \(Escaped.text(req.serial)): \(Escaped.text(reason))",
                fix: "do not test this unit here; take it where the MES routes it, or ask the MES planner to release it",
                Refusal(.routeRefused, fixture: req.fixture, partNumber: req.partNumber))
        case .unavailable(let why):
            let detail = "\(check.destination) could not be asked: \(Escaped.text(why))"
            guard spec.onUnavailable == .allow else {
                await told(.unavailableRefused, detail)
                throw UnitRefused(
                    message: detail, fix: "check the MES link and try again; a supervisor may set mes.routeCheck.onUnavailable: allow",
                    Refusal(.routeUnavailable, fixture: req.fixture))
            }
            await told(.notChecked, detail)
            logger.warning("\(Escaped.text(req.serial)) runs without a route check: \(detail)")
            return UnitReport.RouteCheck(result: .notChecked, detail: detail)
        }
    }

    /// The request's own checks: fields, recipe, fixture, cabling, and not busy.
    private func admissible(_ req: UnitRequest) throws(UnitRefused) -> (Recipe, FixtureWiring) {
        guard accepting else {
            throw UnitRefused(message: "the station is shutting down", fix: "start the unit after ferruled is back", Refusal(.shuttingDown))
        }
        guard !req.serial.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw UnitRefused(message: "the serial number is empty", fix: "scan or type the unit's serial number", Refusal(.emptySerial))
        }
        try UnitRequest.checkField("serial", req.serial, fix: "scan the unit's label again")
        try UnitRequest.checkField("partNumber", req.partNumber, fix: "use the part number of a recipe")
        try UnitRequest.checkField("operator", req.operatorId, fix: "give the operator's badge id")
        guard let recipe = active.recipes[req.partNumber] else {
            throw UnitRefused(
                message: "no recipe for part number '\(Escaped.text(req.partNumber))'",
                fix: "use one of: \(active.recipeOrder.joined(separator: ", "))", Refusal(.unknownPart, partNumber: req.partNumber))
        }
        guard let w = config.fixtures.first(where: { $0.id == req.fixture }) else {
            throw UnitRefused(
                message: "no fixture \(req.fixture)", fix: "use one of: \(config.fixtures.map { String($0.id) }.joined(separator: ", "))")
        }
        if let why = w.cannotTest(recipe.assembly) {
            throw UnitRefused(
                message: why, fix: "test \(req.partNumber) on a fixture cabled for \(recipe.assembly.fiberCount) fibers",
                Refusal(.notCabled, fixture: w.id, partNumber: req.partNumber))
        }
        if let other = busy[w.id] {
            throw UnitRefused(
                message: "fixture \(w.id) is busy with \(other)", fix: "wait for it to finish or abort it",
                Refusal(.fixtureBusy, fixture: w.id))
        }
        return (recipe, w)
    }

    /// Marks the fixture busy with the unit, unless something took it (or the station began to
    /// stop) while the other checks were asked.
    private func claim(_ w: FixtureWiring, for req: UnitRequest) throws(UnitRefused) {
        guard accepting else {
            throw UnitRefused(message: "the station is shutting down", fix: "start the unit after ferruled is back", Refusal(.shuttingDown))
        }
        if let other = busy[w.id] {
            throw UnitRefused(
                message: "fixture \(w.id) is busy with \(other)", fix: "wait for it to finish or abort it",
                Refusal(.fixtureBusy, fixture: w.id))
        }
        // One physical unit cannot be in two fixtures: a second scan of its label is a mistake.
        if let (other, _) = busy.first(where: { $0.value == .unit(serial: req.serial) }) {
            throw UnitRefused(
                message: "unit \(Escaped.text(req.serial)) is already running on fixture \(other)",
                fix: "scan the label of the unit in this fixture", Refusal(.alreadyRunning, fixture: other))
        }
        busy[w.id] = .unit(serial: req.serial)
        unpluggedDuringUnit[w.id] = nil
    }

    /// Tests one unit on its fixture (already loaded). Throws `UnitRefused` before measuring
    /// anything; once measuring starts it always returns a written report (pass, fail, error or
    /// aborted). Cancelling the calling task aborts the unit safely.
    public func test(_ req: UnitRequest) async throws -> UnitOutcome {
        let prepared = try await prepare(req)
        do {
            let outcome = try await run(prepared)
            await finish(req, outcome: outcome, notStarted: nil)
            return outcome
        } catch {
            release(req.fixture)
            throw error
        }
    }

    /// Starts a unit in the background (loading it through the bench's hands first) and returns
    /// at once. Refusals are thrown here; the outcome arrives as a `unitFinished` event.
    @discardableResult
    public func start(_ req: UnitRequest) async throws(UnitRefused) -> Task<UnitOutcome?, Never> {
        var prepared = try await prepare(req)
        prepared.waitForStart = true
        progress[req.fixture] = UnitProgress(
            serial: req.serial, partNumber: req.partNumber, state: .loading, startedAt: now(),
            fibersDone: 0, fibersTotal: prepared.recipe.assembly.layout.usedPositions.count)
        let task = Task<UnitOutcome?, Never> {
            var outcome: UnitOutcome?
            var failure: String?
            do {
                if let hands = self.hands { try await hands.loadUnit(req, recipe: prepared.recipe) }
                self.setState(req.fixture, .testing)
                outcome = try await self.run(prepared)
            } catch {
                let why = Escaped.text("\(error)")
                self.logger.error("unit \(Escaped.text(req.serial)) on fixture \(req.fixture) did not complete: \(why)")
                failure = "\(error)"
            }
            if let hands = self.hands { await hands.unloadUnit(fixture: req.fixture) }
            await self.finish(req, outcome: outcome, notStarted: failure)
            return outcome
        }
        running[req.fixture] = task
        return task
    }

    /// The fixture is free before anyone hears the verdict: a client that starts the next unit
    /// the moment it sees `unitFinished` is not refused as busy.
    func finish(_ req: UnitRequest, outcome: UnitOutcome?, notStarted: String?) async {
        release(req.fixture)
        if let o = outcome, o.kept == .memoryOnly {
            lastUnits[req.fixture] = nil  // no verdict on any screen that a stop could take back
        } else if let o = outcome {
            lastUnits[req.fixture] = StationStatus.LastUnit(
                serial: req.serial, partNumber: req.partNumber, reportId: o.report.reportId, verdict: o.report.verdict,
                finishedAt: o.report.finishedAt, stored: o.stored)
        }
        if let o = outcome, o.stored {
            await watchTrends(o.report)
            await events.publish(
                .unitFinished(
                    fixture: req.fixture, serial: req.serial, reportId: o.report.reportId,
                    verdict: o.report.verdict, reportPath: o.reportPath, warnings: o.report.warnings))
        } else if let o = outcome {
            // A verdict is shown only once it is kept where a stop cannot lose it.
            await events.publish(
                .unitHeld(
                    fixture: req.fixture, serial: req.serial, reportId: o.report.reportId,
                    verdict: o.kept == .spilled ? o.report.verdict : nil, reason: await records.heldReason(o.kept)))
        } else {
            await events.publish(.unitNotStarted(fixture: req.fixture, serial: req.serial, reason: notStarted ?? "unknown"))
        }
    }

    func setState(_ fixture: Int, _ state: FixtureState) { progress[fixture]?.state = state }

    fileprivate func fiberDone(_ fixture: Int, worstIl: Double?) {
        progress[fixture]?.fibersDone += 1
        if let il = worstIl, il > (progress[fixture]?.worstIlDb ?? -.infinity) { progress[fixture]?.worstIlDb = il }
    }

    func run(_ p: Prepared) async throws -> UnitOutcome {
        let req = p.request
        let recipe = p.recipe
        let w = p.wiring
        let io = w.io.flatMap { instruments.fixtureIO[$0] }
        let panel = io.map { FixturePanel(fixture: w.id, io: $0, logger: logger) }
        if let panel {
            let timeout = Duration.milliseconds(Int64(active.control.promptTimeoutSeconds * 1000))
            try await panel.ready(
                serial: req.serial, waitForStart: p.waitForStart, timeout: timeout,
                waiting: { [weak self] waiting in await self?.setState(w.id, waiting ? .waitingStart : .testing) })
        }
        let reportId = UUID()
        let startedAt = now()
        let referencesUsed = ReferenceKeeper.referencesUsed(p.references, recipe: recipe)
        await referenceKeeper.mate(w.testCords.all.map(\.id))  // the unit is mated to both test cords
        let cords = await referenceKeeper.cordUses(w).filter { use in
            use.role != .reference || referencesUsed.contains { $0.cord.id == use.id }
        }
        let station = UnitReport.Station(id: active.stationId, softwareVersion: FerruleVersion.current, configHash: active.hash)
        // Stored before the first light: a crash from here on leaves an `interrupted` record.
        try await records.beginRecord(
            UnitStart(
                reportId: reportId, serial: req.serial, partNumber: req.partNumber, fixture: w.id, operatorId: req.operatorId,
                startedAt: startedAt, station: station, recipe: recipe, rules: p.rules,
                instruments: await instrumentRecords(w), references: referencesUsed, cords: cords))
        // The line hears of the start before any light: the broker is given a moment to take the
        // unit's WorkStarted (posted with the start); if it cannot, the message waits in the outbox.
        _ = await delivery.awaitLineMessage(
            CFXUnitMessages.stableID(report: reportId, message: CFXUnitMessages.workStarted), timeout: .seconds(3))
        await panel?.setStackLight(.amber)
        let run = UnitRun(
            request: req, recipe: recipe, wiring: w, references: p.references, rules: p.rules,
            rig: p.rig, interlock: Interlock(fixture: w.id, io: io), arbiter: arbiter, events: events, now: now,
            reportId: reportId, startedAt: startedAt,
            onFiber: { [weak self] fiber, arrival, steps in
                await self?.records.recordFiber(reportId, fiber: fiber, arrival: arrival, steps: steps)
                await self?.fiberDone(w.id, worstIl: steps.compactMap { s in UnitRun.insertionLoss(s) }.max())
            }, unitLeased: active.schedule == .unit)
        var result = await measureAndSwitchOff(run, panel: panel)
        if let (name, why) = unpluggedDuringUnit.removeValue(forKey: w.id) {
            result.stop = .fault(instrument: name, command: nil, fiber: nil, message: why)
        }

        let judgement = Judge(recipe: recipe, rules: p.rules).judge(steps: result.steps, observed: result.observed, stop: result.stop)
        if judgement.referenceSuspect { await referenceKeeper.markSuspect(judgement, fixture: w.id, recipe: recipe, serial: req.serial) }
        if case .fault(let name?, _, _, let message) = result.stop {
            await availability.faulted(name, message)
            await events.publish(.instrumentFault(instrument: name, detail: message))
        } else if result.stop.faultMessage == nil, !result.steps.isEmpty {
            // Every instrument of the fixture just answered a whole unit: a fault shown from an
            // earlier unit is history now (its report keeps it).
            await availability.answered(w.instruments)
        }
        var report = UnitReport(
            reportId: result.reportId,
            unit: .init(serial: req.serial, partNumber: req.partNumber, description: recipe.description),
            recipe: recipe,
            station: station,
            fixture: w.id, operatorId: req.operatorId, startedAt: result.startedAt, finishedAt: now(),
            instruments: await instrumentRecords(w),
            references: ReferenceKeeper.referencesUsed(p.references, recipe: recipe, steps: result.steps), cords: cords,
            judgement: judgement)
        report.requestedBy = req.requestedBy
        report.routeCheck = p.route
        // The verdict's light goes on while the record is kept; a dead I/O module would only time out again.
        let showVerdict = result.stop.faultInstrument == nil || result.stop.faultInstrument != w.io
        let light: StackLight = report.verdict == .pass ? .green : (report.verdict == .aborted ? .off : .red)
        async let verdictShown: Void = { if showVerdict { await panel?.setStackLight(light) } }()
        let (stored, path, kept) = await records.keep(report)
        await verdictShown
        logger.info(
            "unit finished",
            metadata: [
                "serial": "\(Escaped.text(req.serial))", "verdict": "\(report.verdict.rawValue)",
                "report": "\(path)"
            ])
        return UnitOutcome(report: stored, reportPath: path, kept: kept)
    }

    /// Measures the unit and leaves its fixture safe (source off, switches parked). Under the `unit`
    /// schedule both happen in one lease of the fixture's instruments, so that the fixture waiting
    /// for them starts at once and this unit's verdict does not wait for that fixture's unit.
    /// Both run on the instrument thread, where the replies arrive (see `InstrumentThread`); the
    /// report is built and written after, off it.
    private func measureAndSwitchOff(_ run: UnitRun, panel: FixturePanel?) async -> UnitRun.Result {
        let light = light
        let w = run.wiring
        let body: @Sendable (_ leased: Bool) async -> UnitRun.Result = { leased in
            await withTaskExecutorPreference(InstrumentThread.taskExecutor) {
                let result = if let panel { await panel.measureWatchingLid(run) } else { await run.measure() }
                await light.safeState(w, leased: leased)
                return result
            }
        }
        guard run.unitLeased else { return await body(false) }
        do {
            return try await arbiter.withLease(w.instruments) { await body(true) }
        } catch {
            var result = UnitRun.Result(reportId: run.reportId, startedAt: run.startedAt)
            result.stop = .aborted(reason: "stopped while waiting for the instruments another fixture was using")
            return result
        }
    }

    /// A fixture whose instrument is past its calibration, under `station.calibration: refuse`.
    func calibrationRefusal(_ w: FixtureWiring) async -> UnitRefused? {
        guard active.calibration == .refuse,
              let (name, c) = await availability.overdue(among: w.instruments, today: CalendarDay.of(now())).first else { return nil }
        return UnitRefused(
            message: "\(name) is past its calibration: \(c.text)",
            fix: "have \(name) calibrated (then update calibrationDue, or the instrument's own date is read at the next start); "
                + "a supervisor may set station.calibration: warn meanwhile",
            Refusal(.calibrationOverdue, fixture: w.id))
    }

    func instrumentRecords(_ w: FixtureWiring) async -> [UnitReport.Instrument] {
        var roles: [(UnitReport.Instrument.Role, String)] = w.sequencer.map { [(.sequencer, $0)] } ?? [
            (.launchSwitch, w.launchSwitch), (.receiveSwitch, w.receiveSwitch), (.source, w.source), (.powerMeter, w.powerMeter)
        ]
        if let rl = w.rlMeter { roles.append((.rlMeter, rl)) }
        if let io = w.io { roles.append((.fixtureIO, io)) }
        var records: [UnitReport.Instrument] = []
        let today = CalendarDay.of(now())
        for (role, name) in roles {
            let spec = instruments.specs[name]
            let calibration = await availability.calibration(of: name)
            var record = UnitReport.Instrument(
                role: role, name: name, driver: spec?.driver.name ?? "?", address: spec?.address ?? "?",
                identity: await availability.identity(of: name), calibrationDue: calibration?.due)
            if calibration?.overdue(today: today) ?? false { record.calibrationOverdue = true }
            records.append(record)
        }
        return records
    }
}
