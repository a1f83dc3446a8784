import FerruleControl
import FerruleCore
import FerruleConfig
import FerruleStation
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Sends READY=1 once the instruments were probed and the socket listens.
actor Readiness {
    let notifier: SystemdNotifier
    let logger: Logger
    private var parts: Set<String> = []
    init(notifier: SystemdNotifier, logger: Logger) {
        self.notifier = notifier
        self.logger = logger
    }
    func mark(_ part: String) async {
        parts.insert(part)
        if parts == ["station", "socket"] {
            if notifier.enabled, await !notifier.notifyUntilSent("READY=1\nSTATUS=ready") {
                logger.error("systemd did not take READY=1 (its notify socket is full or gone)")
            }
            logger.info("ready")
        }
    }
}

/// The status socket as a service; stops listening on graceful shutdown.
struct ControlService: Service {
    let server: ControlServer
    let readiness: Readiness

    func run() async throws {
        // Runs until the station service has stopped (it shuts down first), then drains clients.
        try await withGracefulShutdownHandler {
            try await server.run { await readiness.mark("socket") }
        } onGracefulShutdown: {
            server.shutdown()
        }
    }
}

/// SIGHUP: reload the config. A broken config is refused with its reason (log and socket) and
/// the running one kept; a good one applies to each fixture's next unit.
struct ReloadService: Service {
    let station: Station
    let configPath: String
    let logger: Logger

    func run() async throws {
        let hups = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in hups { await reload() }
        }
    }

    func reload() async {
        if case .applied(let applied) = await station.reload(fromFile: configPath) {
            let what = applied.isEmpty ? "nothing changed" : "applied: " + applied.joined(separator: "; ")
            logger.info("config reloaded from \(configPath); \(what)")
        }
    }
}

/// The station as a long-lived service: probes its instruments, keeps systemd informed, and on
/// shutdown stops accepting units and aborts the running ones into `aborted` reports.
struct StationService: Service {
    let station: Station
    let logger: Logger
    let readiness: Readiness
    let notifier: SystemdNotifier

    func run() async throws {
        let failures = await station.availability.probe()
        for (name, why) in failures.sorted(by: { $0.key < $1.key }) {
            logger.error("instrument \(name) did not answer: \(why)")
        }
        logger.info("station \(station.config.stationId) up", metadata: ["data": "\(station.data.root)"])
        await readiness.mark("station")
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await heartbeat() }
                try? await gracefulShutdown()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            Task { [notifier] in await notifier.notifyUntilSent("STOPPING=1\nSTATUS=stopping: aborting running units") }
        }
        await station.shutdown()
        logger.info("station \(station.config.stationId) stopped")
        await station.events.finish()
    }

    /// STATUS= lines as the state changes, and WATCHDOG=1 only while the engine answers. Driven
    /// by the station's events and by the watchdog's own period, so an idle daemon is not woken
    /// (without systemd, neither runs).
    private func heartbeat() async {
        guard notifier.enabled else { return }
        // Subscribed before the first line, so that no change falls between the two; a buffer
        // of one, for the status is read afresh at each event.
        let changes = await station.events.subscribe(buffer: 1)
        // The STATUS systemd has: a line it did not take (its queue full) is sent again at the next
        // change, or at the next watchdog tick, so that the last state of a burst is not lost.
        let sent = Mutex(await sendStatus(unlessSameAs: ""))
        let resend = { @Sendable in
            let last = sent.withLock { $0 }
            let now = await sendStatus(unlessSameAs: last)
            sent.withLock { $0 = now }
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in changes { await resend() }
            }
            if let interval = notifier.watchdogInterval {
                group.addTask {
                    while !Task.isCancelled {
                        _ = await station.status()  // a hung engine never gets here: systemd restarts it
                        notifier.notify("WATCHDOG=1")
                        await resend()
                        try? await Task.sleep(for: interval)
                    }
                }
            }
        }
    }

    /// Sends the fixtures' states as STATUS= when they differ from `last`; returns them.
    private func sendStatus(unlessSameAs last: String) async -> String {
        let s = await station.status()
        let text = s.fixtures.map { f in
            "fixture \(f.id): \(f.state)\(f.unit.map { " \($0.serial) \($0.fibersDone)/\($0.fibersTotal)" } ?? "")"
        }.joined(separator: "; ")
        guard text != last else { return text }
        // Not taken (systemd's queue full): `last` stays, so that the next change sends it again.
        return notifier.notify("STATUS=\(text)") ? text : last
    }
}
