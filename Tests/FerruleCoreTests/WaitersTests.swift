import Testing

@testable import FerruleCore

/// The wake primitive: a waiter returns when its owner announces the condition, at once when it
/// already holds, and when it is cancelled; it never misses an announcement made before it waited.
@Suite struct WaitersTests {
    actor Owner {
        let waiters = Waiters()
        var done = false
        func untilDone() async { await waiters.wait { done } }
        func finish() {
            done = true
            waiters.resumeAll()
        }
    }

    @Test(.timeLimit(.minutes(1))) func anAnnouncementWakesEveryWaiter() async {
        let owner = Owner()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<50 { group.addTask { await owner.untilDone() } }
            await owner.finish()  // before, between or after the waiters registered: none is left behind
        }
        #expect(await owner.done)
    }

    @Test(.timeLimit(.minutes(1))) func aConditionThatHoldsAlreadyDoesNotWait() async {
        let owner = Owner()
        await owner.finish()
        await owner.untilDone()
    }

    @Test(.timeLimit(.minutes(1))) func aCancelledWaiterReturnsWithoutTheAnnouncement() async {
        let owner = Owner()
        let waiting = Task { await owner.untilDone() }
        waiting.cancel()
        await waiting.value
        #expect(await owner.done == false)
        // And a deadline raced against it ends the race (as the daemon's stop does).
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await owner.untilDone() }
            group.addTask {}
            await group.next()
            group.cancelAll()
        }
        #expect(await owner.done == false)
    }
}
