/// Grants a fixture exclusive use of a set of instruments for one measuring step.
///
/// Fixtures share switches and meters. A step sets the launch and receive switches and reads
/// the meter; nobody else may move those switches in between. A step asks for all its
/// instruments at once and gets them all or waits, so two fixtures can never deadlock, and
/// waiters are served in arrival order when their sets are free.
///
/// One nesting is allowed: a holder of a fixture's switches may ask for its source and meters
/// (`nested`). Such a lease does not queue behind earlier waiters: they may be waiting for the
/// switches it holds, and it would wait for them in turn. It cannot deadlock, because nobody who
/// holds a source or a meter ever waits for anything while holding it.
public actor InstrumentArbiter {
    private struct Waiter {
        let id: UInt64
        let names: Set<String>
        let nested: Bool
        let continuation: CheckedContinuation<Void, any Error>
    }
    private var busy: Set<String> = []
    private var waiters: [Waiter] = []
    private var nextId: UInt64 = 0

    public init() {}

    /// How many leases are waiting (for tests and status).
    var waiting: Int { waiters.count }

    /// Whether a lease on `names` would be granted at once.
    func isFree(_ names: Set<String>) -> Bool {
        busy.isDisjoint(with: names) && !waiters.contains { !$0.names.isDisjoint(with: names) }
    }

    /// Runs `body` holding every instrument in `names`. Cancellation while waiting throws.
    public func withLease<T: Sendable>(
        _ names: Set<String>, nested: Bool = false, _ body: @Sendable () async throws -> T
    ) async throws -> T {
        try await acquire(names, nested: nested)
        do {
            let v = try await body()
            release(names)
            return v
        } catch {
            release(names)
            throw error
        }
    }

    private func acquire(_ names: Set<String>, nested: Bool) async throws {
        try Task.checkCancellation()
        if busy.isDisjoint(with: names) && (nested || !waiters.contains(where: { !$0.names.isDisjoint(with: names) })) {
            busy.formUnion(names)
            return
        }
        nextId += 1
        let id = nextId
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                waiters.append(Waiter(id: id, names: names, nested: nested, continuation: c))
            }
        } onCancel: {
            Task { await self.cancel(id) }
        }
    }

    private func cancel(_ id: UInt64) {
        guard let i = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: i).continuation.resume(throwing: CancellationError())
        grant()
    }

    private func release(_ names: Set<String>) {
        busy.subtract(names)
        grant()
    }

    /// Wake every waiter whose set is free, in order; a waiter blocks later ones that overlap it
    /// (a nested one neither waits for earlier waiters nor blocks later ones).
    private func grant() {
        var blocked: Set<String> = []
        var i = 0
        while i < waiters.count {
            let w = waiters[i]
            if busy.isDisjoint(with: w.names) && (w.nested || blocked.isDisjoint(with: w.names)) {
                busy.formUnion(w.names)
                waiters.remove(at: i)
                w.continuation.resume()
            } else {
                if !w.nested { blocked.formUnion(w.names) }
                i += 1
            }
        }
    }
}
