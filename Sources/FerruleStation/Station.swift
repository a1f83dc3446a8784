import FerruleCore
import FerruleDevices
import Foundation
import Logging

public enum FerruleVersion {
    public static let current = "0.1.0"
}

public struct UnitRequest: Sendable, Hashable {
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
}

public struct ReferenceFailed: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

public struct UnitOutcome: Sendable {
    public var report: UnitReport
    public var reportPath: String
}

/// The engine of one test station: fixtures, shared instruments, references, units.
public actor Station {
    public nonisolated let config: StationConfig
    public nonisolated let data: DataDirectory
    public nonisolated let instruments: InstrumentSet
    public nonisolated let events = EventBus()
    private let arbiter = InstrumentArbiter()
    private let logger: Logger
    private let now: @Sendable () -> Date
    private var references: [Int: Reference] = [:]
    private var busy: [Int: String] = [:]
    private var identities: [String: InstrumentIdentity] = [:]

    public init(config: StationConfig, data: DataDirectory, logger: Logger = Logger(label: "ferrule.station"),
                now: @escaping @Sendable () -> Date = Date.init) throws {
        self.config = config
        self.data = data
        self.instruments = InstrumentSet(config: config)
        self.logger = logger
        self.now = now
        try data.prepare()
        for f in config.fixtures {
            if let r = data.loadReference(fixture: f.id) { references[f.id] = r }
        }
    }

    // MARK: Instruments

    /// Asks every instrument who it is. Returns the failures by instrument name.
    @discardableResult
    public func probe() async -> [String: String] {
        var failures: [String: String] = [:]
        for (name, ins) in instruments.all.sorted(by: { $0.key < $1.key }) {
            do {
                identities[name] = try await ins.identify()
            } catch {
                failures[name] = "\(error)"
            }
        }
        return failures
    }

    public func identity(of name: String) -> InstrumentIdentity? { identities[name] }

    // MARK: References

    public func reference(fixture: Int) -> Reference? { references[fixture] }

    /// Wavelengths a fixture's reference must cover: every recipe wavelength its source has.
    public nonisolated func referenceWavelengths(fixture: FixtureWiring) -> [Int] {
        let available = Set(instruments.specs[fixture.source]?.wavelengthsNm ?? [])
        return Set(config.recipes.values.flatMap(\.wavelengthsNm)).intersection(available).sorted()
    }

    /// Takes a 1-cord reference with the straight reference cord mounted on the fixture:
    /// every launch position k read at receive position k, at every wavelength.
    public func takeReference(fixture id: Int, operatorId: String? = nil, method: ReferenceMethod = .oneCord) async throws -> Reference {
        guard let w = config.fixtures.first(where: { $0.id == id }) else {
            throw UnitRefused(message: "no fixture \(id)", fix: "use one of \(config.fixtures.map(\.id))")
        }
        if let serial = busy[id] {
            throw UnitRefused(message: "fixture \(id) is testing \(serial)", fix: "wait for the unit to finish or abort it")
        }
        busy[id] = "(reference)"
        defer { busy[id] = nil }
        let wls = referenceWavelengths(fixture: w)
        let positions = w.launchChannels.keys.sorted().filter { w.receiveChannels[$0] != nil }
        let ins = instruments
        var values: [Reference.Value] = []
        for p in positions {
            let v: [Reference.Value] = try await arbiter.withLease(w.instruments) {
                let lch = w.launchChannels[p]!, rch = w.receiveChannels[p]!
                try await ins.switches[w.launchSwitch]!.select(channel: lch)
                try await ins.switches[w.receiveSwitch]!.select(channel: rch)
                var out: [Reference.Value] = []
                for wl in wls {
                    try await ins.sources[w.source]!.enable(wavelengthNm: wl)
                    let r = try await ins.powerMeters[w.powerMeter]!.readPower(wavelengthNm: wl)
                    guard case .dBm(let dbm) = r else {
                        throw ReferenceFailed(message: "reference of fixture \(id): \(r) at position \(p), \(wl) nm; connect the straight reference cord to fixture \(id), clean it and retry")
                    }
                    out.append(.init(position: p, launchChannel: lch, receiveChannel: rch, wavelengthNm: wl, powerDbm: Judge.round(dbm, 3)))
                }
                return out
            }
            values += v
        }
        await safeState(w)
        let ref = Reference(fixture: id, method: method, takenAt: now(), operatorId: operatorId,
                            pairs: "straight reference cord: (launch k, receive k) for k = \(Judge.list(positions)); a fiber read at another receive position m uses the reference of k, so its IL also holds the difference between receive paths m and k (measurements[].referencedPair = false)",
                            values: values)
        try data.save(ref)
        references[id] = ref
        logger.info("reference taken", metadata: ["fixture": "\(id)", "values": "\(values.count)"])
        await events.publish(.referenceTaken(fixture: id, takenAt: ref.takenAt))
        return ref
    }

    private func checkReference(_ fixture: FixtureWiring, recipe: Recipe) throws -> Reference {
        let id = fixture.id
        guard let ref = references[id] else {
            throw UnitRefused(message: "fixture \(id) has no reference", fix: "connect the reference cord and take a reference (ferrulectl reference --fixture \(id))")
        }
        if let why = ref.suspect {
            throw UnitRefused(message: "the reference of fixture \(id) is suspect: \(why)", fix: "clean the test cords and take a new reference for fixture \(id)")
        }
        let age = now().timeIntervalSince(ref.takenAt)
        if age > recipe.reference.validitySeconds {
            throw UnitRefused(message: "the reference of fixture \(id) expired: taken \(Self.hours(age)) ago, \(recipe.partNumber) allows \(Self.hours(recipe.reference.validitySeconds))",
                              fix: "take a new reference for fixture \(id)")
        }
        if age < -60 {
            throw UnitRefused(message: "the reference of fixture \(id) is dated in the future (\(ref.takenAt))", fix: "check the station clock, then take a new reference")
        }
        for p in recipe.assembly.layout.usedPositions {
            for wl in recipe.wavelengthsNm where ref.value(position: p, wavelengthNm: wl) == nil {
                throw UnitRefused(message: "the reference of fixture \(id) has no value for position \(p) at \(wl) nm",
                                  fix: "take a new reference for fixture \(id) covering \(wl) nm")
            }
        }
        return ref
    }

    private static func hours(_ s: Double) -> String { String(format: "%.1f h", s / 3600) }

    // MARK: Units

    /// Tests one unit on its fixture. Throws `UnitRefused` before measuring anything; once
    /// measuring starts it always returns a written report (pass, fail, error or aborted).
    /// Cancelling the calling task aborts the unit safely.
    public func test(_ req: UnitRequest) async throws -> UnitOutcome {
        guard !req.serial.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw UnitRefused(message: "the serial number is empty", fix: "scan or type the unit's serial number")
        }
        guard let recipe = config.recipes[req.partNumber] else {
            throw UnitRefused(message: "no recipe for part number '\(req.partNumber)'", fix: "use one of: \(config.recipeOrder.joined(separator: ", "))")
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
        let ref = try checkReference(w, recipe: recipe)
        busy[w.id] = req.serial
        defer { busy[w.id] = nil }

        let run = UnitRun(request: req, recipe: recipe, wiring: w, reference: ref, rules: config.rules,
                          instruments: instruments, arbiter: arbiter, events: events, now: now)
        let result = await run.measure()
        await safeState(w)

        let judgement = Judge(recipe: recipe, rules: config.rules).judge(
            steps: result.steps, observed: result.observed, stopReason: result.stopReason, aborted: result.aborted, fault: result.fault)
        if judgement.referenceSuspect {
            var r = ref
            r.suspect = "negative IL beyond \(recipe.reference.negativeIlToleranceDb) dB on unit \(req.serial)"
            references[w.id] = r
            try? data.save(r)
            await events.publish(.referenceNeeded(fixture: w.id, reason: r.suspect!))
        }
        if let f = result.fault, let name = result.faultInstrument {
            await events.publish(.instrumentFault(instrument: name, detail: f))
        }
        let report = UnitReport(
            reportId: result.reportId,
            unit: .init(serial: req.serial, partNumber: req.partNumber, description: recipe.description),
            recipe: recipe,
            station: .init(id: config.stationId, softwareVersion: FerruleVersion.current, configHash: config.hash),
            fixture: w.id, operatorId: req.operatorId, startedAt: result.startedAt, finishedAt: now(),
            instruments: instrumentRecords(w),
            reference: .init(method: ref.method, takenAt: ref.takenAt,
                             validUntil: ref.takenAt.addingTimeInterval(recipe.reference.validitySeconds),
                             pairs: ref.pairs,
                             values: ref.values.filter { v in recipe.wavelengthsNm.contains(v.wavelengthNm) && recipe.assembly.layout.usedPositions.contains(v.position) }),
            judgement: judgement)
        let path = try data.write(report)
        logger.info("unit finished", metadata: ["serial": "\(req.serial)", "verdict": "\(report.verdict.rawValue)", "report": "\(path)"])
        await events.publish(.unitFinished(fixture: w.id, serial: req.serial, verdict: report.verdict, reportPath: path))
        return UnitOutcome(report: report, reportPath: path)
    }

    private func instrumentRecords(_ w: FixtureWiring) -> [UnitReport.Instrument] {
        var roles: [(String, String)] = [("launchSwitch", w.launchSwitch), ("receiveSwitch", w.receiveSwitch),
                                         ("source", w.source), ("powerMeter", w.powerMeter)]
        if let rl = w.rlMeter { roles.append(("rlMeter", rl)) }
        return roles.map { role, name in
            let spec = instruments.specs[name]
            return UnitReport.Instrument(role: role, name: name, driver: spec?.driver.rawValue ?? "?", address: spec?.address ?? "?",
                                         identity: identities[name], calibrationDue: spec?.calibrationDue)
        }
    }

    /// Source off and the fixture's switches parked, best effort (a fault here is logged, not thrown).
    private func safeState(_ w: FixtureWiring) async {
        let ins = instruments, arbiter = arbiter
        do {
            try await withTaskCancellationShield {
                try await arbiter.withLease(w.instruments) {
                    try await ins.sources[w.source]?.disable()
                    try await ins.switches[w.launchSwitch]?.park()
                    try await ins.switches[w.receiveSwitch]?.park()
                }
            }
        } catch {
            logger.warning("could not bring fixture \(w.id) to a safe state: \(error)")
        }
    }
}

/// Runs `body` even when the surrounding task is cancelled (for bringing a bench to a safe state).
func withTaskCancellationShield<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await Task.detached { try await body() }.value
}
