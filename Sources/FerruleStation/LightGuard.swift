import FerruleConfig
import FerruleCore
import FerruleProtocol
import FerruleDevices
import Foundation
import Logging

/// Light off, always, and said. Every path that ends a unit or a reference (fault, abort,
/// interlock, SIGTERM, unplug) switches the fixture's source off and counts it off only when the
/// instrument confirmed the command. When it cannot confirm (no reply, garbage, unplugged), the
/// fixtures on that source say "source may be ON", refuse units and references, and the station
/// keeps trying to switch it off until the source confirms.
public actor LightGuard {
    let fixtures: [FixtureWiring]
    let instruments: InstrumentSet
    let arbiter: InstrumentArbiter
    let events: EventBus
    /// A source that may be on is a fault the line is told of (CFX FaultOccurred, AutoSafetyStop).
    let lineFaults: LineFaults
    let logger: Logger
    /// Light sources that did not confirm off, with why; retried by `keepSwitchingLightOff` until they do.
    var lightMayBeOn: [String: String] = [:]
    /// Wakes the light retry (see `LightRetryService`).
    nonisolated let lightTrouble = Kick()

    init(
        fixtures: [FixtureWiring], instruments: InstrumentSet, arbiter: InstrumentArbiter, events: EventBus, lineFaults: LineFaults,
        logger: Logger
    ) {
        self.lineFaults = lineFaults
        self.fixtures = fixtures
        self.instruments = instruments
        self.arbiter = arbiter
        self.events = events
        self.logger = logger
    }

    /// Source off and the fixture's switches parked. The switches are best effort; the source's
    /// answer decides whether light may still be on. Returns true when the source confirmed off.
    /// `leased`: the caller holds the fixture's instruments already (a unit under the `unit` schedule).
    @discardableResult
    func safeState(_ w: FixtureWiring, leased: Bool = false) async -> Bool {
        let ins = instruments
        let arbiter = arbiter
        // One lease for both; each outcome kept apart (the source's decides, the switches' is logged).
        let (off, parked): (String?, String?)
        do {
            let body: @Sendable () async -> (String?, String?) = {
                var off: String?
                var parked: String?
                do { try await ins.sources[w.source]?.disable() } catch { off = "\(error)" }
                do {
                    try await ins.switches[w.launchSwitch]?.park()
                    try await ins.switches[w.receiveSwitch]?.park()
                } catch { parked = "\(error)" }
                return (off, parked)
            }
            (off, parked) = try await withTaskCancellationShield {
                leased ? await body() : try await arbiter.withLease(w.instruments, body)
            }
        } catch {
            (off, parked) = ("\(error)", nil)  // the lease itself was not granted
        }
        if let parked { logger.warning("could not park the switches of fixture \(w.id): \(parked)") }
        guard let off else {
            await sourceConfirmedOff(w.source)
            return true
        }
        sourceMayBeOn(w.source, because: "\(w.source) did not confirm the source off: \(off)")
        return false
    }

    /// Why light may still be on at a fixture (its source did not confirm off), or nil.
    func sourceWarning(_ w: FixtureWiring) -> String? {
        lightMayBeOn[w.source].map { "source may be ON: \($0)" }
    }

    /// Refuses a unit or reference on a fixture whose source may be on.
    func lightRefusal(_ w: FixtureWiring) -> UnitRefused? {
        guard let why = lightMayBeOn[w.source] else { return nil }
        return UnitRefused(
            message: "the light source of fixture \(w.id) may be ON (\(why))",
            fix: "check \(w.source) (power, cable, the front panel's laser lamp); the station keeps switching it off "
                + "and takes units again once \(w.source) confirms it is off", Refusal(.sourceMayBeOn, fixture: w.id))
    }

    private func sourceMayBeOn(_ source: String, because why: String) {
        let first = lightMayBeOn[source] == nil
        lightMayBeOn[source] = why
        guard first else { return }
        logger.critical("light source \(source) may be ON: \(why); retrying until it confirms off")
        lineFaults.raise(.sourceMayBeOn, source, detail: why)
        let fixtures = fixtures.filter { $0.source == source }.map(\.id)
        Task { [events] in
            for f in fixtures { await events.publish(.sourceMayBeOn(fixture: f, detail: why)) }
        }
        lightTrouble.fire()
    }

    private func sourceConfirmedOff(_ source: String) async {
        guard lightMayBeOn.removeValue(forKey: source) != nil else { return }
        logger.notice("light source \(source) confirmed off")
        lineFaults.clear(.sourceMayBeOn, source)
        for w in fixtures where w.source == source { await events.publish(.sourceMayBeOn(fixture: w.id, detail: nil)) }
    }

    /// Runs until the station shuts down (see `LightRetryService`): whenever a source may be on,
    /// asks it every second to switch off until every source has confirmed.
    public func keepSwitchingLightOff() async {
        for await _ in lightTrouble.wakes {
            while !Task.isCancelled, await retrySourcesOff() {
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// One attempt per source that may be on; true while some still may be.
    /// A source that could not be switched off while it was unplugged is switched off first.
    func sourceIsBack(_ name: String) async {
        if lightMayBeOn[name] != nil { _ = await retrySourcesOff() }
    }

    func retrySourcesOff() async -> Bool {
        for source in lightMayBeOn.keys.sorted() {
            guard let w = fixtures.first(where: { $0.source == source }) else { continue }
            await safeState(w)
        }
        return !lightMayBeOn.isEmpty
    }

    /// At shutdown: every fixture's source off, retried for up to `limit` while one has not confirmed.
    func lightOffBeforeExit(limit: Duration = .seconds(10)) async {
        let deadline = ContinuousClock.now + limit
        for w in fixtures { await safeState(w) }
        while !lightMayBeOn.isEmpty, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(250))
            _ = await retrySourcesOff()
        }
        for (source, why) in lightMayBeOn {
            logger.critical("stopping with light source \(source) possibly ON: \(why)")
        }
    }
}
