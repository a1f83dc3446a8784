import Synchronization

/// Tasks waiting until their owner (an actor) says a condition holds: the one wake primitive for
/// "until the last client left" or "until no reference runs", instead of polling. The owner
/// calls `wait(until:)` with its condition and `resumeAll()` whenever it may have become true.
/// A cancelled waiter is resumed at once, so a deadline raced against it never leaves it behind.
public final class Waiters: Sendable {
    private struct State {
        var pending: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var cancelled: Set<UInt64> = []
        var next: UInt64 = 0
    }
    private let state = Mutex(State())

    public init() {}

    /// Returns when `ready()` holds (checked first, on the caller's actor, so no announcement
    /// between the check and the wait is missed), after `resumeAll()`, or when cancelled.
    public func wait(isolation: isolated (any Actor)? = #isolation, until ready: () -> Bool) async {
        let ticket = state.withLock { s in
            s.next += 1
            return s.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation(isolation: isolation) { (c: CheckedContinuation<Void, Never>) in
                let holds = ready()
                let now = state.withLock { s -> Bool in
                    if holds || s.cancelled.remove(ticket) != nil { return true }
                    s.pending[ticket] = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            let waiting = state.withLock { s -> CheckedContinuation<Void, Never>? in
                if let c = s.pending.removeValue(forKey: ticket) { return c }
                s.cancelled.insert(ticket)
                return nil
            }
            waiting?.resume()
        }
        state.withLock { _ = $0.cancelled.remove(ticket) }
    }

    /// Resumes every waiter: the condition holds now.
    public func resumeAll() {
        let all = state.withLock { s in
            defer { s.pending.removeAll() }
            return Array(s.pending.values)
        }
        for c in all { c.resume() }
    }
}

/// Wakes a loop that waits for work: the one wake primitive beside `Waiters`. While the loop is
/// busy at most one wake is kept, so trouble reported ten times while it works means one more
/// look, not ten, and a wake that comes between the loop's last look and its wait is not lost.
/// The loop ends when its task is cancelled (the stream then finishes for it).
public struct Kick: Sendable {
    public let wakes: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    public init() { (wakes, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1)) }

    public func fire() { continuation.yield() }
}
