import Foundation

/// Failed sign-ins, counted per user id and per address: after `limit` failures within `window`,
/// that user (or that address) must wait `lockout` before trying again, even with the right PIN.
/// A success clears the user's count (not the address's: one good PIN must not unlock guessing
/// other users' PINs from the same panel).
actor SignInGuard {
    private struct Count {
        var failures: [Date] = []
        var lockedUntil: Date?
    }

    private let limit: Int
    private let window: TimeInterval
    private let lockout: TimeInterval
    private var byUser: [String: Count] = [:]
    private var byAddress: [String: Count] = [:]

    init(limit: Int, window: TimeInterval = 15 * 60, lockout: TimeInterval = 5 * 60) {
        self.limit = limit
        self.window = window
        self.lockout = lockout
    }

    /// Seconds to wait before this user or address may try again, or nil.
    func waitBeforeTrying(user: String, address: String, now: Date = Date()) -> Int? {
        let until = [byUser[user]?.lockedUntil, byAddress[address]?.lockedUntil].compactMap { $0 }.max()
        guard let until, until > now else { return nil }
        return Int(until.timeIntervalSince(now).rounded(.up))
    }

    func failed(user: String, address: String, now: Date = Date()) {
        count(&byUser[user, default: Count()], now: now)
        count(&byAddress[address, default: Count()], now: now)
        // Bounded memory under a flood of made-up ids: forget counts that have nothing left to say.
        if byUser.count > 10_000 { byUser = byUser.filter { $0.value.lockedUntil.map { $0 > now } ?? false } }
        if byAddress.count > 10_000 { byAddress = byAddress.filter { $0.value.lockedUntil.map { $0 > now } ?? false } }
    }

    func succeeded(user: String) { byUser[user] = nil }

    private func count(_ c: inout Count, now: Date) {
        c.failures = c.failures.filter { now.timeIntervalSince($0) < window } + [now]
        if c.failures.count >= limit {
            c.lockedUntil = now.addingTimeInterval(lockout)
            c.failures = []
        }
    }
}
