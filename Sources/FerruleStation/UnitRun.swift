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
        var fault: String?
        var faultInstrument: String?
        var stopReason: String?
        var aborted = false
    }

    let request: UnitRequest
    let recipe: Recipe
    let wiring: FixtureWiring
    let reference: Reference
    let rules: DiagnosisRules
    let instruments: InstrumentSet
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

    func measure() async -> Result {
        var result = Result(reportId: reportId, startedAt: startedAt)
        await events.publish(.unitStarted(fixture: wiring.id, serial: request.serial, partNumber: request.partNumber, reportId: result.reportId))
        let spec = recipe.assembly
        let expected = spec.expectedMap()
        for fiber in spec.layout.usedPositions {
            if Task.isCancelled {
                result.aborted = true
                result.stopReason = "stopped before fiber \(fiber)"
                break
            }
            do {
                let (steps, arrival) = try await measureFiber(fiber, expectedReceive: expected[fiber]!)
                result.steps += steps
                result.observed[fiber] = arrival
                for s in steps {
                    let il = s.power?.dBmValue.map { s.referenceDbm - $0 }
                    let limitOK = il.map { $0 <= (recipe.limits.ilMaxDb[s.wavelengthNm] ?? .infinity) } ?? false
                    await events.publish(.step(fixture: wiring.id, serial: request.serial, fiber: fiber, wavelengthNm: s.wavelengthNm,
                                               receivePosition: arrival, ilDb: il, rlDb: s.rlDb,
                                               verdict: limitOK && arrival == expected[fiber] ? .pass : .fail))
                }
                await onFiber(fiber, arrival, steps)
            } catch let e as InterlockOpen {
                result.aborted = true
                result.stopReason = "\(e.description) at fiber \(fiber); the light source was switched off"
                break
            } catch let e as InstrumentError {
                result.fault = e.description
                result.faultInstrument = e.instrument
                result.stopReason = "instrument fault on fiber \(fiber)"
                break
            } catch is CancellationError {
                result.aborted = true
                result.stopReason = "stopped during fiber \(fiber)"
                break
            } catch {
                result.fault = "\(error)"
                result.stopReason = "unexpected error on fiber \(fiber)"
                break
            }
        }
        return result
    }

    /// Measures one fiber at every wavelength while holding the fixture's instruments.
    /// The switches are always set inside the lease: nothing relies on a setting made before it.
    private func measureFiber(_ fiber: Int, expectedReceive: Int) async throws -> ([RawStep], Int?) {
        let w = wiring, ins = instruments, recipe = recipe, rules = rules, reference = reference
        let candidates = scanOrder(fiber: fiber, expected: expectedReceive)
        return try await arbiter.withLease(w.instruments) {
            let launch = ins.switches[w.launchSwitch]!, receive = ins.switches[w.receiveSwitch]!
            let source = ins.sources[w.source]!, meter = ins.powerMeters[w.powerMeter]!
            let rlMeter = w.rlMeter.flatMap { ins.rlMeters[$0] }
            try await interlock.check()  // the source may still be on from the last fiber
            try await launch.select(channel: w.launchChannels[fiber]!)
            var steps: [RawStep] = []
            var arrival: Int?? = .none  // unknown until the first wavelength has been looked for
            for wl in recipe.wavelengthsNm {
                try Task.checkCancellation()
                let ref = reference.value(position: fiber, wavelengthNm: wl)!.powerDbm
                func lit(_ r: PowerReading) -> Bool {
                    if case .dBm(let p) = r { return ref - p < rules.lightThresholdIlDb }
                    return r == .overRange
                }
                try await interlock.check()
                try await source.enable(wavelengthNm: wl)
                let at = (arrival ?? nil) ?? expectedReceive
                try await receive.select(channel: w.receiveChannels[at]!)
                var reading = try await meter.readPower(wavelengthNm: wl)
                var position = at
                if arrival == nil {
                    // Polarity: find where this fiber's light really arrives.
                    if lit(reading) {
                        arrival = .some(at)
                    } else {
                        arrival = .some(nil)
                        for q in candidates {
                            try Task.checkCancellation()
                            try await receive.select(channel: w.receiveChannels[q]!)
                            let r = try await meter.readPower(wavelengthNm: wl)
                            if lit(r) {
                                arrival = .some(q)
                                reading = r
                                position = q
                                break
                            }
                        }
                        if arrival! == nil { reading = .noLight; position = expectedReceive }
                    }
                }
                let rl = try await rlMeter?.readReturnLoss(wavelengthNm: wl)
                steps.append(RawStep(fiber: fiber, wavelengthNm: wl, expectedReceivePosition: expectedReceive,
                                     receivePosition: position, referenceDbm: ref, referencedPair: position == fiber,
                                     power: reading, rlDb: rl, fault: nil))
            }
            return (steps, arrival ?? nil)
        }
    }

    /// Where to look when a fiber's light is not at its expected position: first where the other
    /// polarity types would put it, then every other receive position.
    private func scanOrder(fiber: Int, expected: Int) -> [Int] {
        let spec = recipe.assembly
        var order: [Int] = []
        for t in PolarityType.allCases {
            if let q = PolarityMap.standard(t, layout: spec.layout, kind: spec.kind)[fiber], q != expected, !order.contains(q) {
                order.append(q)
            }
        }
        for q in spec.receivePositions where q != expected && !order.contains(q) && wiring.receiveChannels[q] != nil {
            order.append(q)
        }
        return order
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
