import FerruleConfig
import FerruleCore
import FerruleDevices
import FerruleProtocol
import FerruleRecords
import Foundation
import Logging

/// The software version written into every report.
public enum FerruleVersion {
    public static let current = "0.1.0"
}

/// A request to test one unit: serial, part number, fixture and operator.
public struct UnitRequest: Sendable, Hashable, Codable {
    public var serial: String
    public var partNumber: String
    public var fixture: Int
    public var operatorId: String
    /// Who asked, as the server saw it (the socket peer's OS user, the web user); on the report.
    public var requestedBy: String?

    public init(serial: String, partNumber: String, fixture: Int, operatorId: String) {
        self.serial = serial
        self.partNumber = partNumber
        self.fixture = fixture
        self.operatorId = operatorId
    }
}

/// A unit the station will not start, and what to do about it. Nothing was measured.
/// `message` and `fix` are English sentences without a command line; `refusal` says the same
/// in terms a client words for itself, with the fix as an action where there is one.
public struct UnitRefused: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var fix: String
    public var refusal: Refusal
    public var description: String { "\(message). Fix: \(fix)" + (refusal.remedy.map { " (\($0.commandLine))" } ?? "") }

    public init(message: String, fix: String, _ refusal: Refusal = Refusal(.other)) {
        self.message = message
        self.fix = fix
        self.refusal = refusal
    }
}

/// A reference that could not be taken, with why and the fix.
public struct ReferenceFailed: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// A finished unit: its report, where the file is, and whether the record is committed.
public struct UnitOutcome: Sendable {
    public var report: UnitReport
    /// Where the report is (or will be, once stored).
    public var reportPath: String
    /// Where the record is: committed, or waiting for the store to take writes again.
    public var kept: Kept = .stored
    /// False while the record waits for the store to take writes again.
    public var stored: Bool { kept == .stored }

    public enum Kept: Sendable, Equatable {
        /// In the store: the unit is done.
        case stored
        /// In the spill file and in memory: it survives a stop, and is stored when the store can.
        case spilled
        /// Only in memory: neither the store nor the spill file took it.
        case memoryOnly
    }
}

/// What occupies a fixture: a unit (by serial) or a reference being taken.
enum FixtureUse: Sendable, Hashable, CustomStringConvertible {
    case unit(serial: String)
    case reference

    var description: String {
        switch self {
        case .unit(let serial): return Escaped.text(serial)
        case .reference: return "a reference"
        }
    }
}

/// Who puts things into a fixture: the simulator does it itself, a real bench asks the operator.
public protocol BenchHands: Sendable {
    func loadUnit(_ request: UnitRequest, recipe: Recipe) async throws
    func unloadUnit(fixture: Int) async
    func connectReferenceCord(fixture: Int, cord: ReferenceCord) async throws
    func disconnectReferenceCord(fixture: Int) async
}

/// The engine of one test station: admits and sequences units and references on the fixtures,
/// and coordinates the parts that each keep one concern: references and cords
/// (`referenceKeeper`), instrument availability (`availability`), light safety (`light`), records
/// (`records`) and delivery (`delivery`).
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
    /// What occupies each fixture that is not idle.
    var busy: [Int: FixtureUse] = [:] {
        didSet {
            if !busy.values.contains(.reference) { referencesDone.resumeAll() }
            noteResourceState()
        }
    }
    /// The station's state as the line counts it, since when, and whether an instrument shows a fault.
    var resourceState: (state: LineMessage.ResourceState, since: Date)?
    var faulted = false
    /// Who waits for the references in progress to end (`waitForReferences`).
    private let referencesDone = Waiters()
    var progress: [Int: UnitProgress] = [:]
    var running: [Int: Task<UnitOutcome?, Never>] = [:]
    var accepting = true
    private var shutDownStarted = false
    /// Each fixture's latest finished unit, for a screen that (re)connects after its verdict.
    var lastUnits: [Int: StationStatus.LastUnit] = [:]
    /// Watches each part's IL per position and wavelength for a slow rise (see `TrendMonitor`).
    var trend = TrendMonitor()
    /// Watches each fixture's failures against the station's other fixtures (`FixtureYieldWatch`).
    var fixtureYield = FixtureYieldWatch()
    /// Where the web app listens, once it does (for `status`).
    var webAddress: String?
    /// The line's recipes in use and where they came from (see CentralRecipeLoader.swift).
    var centralRecipes: StationStatus.CentralRecipes?
    /// Light sources switched off after every unit and reference, and kept trying (see `LightGuard`).
    public nonisolated let light: LightGuard
    /// Who each instrument is, its last fault, and which are unplugged (see `InstrumentAvailability`).
    public nonisolated let availability: InstrumentAvailability
    /// Each fixture's references and every cord's wear (see `ReferenceKeeper`).
    public nonisolated let referenceKeeper: ReferenceKeeper
    /// This station's claim on its data directory, released when it shuts down.
    var dataLock: ExclusiveLock?
    /// What the composition root asked to run last at shutdown.
    var onShutdown: @Sendable () async -> Void = {}
    /// A fixture whose unit lost an instrument to an unplug: (instrument, reason).
    var unpluggedDuringUnit: [Int: (String, String)] = [:]
    /// Every unit's record, its files, and storage trouble (see `RecordKeeper`).
    public nonisolated let records: RecordKeeper
    /// The durable record of every unit (see `Store`).
    public nonisolated var store: Store { records.store }
    /// The sink runners that deliver stored units (Services, run by the composition root).
    public nonisolated let delivery: Delivery
    /// Asks the MES whether a serial may be tested, before any light (`mes.routeCheck`).
    nonisolated let routeCheck: (any RouteCheck)?

    /// Starts a station on `storage` (opened and checked by the composition root), builds
    /// the instruments with `instruments` (given the folder for run-time files such as a
    /// simulator's pty links) and loads the references. `onShutdown` runs last in `shutdown()`
    /// (the composition root stops what it started for the instruments there). `sinks` are where
    /// reports go, built by the composition root (their runners retry after `sinkBackoff`,
    /// doubling); `routeCheck` asks the MES before any light.
    public static func make(
        config: StationConfig, storage: StationStorage,
        instruments build: (_ runtimeDirectory: String) async throws -> InstrumentSet,
        onShutdown: @escaping @Sendable () async -> Void = {},
        sinks: [any Sink] = [], routeCheck: (any RouteCheck)? = nil, sinkBackoff: Duration = .seconds(1),
        logger: Logger = Logger(label: "ferrule.station"),
        now: @escaping @Sendable () -> Date = Date.init
    ) async throws -> Station {
        let (data, store, spill) = (storage.data, storage.store, storage.spill)
        let instruments = try await build(data.root + "/run")
        let station = Station(
            config: config, data: data, instruments: instruments, store: store, spill: spill, logger: logger, now: now,
            sinks: sinks, routeCheck: routeCheck, sinkBackoff: sinkBackoff)
        await station.hold(storage.lock, onShutdown: onShutdown)
        await station.availability.whenUnplugged { [weak station] name, why in await station?.instrumentUnplugged(name, why) }
        // Through the same ordered queue as the faults' messages, so a fault raised and cleared
        // in quick succession reaches the station in that order.
        station.records.lineFaults.whenFaultedChanges { [weak station] faulted in await station?.faultsChanged(faulted) }
        await station.noteResourceState()
        await station.records.checkStoreAfter(storage.integrityCheckAfter)
        await station.records.recover()
        await station.referenceKeeper.loadCordMatings()
        await station.resumeTrends()
        return station
    }

    private init(
        config: StationConfig, data: DataDirectory, instruments: InstrumentSet, store: Store, spill: SpillFile, logger: Logger,
        now: @escaping @Sendable () -> Date, sinks: [any Sink], routeCheck: (any RouteCheck)?, sinkBackoff: Duration
    ) {
        let delivery = Delivery(sinks: sinks, config: config, store: store, events: events, logger: logger, baseBackoff: sinkBackoff)
        self.delivery = delivery
        self.routeCheck = routeCheck
        let lineFaults = LineFaults(delivery: delivery, logger: logger, now: now)
        records = RecordKeeper(
            store: store, spill: spill, data: data, certificate: config.certificate, events: events, delivery: delivery,
            lineFaults: lineFaults, logger: logger, now: now)
        self.config = config
        self.active = config
        self.data = data
        self.instruments = instruments
        self.logger = logger
        self.now = now
        self.startedAt = now()
        self.prompts = PromptCenter(events: events)
        light = LightGuard(
            fixtures: config.fixtures, instruments: instruments, arbiter: arbiter, events: events, lineFaults: lineFaults, logger: logger)
        referenceKeeper = ReferenceKeeper(config: config, data: data, records: records, events: events, logger: logger, now: now)
        availability = InstrumentAvailability(
            specs: config.instruments, instruments: instruments, store: store, light: light, events: events, lineFaults: lineFaults,
            logger: logger, now: now)
    }

    public func setHands(_ hands: (any BenchHands)?) { self.hands = hands }
    func hold(_ lock: ExclusiveLock, onShutdown: @escaping @Sendable () async -> Void) {
        dataLock = lock
        self.onShutdown = onShutdown
    }
    public var currentConfig: StationConfig { active }

    /// An instrument went away: a unit that uses it stops, its report naming the instrument.
    func instrumentUnplugged(_ name: String, _ why: String) {
        for w in config.fixtures where w.instruments.contains(name) || w.io == name {
            guard case .unit = busy[w.id] else { continue }
            unpluggedDuringUnit[w.id] = (name, "\(why) during the unit")
            running[w.id]?.cancel()
        }
    }

    /// Aborts the unit on a fixture: the source goes off, switches park, the report says `aborted`.
    public func abort(fixture: Int) throws(UnitRefused) {
        guard let task = running[fixture] else {
            throw UnitRefused(message: "no unit is running on fixture \(fixture)", fix: "check the fixture's state")
        }
        task.cancel()
    }

    /// Stops accepting units and aborts every running one; returns when their reports are written.
    /// The station's services (retries, device watch, sink runners) stop after it, with the group.
    public func shutdown() async {
        guard !shutDownStarted else { return }  // once: a second call would switch the light off again
        shutDownStarted = true
        accepting = false
        let tasks = Array(running.values)
        for t in tasks { t.cancel() }
        for t in tasks { _ = await t.value }
        await waitForReferences()
        await light.lightOffBeforeExit()
        await records.flushBeforeExit()
        await delivery.lineQueue.drain()  // the last moments (state changes, faults) are in the store before it closes
        await routeCheck?.shutdown()
        await onShutdown()
        dataLock = nil
    }

    /// At shutdown: a reference in progress stops at its next path (it checks `accepting`); wait for it.
    func waitForReferences(limit: Duration = .seconds(15)) async {
        guard busy.values.contains(.reference) else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.untilNoReference() }
            group.addTask { try? await Task.sleep(for: limit) }  // a deadline, not a poll
            await group.next()
            group.cancelAll()
        }
    }

    private func untilNoReference() async { await referencesDone.wait { !busy.values.contains(.reference) } }

    func release(_ fixture: Int) {
        busy[fixture] = nil
        progress[fixture] = nil
        running[fixture] = nil
    }

}

/// Runs `body` even when the surrounding task is cancelled (for bringing a bench to a safe state).
func withTaskCancellationShield<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await Task.detached { try await body() }.value
}
