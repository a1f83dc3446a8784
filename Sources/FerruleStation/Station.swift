import FerruleCore
import FerruleDevices
import FerruleProtocol
import FerruleRecords
import Foundation
import Logging

public enum FerruleVersion {
    public static let current = "0.1.0"
}

public struct UnitRequest: Sendable, Hashable, Codable {
    public var serial: String
    public var partNumber: String
    public var fixture: Int
    public var operatorId: String

    public init(serial: String, partNumber: String, fixture: Int, operatorId: String) {
        self.serial = serial
        self.partNumber = partNumber
        self.fixture = fixture
        self.operatorId = operatorId
    }
}

/// A unit the station will not start, and what to do about it. Nothing was measured.
public struct UnitRefused: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var fix: String
    public var description: String { "\(message). Fix: \(fix)" }

    public init(message: String, fix: String) {
        self.message = message
        self.fix = fix
    }
}

public struct ReferenceFailed: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

public struct UnitOutcome: Sendable {
    public var report: UnitReport
    /// Where the report is (or will be, once stored).
    public var reportPath: String
    /// False while the record waits in memory for the store to take writes again.
    public var stored = true
}

/// Who puts things into a fixture: the simulator does it itself, a real bench asks the operator.
public protocol BenchHands: Sendable {
    func loadUnit(_ request: UnitRequest, recipe: Recipe) async throws
    func unloadUnit(fixture: Int) async
    func connectReferenceCord(fixture: Int, cord: ReferenceCord) async throws
    func disconnectReferenceCord(fixture: Int) async
}

/// The engine of one test station: fixtures, shared instruments, references, units.
public actor Station {
    /// The configuration the station started with: instruments and fixture wiring never change
    /// while it runs. Recipes and diagnosis rules may be reloaded (see `reload`).
    public nonisolated let config: StationConfig
    public nonisolated let data: DataDirectory
    public nonisolated let instruments: InstrumentSet
    public nonisolated let events = EventBus()
    public nonisolated let prompts: PromptCenter
    public nonisolated let startedAt: Date
    let arbiter = InstrumentArbiter()
    let logger: Logger
    let now: @Sendable () -> Date
    var active: StationConfig
    var hands: (any BenchHands)?
    /// Each fixture's references by reference cord id.
    var references: [Int: [String: Reference]] = [:]
    /// Every counted cord's matings (mirrors the store).
    var cordMatings: [String: Int] = [:]
    var busy: [Int: String] = [:]
    private var progress: [Int: UnitProgress] = [:]
    private var running: [Int: Task<UnitOutcome?, Never>] = [:]
    private var identities: [String: InstrumentIdentity] = [:]
    private var instrumentErrors: [String: String] = [:]
    var accepting = true
    /// Light sources that did not confirm off, with why; retried by `lightRetry` until they do.
    var lightMayBeOn: [String: String] = [:]
    var lightRetry: Task<Void, Never>?
    /// This station's claim on its data directory, released when it shuts down.
    private var dataLock: ExclusiveLock?
    /// What the composition root asked to run last at shutdown.
    private var onShutdown: @Sendable () -> Void = {}
    /// Instruments whose USB port was unplugged, with why; cleared when the port comes back.
    private var missing: [String: String] = [:]
    /// Where each udev-matched instrument's port currently is.
    private var devnodes: [String: String] = [:]
    /// A fixture whose unit lost an instrument to an unplug: (instrument, reason).
    private var unpluggedDuringUnit: [Int: (String, String)] = [:]
    private var deviceMonitor: UdevMonitor?
    /// The durable record of every unit (see `Store`).
    public nonisolated let store: Store
    var sinkRunners: [String: SinkRunner] = [:]
    var sinkTasks: [Task<Void, Never>] = []
    var sinkStatus: [String: SinkStatus] = [:]
    /// Why results cannot be stored right now (disk full, read-only); nil when they can.
    var storageProblem: String?
    /// Measured units whose record could not be committed yet, retried until it can.
    var unstored: [UnitReport] = []
    var storageRetry: Task<Void, Never>?
    /// Stored units whose report files could not be written yet, and why.
    var filesUnwritten: Set<UUID> = []
    var filesProblem: String?
    var filesRetry: Task<Void, Never>?

    /// Starts a station: claims and prepares the data directory, checks the store, then builds
    /// the instruments with `instruments` (given the folder for run-time files such as a
    /// simulator's pty links) and loads the references. `onShutdown` runs last in `shutdown()`
    /// (the composition root stops what it started for the instruments there).
    public static func make(config: StationConfig, data: DataDirectory,
                            instruments build: (_ runtimeDirectory: String) async throws -> InstrumentSet,
                            onShutdown: @escaping @Sendable () -> Void = {},
                            logger: Logger = Logger(label: "ferrule.station"),
                            now: @escaping @Sendable () -> Date = Date.init) async throws -> Station {
        let lock = try data.claim()  // before anything is written there: one station per data directory
        try data.prepare()
        try data.verifyStore()
        let store = try Store(path: data.storePath)
        data.tightenModes()
        let instruments = try await build(data.root + "/run")
        let station = Station(config: config, data: data, instruments: instruments, store: store, logger: logger, now: now)
        await station.hold(lock, onShutdown: onShutdown)
        await station.recover()
        await station.loadCordMatings()
        return station
    }

    private init(config: StationConfig, data: DataDirectory, instruments: InstrumentSet, store: Store, logger: Logger,
                 now: @escaping @Sendable () -> Date) {
        self.store = store
        self.config = config
        self.active = config
        self.data = data
        self.instruments = instruments
        self.logger = logger
        self.now = now
        self.startedAt = now()
        self.prompts = PromptCenter(events: events)
        for spec in config.instruments where spec.match != nil {
            devnodes[spec.name] = instruments.specs[spec.name]?.address
        }
        for f in config.fixtures {
            let (loaded, refused) = data.loadReferences(fixture: f.id, at: now())
            references[f.id] = Dictionary(loaded.map { ($0.cord.id, $0) }, uniquingKeysWith: { a, b in a.takenAt > b.takenAt ? a : b })
            for why in refused {
                logger.warning("reference file refused: \(why); take a new reference of fixture \(f.id)")
            }
        }
    }

    public func setHands(_ hands: (any BenchHands)?) { self.hands = hands }
    private func hold(_ lock: ExclusiveLock, onShutdown: @escaping @Sendable () -> Void) {
        dataLock = lock
        self.onShutdown = onShutdown
    }
    public var currentConfig: StationConfig { active }

    // MARK: Instruments

    /// Asks every instrument who it is. Returns the failures by instrument name.
    @discardableResult
    public func probe() async -> [String: String] {
        var failures: [String: String] = [:]
        for (name, ins) in instruments.all.sorted(by: { $0.key < $1.key }) {
            do {
                identities[name] = try await ins.identify()
                try? await store.saw(name, identities[name]!, at: now())
                instrumentErrors[name] = nil
            } catch {
                failures[name] = "\(error)"
                instrumentErrors[name] = "\(error)"
            }
        }
        return failures
    }

    public func identity(of name: String) -> InstrumentIdentity? { identities[name] }

    // MARK: Hot-plug

    /// Follows udev for instruments found by `match:`. False when no monitor can run here.
    @discardableResult
    public func watchDevices() -> Bool {
        guard deviceMonitor == nil, !devnodes.isEmpty else { return deviceMonitor != nil }
        let monitor = UdevMonitor()
        let ok = monitor.start { [weak self] action, device in
            guard let self else { return }
            Task { await self.deviceEvent(action, device) }
        }
        if ok { deviceMonitor = monitor }
        logger.info("udev monitor \(ok ? "watching" : "not available"): \(devnodes.keys.sorted().joined(separator: ", "))")
        return ok
    }

    /// An instrument's port went away or came back.
    public func deviceEvent(_ action: UdevMonitor.Action, _ device: UdevCandidate) async {
        switch action {
        case .remove:
            for (name, node) in devnodes where node == device.devnode && missing[name] == nil {
                let why = "\(name) was unplugged (\(device.devnode) removed)"
                missing[name] = why
                instrumentErrors[name] = why
                logger.error("\(why)")
                await (instruments.all[name] as? any Replugging)?.unplugged()
                await events.publish(.instrumentFault(instrument: name, detail: why))
                for w in config.fixtures where w.instruments.contains(name) || w.io == name {
                    guard let serial = busy[w.id], serial != "(reference)" else { continue }
                    unpluggedDuringUnit[w.id] = (name, "\(why) during the unit")
                    running[w.id]?.cancel()
                }
            }
        case .add:
            for spec in config.instruments where missing[spec.name] != nil {
                guard let match = spec.match, device.matches(match) else { continue }
                devnodes[spec.name] = device.devnode
                await (instruments.all[spec.name] as? any Replugging)?.replugged(at: .serial(path: device.devnode, spec.serial))
                missing[spec.name] = nil
                // The event can come before the node is usable (udev rules still setting its
                // owner, a USB-serial driver still binding): try for up to 2 s before calling it
                // a fault.
                for attempt in 1...10 {
                    do {
                        identities[spec.name] = try await instruments.all[spec.name]!.identify()
                        try? await store.saw(spec.name, identities[spec.name]!, at: now())
                        instrumentErrors[spec.name] = nil
                        break
                    } catch {
                        instrumentErrors[spec.name] = "\(error)"
                        if attempt < 10 { try? await Task.sleep(for: .milliseconds(200)) }
                    }
                }
                logger.info("\(spec.name) is back on \(device.devnode)")
                // A source that could not be switched off while it was gone is switched off first.
                if lightMayBeOn[spec.name] != nil { _ = await retrySourcesOff() }
                await events.publish(.instrumentReconnected(instrument: spec.name, address: device.devnode))
            }
        }
    }

    // MARK: Units

    private struct Prepared {
        var request: UnitRequest
        var recipe: Recipe
        var wiring: FixtureWiring
        var references: ReferenceBook
        var rules: DiagnosisRules
        /// Units started from the socket wait for the fixture's start button, when it has one.
        var waitForStart = false
    }

    /// All checks before a unit may start; marks the fixture busy. Nothing is measured.
    private func prepare(_ req: UnitRequest) throws(UnitRefused) -> Prepared {
        guard accepting else {
            throw UnitRefused(message: "the station is shutting down", fix: "start the unit after ferruled is back")
        }
        guard !req.serial.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw UnitRefused(message: "the serial number is empty", fix: "scan or type the unit's serial number")
        }
        try UnitRequest.checkField("serial", req.serial, fix: "scan the unit's label again")
        try UnitRequest.checkField("partNumber", req.partNumber, fix: "use the part number of a recipe")
        try UnitRequest.checkField("operator", req.operatorId, fix: "give the operator's badge id")
        guard let recipe = active.recipes[req.partNumber] else {
            throw UnitRefused(message: "no recipe for part number '\(req.partNumber)'", fix: "use one of: \(active.recipeOrder.joined(separator: ", "))")
        }
        guard let w = config.fixtures.first(where: { $0.id == req.fixture }) else {
            throw UnitRefused(message: "no fixture \(req.fixture)", fix: "use one of: \(config.fixtures.map { String($0.id) }.joined(separator: ", "))")
        }
        if let why = w.cannotTest(recipe.assembly) {
            throw UnitRefused(message: why, fix: "test \(req.partNumber) on a fixture cabled for \(recipe.assembly.fiberCount) fibers")
        }
        if let other = busy[w.id] {
            throw UnitRefused(message: "fixture \(w.id) is busy with \(other)", fix: "wait for it to finish or abort it")
        }
        if let name = (w.instruments.union(w.io.map { [$0] } ?? [])).sorted().first(where: { missing[$0] != nil }) {
            throw UnitRefused(message: missing[name]!, fix: "plug \(name) back in; the station reconnects by itself")
        }
        if let problem = lightRefusal(w) { throw problem }
        if let problem = cordRefusal(w) { throw problem }
        let book: ReferenceBook
        switch referenceBook(w, recipe: recipe) {
        case .success(let b): book = b
        case .failure(let problem): throw problem
        }
        if let problem = storageRefusal() { throw problem }
        busy[w.id] = req.serial
        unpluggedDuringUnit[w.id] = nil
        return Prepared(request: req, recipe: recipe, wiring: w, references: book, rules: active.rules)
    }

    /// Tests one unit on its fixture (already loaded). Throws `UnitRefused` before measuring
    /// anything; once measuring starts it always returns a written report (pass, fail, error or
    /// aborted). Cancelling the calling task aborts the unit safely.
    public func test(_ req: UnitRequest) async throws -> UnitOutcome {
        let prepared = try prepare(req)
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
    public func start(_ req: UnitRequest) throws(UnitRefused) -> Task<UnitOutcome?, Never> {
        var prepared = try prepare(req)
        prepared.waitForStart = true
        progress[req.fixture] = UnitProgress(serial: req.serial, partNumber: req.partNumber, state: "loading", startedAt: now(),
                                             fibersDone: 0, fibersTotal: prepared.recipe.assembly.layout.usedPositions.count)
        let task = Task<UnitOutcome?, Never> {
            var outcome: UnitOutcome?
            var failure: String?
            do {
                if let hands = self.hands { try await hands.loadUnit(req, recipe: prepared.recipe) }
                self.setState(req.fixture, "testing")
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
    private func finish(_ req: UnitRequest, outcome: UnitOutcome?, notStarted: String?) async {
        release(req.fixture)
        if let o = outcome, o.stored {
            await events.publish(.unitFinished(fixture: req.fixture, serial: req.serial, reportId: o.report.reportId,
                                               verdict: o.report.verdict, reportPath: o.reportPath))
        } else if let o = outcome {
            await events.publish(.unitHeld(fixture: req.fixture, serial: req.serial, reportId: o.report.reportId,
                                           verdict: o.report.verdict, reason: storageProblem ?? "the store refused the record"))
        } else {
            await events.publish(.unitNotStarted(fixture: req.fixture, serial: req.serial, reason: notStarted ?? "unknown"))
        }
    }

    /// Aborts the unit on a fixture: the source goes off, switches park, the report says `aborted`.
    public func abort(fixture: Int) throws(UnitRefused) {
        guard let task = running[fixture] else {
            throw UnitRefused(message: "no unit is running on fixture \(fixture)", fix: "check 'ferrulectl status'")
        }
        task.cancel()
    }

    /// Stops accepting units and aborts every running one; returns when their reports are written.
    public func shutdown() async {
        accepting = false
        let tasks = Array(running.values)
        for t in tasks { t.cancel() }
        for t in tasks { _ = await t.value }
        await waitForReferences()
        await lightOffBeforeExit()
        lightRetry?.cancel()
        storageRetry?.cancel()
        filesRetry?.cancel()
        if !unstored.isEmpty { _ = await flushUnstored() }
        if !unstored.isEmpty { logger.critical("\(unstored.count) measured unit(s) could not be stored before stopping: \(storageProblem ?? "")") }
        await stopSinks()
        onShutdown()
        deviceMonitor?.stop()
        dataLock = nil
    }

    private func release(_ fixture: Int) {
        busy[fixture] = nil
        progress[fixture] = nil
        running[fixture] = nil
    }

    private func setState(_ fixture: Int, _ state: String) { progress[fixture]?.state = state }

    fileprivate func fiberDone(_ fixture: Int, worstIl: Double?) {
        progress[fixture]?.fibersDone += 1
        if let il = worstIl, il > (progress[fixture]?.worstIlDb ?? -.infinity) { progress[fixture]?.worstIlDb = il }
    }

    private func run(_ p: Prepared) async throws -> UnitOutcome {
        let req = p.request, recipe = p.recipe, w = p.wiring
        let io = w.io.flatMap { instruments.fixtureIO[$0] }
        if let io { try await fixtureReady(io, p) }
        let reportId = UUID(), startedAt = now()
        let referencesUsed = Self.referencesUsed(p.references, recipe: recipe)
        await mate(w.testCords.all.map(\.id))  // the unit is mated to both test cords
        let cords = cordUses(w).filter { use in use.role != "reference" || referencesUsed.contains { $0.cord.id == use.id } }
        let station = UnitReport.Station(id: active.stationId, softwareVersion: FerruleVersion.current, configHash: active.hash)
        // Stored before the first light: a crash from here on leaves an `interrupted` record.
        try await beginRecord(UnitStart(reportId: reportId, serial: req.serial, partNumber: req.partNumber, fixture: w.id, operatorId: req.operatorId,
                                        startedAt: startedAt, station: station, recipe: recipe, rules: p.rules,
                                        instruments: instrumentRecords(w), references: referencesUsed, cords: cords))
        await setStackLight(io, .amber)
        let run = UnitRun(request: req, recipe: recipe, wiring: w, references: p.references, rules: p.rules,
                          instruments: instruments, interlock: Interlock(fixture: w.id, io: io), arbiter: arbiter, events: events, now: now,
                          reportId: reportId, startedAt: startedAt,
                          onFiber: { [weak self] fiber, arrival, steps in
                              await self?.recordFiber(reportId, fiber: fiber, arrival: arrival, steps: steps)
                              await self?.fiberDone(w.id, worstIl: steps.compactMap { s in UnitRun.insertionLoss(s) }.max())
                          })
        var result = await measureWatchingLid(run, io: io, fixture: w.id)
        if let (name, why) = unpluggedDuringUnit.removeValue(forKey: w.id) {
            result.aborted = false
            result.fault = why
            result.faultInstrument = name
            result.stopReason = "instrument unplugged"
        }
        await safeState(w)

        let judgement = Judge(recipe: recipe, rules: p.rules).judge(
            steps: result.steps, observed: result.observed, stopReason: result.stopReason, aborted: result.aborted, fault: result.fault)
        if judgement.referenceSuspect { await markSuspect(judgement, fixture: w.id, recipe: recipe, serial: req.serial) }
        if let f = result.fault, let name = result.faultInstrument {
            instrumentErrors[name] = f
            await events.publish(.instrumentFault(instrument: name, detail: f))
        } else if result.fault == nil, !result.steps.isEmpty {
            // Every instrument of the fixture just answered a whole unit: a fault shown from an
            // earlier unit is history now (its report keeps it).
            for name in w.instruments { instrumentErrors[name] = nil }
        }
        let report = UnitReport(
            reportId: result.reportId,
            unit: .init(serial: req.serial, partNumber: req.partNumber, description: recipe.description),
            recipe: recipe,
            station: station,
            fixture: w.id, operatorId: req.operatorId, startedAt: result.startedAt, finishedAt: now(),
            instruments: instrumentRecords(w),
            references: Self.referencesUsed(p.references, recipe: recipe, steps: result.steps), cords: cords,
            judgement: judgement)
        let (path, stored) = await keep(report)
        if result.faultInstrument == nil || result.faultInstrument != w.io {  // a dead module would only time out again
            await setStackLight(io, report.verdict == .pass ? .green : (report.verdict == .aborted ? .off : .red))
        }
        logger.info("unit finished", metadata: ["serial": "\(Escaped.text(req.serial))", "verdict": "\(report.verdict.rawValue)",
            "report": "\(path)"])
        return UnitOutcome(report: report, reportPath: path, stored: stored)
    }

    /// Before anything is measured: a part in the fixture, the start button (for units started
    /// from the socket) and the lid closed. Throws `UnitRefused` (or the module's fault).
    private func fixtureReady(_ io: any FixtureIO, _ p: Prepared) async throws {
        let id = p.wiring.id
        guard try await io.partPresent() else {
            throw UnitRefused(message: "the part sensor of fixture \(id) sees no unit", fix: "load \(p.request.serial) into fixture \(id) and start again")
        }
        if p.waitForStart && io.hasStartButton {
            setState(id, "waitingStart")
            let deadline = ContinuousClock.now + .milliseconds(Int64(active.control.promptTimeoutSeconds * 1000))
            while try await !io.startPressed() {
                guard ContinuousClock.now < deadline else {
                    throw UnitRefused(message: "the start button of fixture \(id) was not pressed within \(Int(active.control.promptTimeoutSeconds)) s",
                                      fix: "start the unit again and press the fixture's start button")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            setState(id, "testing")
        }
        guard try await io.lidClosed() else {
            throw UnitRefused(message: "the lid of fixture \(id) is open", fix: "close the lid and start the unit again")
        }
    }

    /// Measures while watching the lid: if it opens, the unit stops (aborted, source off); if the
    /// I/O module stops answering, the unit ends `error` naming it.
    private func measureWatchingLid(_ run: UnitRun, io: (any FixtureIO)?, fixture: Int) async -> UnitRun.Result {
        enum Child: Sendable { case measured(UnitRun.Result), lidOpened, ioFault(InstrumentError), stopped }
        let (measured, trip) = await withTaskGroup(of: Child.self) { g -> (UnitRun.Result?, Child?) in
            g.addTask { .measured(await run.measure()) }
            if let io {
                g.addTask {
                    while !Task.isCancelled {
                        do {
                            if try await !io.lidClosed() { return .lidOpened }
                        } catch let e as InstrumentError {
                            return .ioFault(e)
                        } catch { return .stopped }
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                    return .stopped
                }
            }
            var measured: UnitRun.Result?, trip: Child?
            while let c = await g.next() {
                switch c {
                case .measured(let r): measured = r
                case .lidOpened, .ioFault: if measured == nil && trip == nil { trip = c }
                case .stopped: break
                }
                g.cancelAll()
            }
            return (measured, trip)
        }
        var result = measured!
        switch trip {
        case .lidOpened where result.fault == nil:
            result.aborted = true
            result.stopReason = "the lid of fixture \(fixture) was opened during the unit; the light source was switched off"
            logger.warning("lid of fixture \(fixture) opened during a unit: stopped safely")
        case .ioFault(let e) where result.fault == nil:
            result.aborted = false
            result.fault = e.description
            result.faultInstrument = e.instrument
            result.stopReason = "the fixture's I/O module failed"
        default: break
        }
        return result
    }

    /// Best effort: a stack light that does not answer must not change a verdict.
    private func setStackLight(_ io: (any FixtureIO)?, _ light: StackLight) async {
        guard let io else { return }
        do { try await io.setStackLight(light) } catch { logger.warning("stack light: \(error)") }
    }

    private func instrumentRecords(_ w: FixtureWiring) -> [UnitReport.Instrument] {
        var roles: [(String, String)] = [("launchSwitch", w.launchSwitch), ("receiveSwitch", w.receiveSwitch),
                                         ("source", w.source), ("powerMeter", w.powerMeter)]
        if let rl = w.rlMeter { roles.append(("rlMeter", rl)) }
        if let io = w.io { roles.append(("fixtureIO", io)) }
        return roles.map { role, name in
            let spec = instruments.specs[name]
            return UnitReport.Instrument(role: role, name: name, driver: spec?.driver.rawValue ?? "?", address: spec?.address ?? "?",
                                         identity: identities[name], calibrationDue: spec?.calibrationDue)
        }
    }

    // MARK: Status

    /// The first idle fixture cabled for `partNumber`'s assembly (a unit started without a fixture).
    public func firstIdleFixture(for partNumber: String) throws(UnitRefused) -> Int {
        guard let recipe = active.recipes[partNumber] else {
            throw UnitRefused(message: "no recipe for part number '\(Escaped.text(partNumber))'",
                              fix: "use one of: \(active.recipeOrder.joined(separator: ", "))")
        }
        let states = status().fixtures
        guard let f = config.fixtures.first(where: { w in
            w.cannotTest(recipe.assembly) == nil && states.first { $0.id == w.id }?.state == "idle"
        }) else {
            throw UnitRefused(message: "no idle fixture can test \(Escaped.text(partNumber))",
                              fix: "wait for a fixture, or name one with \"fixture\"")
        }
        return f.id
    }


    public func status() -> StationStatus {
        let t = now()
        let fixtures = config.fixtures.map { w -> StationStatus.Fixture in
            let testable = active.recipes.values.filter { w.cannotTest($0.assembly) == nil }
            let validity = testable.map(\.reference.validitySeconds).min() ?? 8 * 3600
            let refs = references(fixture: w.id).map { r -> StationStatus.ReferenceState in
                let until = r.takenAt.addingTimeInterval(validity)
                return .init(state: r.suspect != nil ? "suspect" : (until < t ? "expired" : "valid"), takenAt: r.takenAt, validUntil: until,
                             suspect: r.suspect, cord: r.cord.id, polarity: r.cord.polarity)
            }
            let missing = StationStatus.ReferenceState(state: "missing", takenAt: nil, validUntil: nil, suspect: nil, cord: nil,
                polarity: nil)
            let state = progress[w.id]?.state ?? (busy[w.id] == "(reference)" ? "referencing" : "idle")
            return .init(id: w.id, state: state, unit: progress[w.id], reference: refs.first ?? missing, references: refs,
                cords: cordUses(w), sourceMayBeOn: sourceWarning(w))
        }
        let instrumentsStatus = config.instruments.map { spec in
            StationStatus.Instrument(name: spec.name, driver: spec.driver.rawValue, address: devnodes[spec.name] ?? spec.address,
                                     state: missing[spec.name] != nil ? "missing"
                                         : instrumentErrors[spec.name] != nil ? "fault" : (identities[spec.name] != nil ? "ok" : "unknown"),
                                     identity: identities[spec.name], lastError: instrumentErrors[spec.name])
        }
        return StationStatus(stationId: active.stationId, softwareVersion: FerruleVersion.current, configPath: active.sourcePath,
                             configHash: active.hash, dataDir: data.root, startedAt: startedAt, accepting: accepting,
                             fixtures: fixtures, instruments: instrumentsStatus,
                             storage: .init(path: store.path, sizeBytes: store.sizeOnDisk(), freeBytes: freeBytes(data.root),
                                            problem: storageProblem, unstoredUnits: unstored.count,
                                            reportFilesProblem: filesProblem, reportFilesUnwritten: filesUnwritten.count),
                             sinks: sinkStatus.values.sorted { $0.name < $1.name })
    }
}

/// Runs `body` even when the surrounding task is cancelled (for bringing a bench to a safe state).
func withTaskCancellationShield<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await Task.detached { try await body() }.value
}
