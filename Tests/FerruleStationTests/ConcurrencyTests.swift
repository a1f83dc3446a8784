import FerruleCore
import FerruleProtocol
import FerruleSetup
import FerruleSimSpec
import FerruleSimulator
import Foundation
import FerruleTesting
import Testing
@testable import FerruleConfig
@testable import FerruleStation

@Suite(.shutsDownStations) struct ConcurrencyTests {
    /// Under the `fiber` schedule both units progress at once; under `unit` (the default) the
    /// unit that got the shared instruments first keeps them until it ends.
    @Test(arguments: [InstrumentSchedule.fiber, .unit])
    func fixturesShareTheInstrumentsAsScheduled(schedule: InstrumentSchedule) async throws {
        var config = try slowBenchConfig(switchMs: 1, readMs: 1)
        config.schedule = schedule
        let (station, bench) = try await makeStation(config: config)
        let events = await station.events.subscribe()
        async let a = testUnit(station, bench, serial: "C-1", part: "FT-MTP24-OM4-A", fixture: 1)
        async let b = testUnit(
            station, bench, serial: "C-2", part: "FT-MTP24-OM4-A", fixture: 2,
            faults: [.highLoss(fiber: 20, extraDb: 1)])
        let (ra, rb) = try await (a, b)
        #expect(ra.report.verdict == .pass)
        #expect(rb.report.verdict == .fail && rb.report.diagnoses.first?.fibers == [20])
        await station.events.finish()
        var order: [Int] = []
        for await e in events { if case .step(let f, _, _, _, _, _, _, _, _) = e { order.append(f) } }
        #expect(order.count == 96)
        let runs = zip(order, order.dropFirst()).filter { $0 != $1 }.count + 1
        if schedule == .fiber {
            #expect(runs > 10)  // turns, fiber by fiber
        } else {
            #expect(runs == 2)  // one whole unit, then the other
        }
    }

    /// A fixture holding its switches gets its meter even while someone waits for switches and
    /// meter together (the light guard at the end of the other fixture's unit): queueing behind
    /// that waiter, which waits for the switches it holds, would hang both.
    @Test func aNestedLeaseDoesNotQueueBehindAWaiterForWhatItHolds() async throws {
        let arbiter = InstrumentArbiter()
        let whole = try await arbiter.withLease(["sw"]) {
            let whole = Task { try await arbiter.withLease(["sw", "meter"]) { "whole" } }
            try await waitUntil("the whole-set lease to queue") { await arbiter.waiting == 1 }
            #expect(try await arbiter.withLease(["meter"], nested: true) { "meter" } == "meter")
            return whole
        }
        #expect(try await whole.value == "whole")
    }

    @Test func arbiterNeverGrantsOverlappingLeases() async throws {
        let arbiter = InstrumentArbiter()
        let counter = Counter()
        try await withThrowingTaskGroup(of: Void.self) { g in
            for i in 0..<40 {
                let names: Set<String> = i % 3 == 0 ? ["sw", "meter"] : (i % 3 == 1 ? ["sw"] : ["meter", "other"])
                g.addTask {
                    try await arbiter.withLease(names) {
                        await counter.enter(names)
                        try await Task.sleep(for: .microseconds(200))
                        await counter.leave(names)
                    }
                }
            }
            try await g.waitForAll()
        }
        #expect(await counter.violations == 0)
        #expect(await counter.entries == 40)
    }

    /// A step cancelled while it waits for its instruments (a unit aborted) leaves the queue at
    /// once, holds nothing, and does not block the waiters behind it.
    @Test func aCancelledWaiterLeavesTheQueueAndBlocksNobody() async throws {
        let arbiter = InstrumentArbiter()
        let (release, open) = AsyncStream<Void>.makeStream()
        let holder = Task { try await arbiter.withLease(["sw"]) { for await _ in release { break } } }
        try await waitUntil("the holder holds sw") { await !arbiter.isFree(["sw"]) }
        let cancelled = Task { try await arbiter.withLease(["sw"]) { "granted" } }
        try await waitUntil("the first waiter queued") { await arbiter.waiting == 1 }
        let behind = Task { try await arbiter.withLease(["sw", "meter"]) { "granted" } }
        try await waitUntil("the second waiter queued") { await arbiter.waiting == 2 }

        cancelled.cancel()
        await #expect(throws: CancellationError.self) { _ = try await cancelled.value }
        #expect(await arbiter.waiting == 1)  // gone from the queue; sw still held by the holder
        open.yield()
        try await holder.value
        #expect(try await behind.value == "granted")
        // Nothing is left held: both instruments are free at once.
        #expect(await arbiter.isFree(["sw", "meter"]))
    }

    actor Counter {
        var held: [String: Int] = [:]
        var violations = 0
        var entries = 0
        func enter(_ n: Set<String>) {
            entries += 1
            for x in n {
                held[x, default: 0] += 1
                if held[x]! > 1 { violations += 1 }
            }
        }
        func leave(_ n: Set<String>) { for x in n { held[x]! -= 1 } }
    }
}
