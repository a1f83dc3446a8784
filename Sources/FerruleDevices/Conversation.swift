/// One conversation with an instrument at a time.
///
/// A driver actor alone does not give that: actors are reentrant, so while one operation waits
/// for a reply another may start (a probe's `*IDN?` in the middle of a switch move) and the two
/// exchanges tangle on one line. Every driver operation runs inside `run`, in arrival order.
public actor Conversation {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init() {}

    public func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        } else {
            busy = true
        }
        defer {
            if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
        }
        return try await body()
    }
}
