import FerruleConfig
import FerruleCore
import FerruleDevices
import Foundation

// A unit on a fixture that one self-sequencing instrument measures (the MAP-300 PCT): the
// station decides the paths, the instrument runs them and is read out, and the engine turns what
// it read into the same steps, arrivals and stops as on a stepped bench, so that the judge,
// references, reports and events do not know the difference.
extension UnitRun {
    /// Measures every used fiber on the path the recipe expects; a fiber dark there at every
    /// wavelength is looked for with the instrument's port map, and measured where its light
    /// arrives. A good unit costs one measurement; a polarity fault one port map and one more.
    func measureSequenced(_ meter: any PathSetMeter) async -> Result {
        var result = Result(reportId: reportId, startedAt: startedAt)
        await events.publish(
            .unitStarted(fixture: wiring.id, serial: request.serial, partNumber: request.partNumber, reportId: result.reportId))
        let expected = recipe.assembly.expectedMap()
        let used = recipe.assembly.layout.usedPositions.filter { expected[$0] != nil }
        let outcome: Sequenced
        do {
            outcome = try await leased { await sequence(meter, used: used, expected: expected.pairs) }
        } catch {
            outcome = Sequenced(failure: error)  // cancelled while waiting for the instrument
        }
        if let failure = outcome.failure { result.stop = stopping(by: failure) }
        let readings = outcome.readings, arrival = outcome.arrival
        let judge = Judge(recipe: recipe, rules: rules)
        let positionOf = Dictionary(uniqueKeysWithValues: wiring.receiveChannels.map { ($0.value, $0.key) })
        for f in used where readings[f] != nil {
            let steps = readings[f]!.map { step(f, $0, expected: expected[f]!, positionOf: positionOf) }
            result.steps += steps
            if let a = arrival[f] { result.observed[f] = a }
            let fiber = Fiber(steps: steps, arrival: arrival[f])  // absent: unknown; .some(nil): dark everywhere
            await announce(f, fiber, expected: expected[f]!, judge: judge)
        }
        return result
    }

    /// What the instrument gave, kept when a later step of the sequence failed.
    struct Sequenced: Sendable {
        var readings: [Int: [PathReading]] = [:]
        var arrival: [Int: Int?] = [:]
        var failure: (any Error)?
    }

    private func sequence(_ meter: any PathSetMeter, used: [Int], expected: [Int: Int]) async -> Sequenced {
        var out = Sequenced()
        do {
            try await interlock.check()  // before any light enters: the lid closed
            out.readings = group(try await meter.measure(plan(Dictionary(uniqueKeysWithValues: used.map { ($0, expected[$0]!) }))))
            let dark = used.filter { f in out.readings[f]?.allSatisfy { $0.loss == .noLight } ?? true }
            for f in used where !dark.contains(f) { out.arrival[f] = .some(expected[f]!) }
            guard !dark.isEmpty else { return out }
            let found = try await locate(dark, meter: meter)
            for f in dark { out.arrival[f] = .some(found[f] ?? nil) }
            let moved = found.compactMapValues { $0 }.filter { $0.value != expected[$0.key] }
            if !moved.isEmpty {
                try await interlock.check()
                out.readings.merge(group(try await meter.measure(plan(moved)))) { _, new in new }
            }
        } catch {
            out.failure = error
        }
        return out
    }

    /// A fault ends the unit `error` naming the instrument and the command; no fiber is to blame.
    private func stopping(by error: any Error) -> UnitStop {
        switch error {
        case let e as InterlockOpen:
            return .interlock(fixture: e.fixture, reason: "\(e.description); the measurement was stopped")
        case let e as InstrumentError:
            return .fault(instrument: e.instrument, command: e.operation, fiber: nil, message: e.description)
        case is CancellationError:
            return .aborted(reason: "stopped during the measurement")
        default:
            return .fault(instrument: nil, command: nil, fiber: nil, message: "\(error)")
        }
    }

    /// Holds the fixture's instrument for the measurement (already held under the `unit` schedule).
    private func leased<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if unitLeased { return try await body() }
        return try await arbiter.withLease(wiring.instruments, body)
    }

    /// The instrument's paths for `links` (end-A position -> receive position), in position order.
    private func plan(_ links: [Int: Int]) throws -> PathSetPlan {
        PathSetPlan(
            launchPort: wiring.launchPort ?? 1,
            paths: try links.sorted { $0.key < $1.key }.map { try wiring.path($0.key, $0.value) },
            wavelengthsNm: recipe.wavelengthsNm, rlWindow: recipe.rlWindow)
    }

    /// Readings by the end-A position their launch channel serves.
    private func group(_ readings: [PathReading]) -> [Int: [PathReading]] {
        let fiberOf = Dictionary(uniqueKeysWithValues: wiring.launchChannels.map { ($0.value, $0.key) })
        return Dictionary(grouping: readings.filter { fiberOf[$0.path.launchChannel] != nil }) { fiberOf[$0.path.launchChannel]! }
    }

    /// Where the light of `fibers` arrives, by the instrument's port map over every cabled receive position.
    private func locate(_ fibers: [Int], meter: any PathSetMeter) async throws -> [Int: Int?] {
        let cabled = recipe.assembly.receivePositions.compactMap { q in wiring.receiveChannels[q].map { (position: q, channel: $0) } }
        let positionOf = Dictionary(uniqueKeysWithValues: cabled.map { ($0.channel, $0.position) })
        try await interlock.check()
        let launchChannels = try fibers.map { try wiring.launchChannel($0) }
        let found = try await meter.locate(
            launchChannels: launchChannels, receiveChannels: cabled.map(\.channel), launchPort: wiring.launchPort ?? 1)
        var out: [Int: Int?] = [:]
        for (f, channel) in zip(fibers, launchChannels) { out[f] = .some(found[channel].flatMap { $0 }.flatMap { positionOf[$0] }) }
        return out
    }

    /// One reading as a step: the instrument's IL, judged only on a path Ferrule's reference book
    /// also covers (the reference it had the instrument take there).
    private func step(_ fiber: Int, _ r: PathReading, expected: Int, positionOf: [Int: Int]) -> RawStep {
        let q = positionOf[r.path.receiveChannel] ?? expected
        let covered = references.value(launch: fiber, receive: q, wavelengthNm: r.wavelengthNm)
        var s = RawStep(
            fiber: fiber, wavelengthNm: r.wavelengthNm, expectedReceivePosition: expected, receivePosition: q,
            referenceDbm: covered?.value.powerDbm, referenceCord: covered?.cord, power: nil, rlDb: r.returnLoss.endA,
            rlBDb: r.returnLoss.endB, fault: nil)
        switch r.loss {
        case .dB(let il): s.instrumentIlDb = il
        case .noLight: s.power = .noLight
        case .overRange: s.power = .overRange
        }
        s.lengthM = r.lengthM
        return s
    }
}
