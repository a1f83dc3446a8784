import FerruleConfig
import FerruleCore
import FerruleDevices
import Foundation

/// One unit's measurement: every used fiber, every wavelength, with the polarity search.
struct UnitRun: Sendable {
    struct Result: Sendable {
        var reportId: UUID
        var startedAt: Date
        var steps: [RawStep] = []
        /// Fiber -> where its light arrived (nil: nowhere). Only fibers that were checked.
        var observed: [Int: Int?] = [:]
        var stop: UnitStop = .completed
    }

    let request: UnitRequest
    let recipe: Recipe
    let wiring: FixtureWiring
    /// The valid references of the fixture: each IL only against its own path's value.
    let references: ReferenceBook
    let rules: DiagnosisRules
    /// The fixture's instruments, found before the unit started.
    let rig: FixtureRig
    /// The fixture's interlock: checked before light can enter the fixture.
    let interlock: Interlock
    let arbiter: InstrumentArbiter
    let events: EventBus
    let now: @Sendable () -> Date
    let reportId: UUID
    let startedAt: Date
    /// Called after each fiber with where its light arrived and its steps (to store them at
    /// once, and for progress).
    let onFiber: @Sendable (_ fiber: Int, _ arrival: Int?, _ steps: [RawStep]) async -> Void

    /// IL of a step by the one measurement rule (nil: dark, over range or on an unreferenced path).
    static func insertionLoss(_ s: RawStep) -> Double? {
        guard case .dBm(let p)? = s.power, let ref = s.referenceDbm else { return nil }
        return MeasurementRule.insertionLoss(referenceDbm: ref, powerDbm: p)
    }

    /// What one fiber gave: its steps (kept even when an error cut it short) and where its light arrived.
    struct Fiber: Sendable {
        var steps: [RawStep] = []
        var arrival: Int?? = .none  // unknown until the first wavelength has been looked for
        var failure: (any Error)?
        /// The wavelength the laser was left at (the last one read).
        var laserAt: Int?
    }

    /// The order a fiber's wavelengths are read in: the recipe's, or reversed where the laser is
    /// already at its last one, so that the laser changes once per fiber (1310-1550, then
    /// 1550-1310) instead of twice; each change costs the laser's settling time on a real bench.
    /// Reports and events keep the recipe's order.
    static func wavelengthOrder(_ recipe: [Int], laserAt: Int?) -> [Int] {
        recipe.count > 1 && laserAt == recipe.last ? recipe.reversed() : recipe
    }

    /// Whether the caller holds every instrument of the fixture for the whole unit (the `unit`
    /// schedule); otherwise each fiber leases them (see `measureFiber`).
    let unitLeased: Bool

    /// Every used fiber in order; learns where fibers arrive, and stops early on an all-dark unit.
    func measure() async -> Result {
        let rig: SteppedRig
        switch self.rig {
        case .sequenced(let meter): return await measureSequenced(meter)
        case .stepped(let stepped): rig = stepped
        }
        var result = Result(reportId: reportId, startedAt: startedAt)
        await events.publish(
            .unitStarted(fixture: wiring.id, serial: request.serial, partNumber: request.partNumber, reportId: result.reportId))
        let expected = recipe.assembly.expectedMap()
        let judge = Judge(recipe: recipe, rules: rules)
        var predictor = ArrivalPredictor(expected: expected, layout: recipe.assembly.layout, kind: recipe.assembly.kind)
        let used = recipe.assembly.layout.usedPositions
        let cabled = recipe.assembly.receivePositions.filter { wiring.receiveChannels[$0] != nil }
        var darkEverywhere = 0
        var anyLit = false
        // A fiber is stored and announced while the next one is measured (the store's writer
        // works on its own thread), in order, and all before the unit ends. Unstructured, so
        // that an aborted unit still records every fiber it measured.
        var announced: Task<Void, Never>?
        var laserOn = false
        var laserAt: Int?
        for fiber in used {
            if Task.isCancelled {
                result.stop = .aborted(reason: "stopped before fiber \(fiber)")
                break
            }
            let candidates = predictor.candidates(fiber, positions: cabled)
            let wavelengths = Self.wavelengthOrder(recipe.wavelengthsNm, laserAt: laserAt)
            let f = await measureFiber(
                fiber, expectedReceive: expected[fiber]!, candidates: candidates, wavelengths: wavelengths, laserOn: laserOn, rig: rig)
            result.steps += f.steps
            laserOn = unitLeased && !f.steps.isEmpty  // a reading was taken, so the unit's laser is on
            laserAt = f.laserAt ?? laserAt
            if let arrival = f.arrival {
                result.observed[fiber] = .some(arrival)
                if let q = arrival {
                    predictor.observe(fiber: fiber, arrival: q)
                    anyLit = true
                } else {
                    darkEverywhere += 1
                }
            }
            await announced?.value  // one fiber in the writer's hands at a time: a slow disk holds the engine back
            announced = Task(executorPreference: InstrumentThread.taskExecutor) { [self] in
                await announce(fiber, f, expected: expected[fiber]!, judge: judge)
            }
            if let error = f.failure {
                result.stop = Self.stop(by: error, onFiber: fiber)
                break
            }
            if !anyLit, rules.allDarkAfterFibers > 0, darkEverywhere >= rules.allDarkAfterFibers, fiber != used.last {
                result.stop = .allDark(fibers: darkEverywhere)
                break
            }
        }
        await announced?.value
        return result
    }

    /// Stores a measured fiber, then tells the watchers.
    func announce(_ fiber: Int, _ f: Fiber, expected: Int, judge: Judge) async {
        // Recorded before it is announced: a step event means the reading is committed, so a
        // crash right after one can never lose what a watcher has seen (see `Store` for a power loss).
        if !f.steps.isEmpty { await onFiber(fiber, f.arrival ?? nil, f.steps) }
        for s in f.steps {
            let m = judge.measure(s)
            let onPath = (f.arrival ?? nil) == expected
            await events.publish(
                .step(
                    fixture: wiring.id, serial: request.serial, fiber: fiber, wavelengthNm: s.wavelengthNm,
                    receivePosition: m.receivePosition, ilDb: m.ilDb, rlDb: m.rlDb, rlBDb: m.rlBDb,
                    verdict: m.verdict == .pass && !onPath ? .fail : m.verdict))
        }
    }

    /// Why a unit ends when measuring `fiber` threw `error`.
    static func stop(by error: any Error, onFiber fiber: Int) -> UnitStop {
        switch error {
        case let e as InterlockOpen:
            return .interlock(fixture: e.fixture, reason: "\(e.description) at fiber \(fiber); the light source was switched off")
        case let e as InstrumentError:
            return .fault(instrument: e.instrument, command: e.operation, fiber: fiber, message: "\(e.description), on fiber \(fiber)")
        case is CancellationError:
            return .aborted(reason: "stopped during fiber \(fiber)")
        default:
            return .fault(instrument: nil, command: nil, fiber: fiber, message: "\(error), on fiber \(fiber)")
        }
    }

    /// Measures one fiber at every wavelength. Under the `fiber` schedule it leases the fixture's
    /// switches for the whole fiber (nobody moves them between the move and the last reading)
    /// and the source and meters only for the readings, so that a fixture with switches of its
    /// own moves them while another fixture reads.
    private func measureFiber(
        _ fiber: Int, expectedReceive: Int, candidates: [Int], wavelengths: [Int], laserOn: Bool, rig: SteppedRig
    ) async -> Fiber {
        let w = wiring
        let switches: Set<String> = [w.launchSwitch, w.receiveSwitch]
        let readers = w.instruments.subtracting(switches)
        let run: @Sendable () async -> Fiber = {
            do {
                // Holding the source too (the unit's lease), its laser is set while the switches move.
                try await moveSwitches(
                    fiber, receive: candidates.first ?? expectedReceive, first: wavelengths[0], setSource: unitLeased, laserOn: laserOn,
                    rig: rig)
            } catch {
                return Fiber(failure: error)
            }
            let measure = { @Sendable in
                await measureHeld(fiber, expectedReceive: expectedReceive, candidates: candidates, wavelengths: wavelengths, rig: rig)
            }
            if unitLeased || readers.isEmpty { return await measure() }
            do {
                return try await arbiter.withLease(readers, nested: true) { await measure() }
            } catch {
                return Fiber(failure: error)
            }
        }
        if unitLeased { return await run() }
        do {
            return try await arbiter.withLease(switches, run)
        } catch {
            return Fiber(failure: error)  // cancelled while waiting for the instruments
        }
    }

    /// Both switches move at once (each waits only for itself), and meanwhile the lid is read
    /// and, with `setSource`, the laser set to the first wavelength: the fiber's light path is
    /// ready in the time of the slower switch. A laser that is off is switched on only once the
    /// lid reads closed; one already on for this unit (`laserOn`) changes its wavelength while
    /// the lid is read, as that lets no more light into the fixture than there is.
    private func moveSwitches(_ fiber: Int, receive q: Int, first: Int, setSource: Bool, laserOn: Bool, rig: SteppedRig) async throws {
        let w = wiring
        let source = rig.source
        async let light: Void = {
            if setSource && laserOn {
                async let lid: Void = interlock.check()
                try await source.enable(wavelengthNm: first)
                try await lid
            } else {
                try await interlock.check()  // before any light enters: the lid closed
                if setSource { try await source.enable(wavelengthNm: first) }
            }
        }()
        let path = try w.path(fiber, q)
        async let launch: Void = rig.launch.select(channel: path.launchChannel)
        async let receive: Void = rig.receive.select(channel: path.receiveChannel)
        _ = try await (light, launch, receive)
    }

    /// Every wavelength of a fiber whose switches are set, in `wavelengths`' order. The first
    /// wavelength read finds where the light arrives; every wavelength is then judged on its own reading (a fiber lit at 1310 nm
    /// can be dark at 1550 nm). The lid was read as the switches moved; the lid watcher reads it
    /// every 50 ms besides, and a lid found open stops the unit with the source off.
    private func measureHeld(_ fiber: Int, expectedReceive: Int, candidates: [Int], wavelengths: [Int], rig: SteppedRig) async -> Fiber {
        let w = wiring
        let (receive, source, meter) = (rig.receive, rig.source, rig.meter)
        // An RL reading nobody judges is not taken: on an RL1 it costs about a second per wavelength.
        let rlMeter = recipe.limits.judgesReturnLoss ? rig.rlMeter : nil
        // Where the meter is also the RL meter or the source, one line does their parts (`Joined`).
        let box = meter as? any CombinedMeter
        let joinsRL = box != nil && rlMeter != nil && w.rlMeter == w.powerMeter
        let joinsLaser = box != nil && w.source == w.powerMeter
        var f = Fiber()
        do {
            for (index, wl) in wavelengths.enumerated() {
                try Task.checkCancellation()
                // A later wavelength's laser change rides on its first reading: nothing could overlap it.
                let laserOnReading = joinsLaser && index > 0
                if !laserOnReading { try await source.enable(wavelengthNm: wl) }  // no exchange when the laser is already there
                f.laserAt = wl
                let joined = box.flatMap {
                    joinsRL || laserOnReading ? Joined(box: $0, returnLoss: joinsRL, settingLaser: laserOnReading) : nil
                }
                var step = RawStep(
                    fiber: fiber, wavelengthNm: wl, expectedReceivePosition: expectedReceive,
                    receivePosition: (f.arrival ?? nil) ?? expectedReceive, referenceDbm: nil,
                    power: nil, rlDb: nil, fault: nil)
                do {
                    let (q, light, rlTaken) = try await locate(
                        fiber, wl, expected: expectedReceive, candidates: candidates, arrival: f.arrival, receive: receive,
                        meter: meter, joined: joined)
                    if f.arrival == nil || (f.arrival! == nil && light != .dark) { f.arrival = .some(light == .dark ? nil : q) }
                    let covered = references.value(launch: fiber, receive: q, wavelengthNm: wl)
                    step.receivePosition = q
                    step.referenceDbm = covered?.value.powerDbm
                    step.referenceCord = covered?.cord
                    switch light {
                    case .lit(let p): step.power = .dBm(p)
                    case .dark: step.power = .noLight
                    case .overRange: step.power = .overRange
                    }
                    var rl = rlTaken
                    if rl == nil { rl = try await rlMeter?.readReturnLoss(wavelengthNm: wl) }
                    if let rl {
                        step.rlDb = rl.endA
                        step.rlBDb = rl.endB
                    }
                } catch let e as InstrumentError {
                    step.fault = e.description  // what was read before the fault stays with the step
                    f.steps.append(step)
                    throw e
                }
                f.steps.append(step)
            }
        } catch {
            f.failure = error
        }
        let rank = Dictionary(uniqueKeysWithValues: recipe.wavelengthsNm.enumerated().map { ($1, $0) })
        f.steps.sort { rank[$0.wavelengthNm, default: 0] < rank[$1.wavelengthNm, default: 0] }  // the recipe's order
        return f
    }

    /// What a wavelength's first reading also does on its line, where one box is the meter and
    /// the RL meter or the source.
    struct Joined {
        let box: any CombinedMeter
        /// The fiber's RL (it does not depend on the receive position, so it holds wherever the
        /// light is found).
        let returnLoss: Bool
        /// The laser's change to the wavelength.
        let settingLaser: Bool
    }

    /// Reads the fiber's light at one wavelength: at the position it arrived at, or, at the first
    /// wavelength, looking for it at `candidates` in order (the predicted position first). The
    /// first reading does what `joined` asks besides; the RL comes back if it took it.
    private func locate(
        _ fiber: Int, _ wl: Int, expected: Int, candidates: [Int], arrival: Int??, receive: any OpticalSwitch,
        meter: any PowerMeter, joined: Joined?
    ) async throws -> (Int, Light, ReturnLossReading?) {
        // Dark everywhere at a longer wavelength read first (see `wavelengthOrder`): looked for
        // again at the recipe's first, so that a fiber dark only at 1550 nm is still found.
        let darkSoFar = arrival.map { $0 == nil } ?? false
        let search = arrival == nil || (darkSoFar && wl == recipe.wavelengthsNm.first)
        let order = search ? candidates : [(arrival ?? nil) ?? expected]
        if search, order.count > 1, joined == nil, wiring.receiveSwitch == wiring.powerMeter, let ports = meter as? any MultiPortMeter {
            return try await locateAtOnce(fiber, wl, order: order, expected: expected, arrival: arrival, ports: ports, receive: receive)
        }
        var rl: ReturnLossReading?
        for (index, q) in order.enumerated() {
            try Task.checkCancellation()
            try await receive.select(channel: wiring.receiveChannel(q))  // no move when it is already there
            let reading: PowerReading
            if let joined, index == 0 {
                (reading, rl) = try await joined.box.read(
                    wavelengthNm: wl, returnLoss: joined.returnLoss, settingLaser: joined.settingLaser)
            } else {
                reading = try await meter.readPower(wavelengthNm: wl)
            }
            let ref =
                references.value(launch: fiber, receive: q, wavelengthNm: wl)?.value.powerDbm
                ?? references.anyValue(launch: fiber, wavelengthNm: wl)
            let light = MeasurementRule.classify(reading, referenceDbm: ref, lightThresholdIlDb: rules.lightThresholdIlDb)
            if light != .dark { return (q, light, rl) }
        }
        return (arrival.map { $0 ?? expected } ?? expected, .dark, rl)
    }
}

extension UnitRun {
    /// A multi-port meter in place of the receive switch: every candidate position is read in one
    /// exchange, the first lit one in `order` is where the light arrived (and the port the
    /// fixture's later wavelengths read).
    func locateAtOnce(
        _ fiber: Int, _ wl: Int, order: [Int], expected: Int, arrival: Int??, ports: any MultiPortMeter, receive: any OpticalSwitch
    ) async throws -> (Int, Light, ReturnLossReading?) {
        let all = try await ports.readAll(wavelengthNm: wl)
        for q in order {
            guard let port = wiring.receiveChannels[q], all.indices.contains(port - 1) else { continue }
            let ref = references.value(launch: fiber, receive: q, wavelengthNm: wl)?.value.powerDbm
                ?? references.anyValue(launch: fiber, wavelengthNm: wl)
            let light = MeasurementRule.classify(all[port - 1], referenceDbm: ref, lightThresholdIlDb: rules.lightThresholdIlDb)
            if light != .dark {
                try await receive.select(channel: port)
                return (q, light, nil)
            }
        }
        return (arrival.map { $0 ?? expected } ?? expected, .dark, nil)
    }
}

/// The lid of a fixture was found open where light would enter it.
public struct InterlockOpen: Error, Sendable, CustomStringConvertible {
    public var fixture: Int
    public var description: String { "the lid of fixture \(fixture) is open" }
}

/// A fixture's lid interlock, read from its I/O module. Without one it always passes.
struct Interlock: Sendable {
    let fixture: Int
    let io: (any FixtureIO)?

    func check() async throws {
        guard let io else { return }
        if try await !io.lidClosed() { throw InterlockOpen(fixture: fixture) }
    }
}
