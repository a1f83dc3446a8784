import FerruleConfig
import FerruleCore
import FerruleDevices
import FerruleProtocol
import Foundation
import Logging
import ServiceLifecycle

/// What the fixed scanners' scans do: a serial starts a unit on the scanner's fixture, a part
/// number chooses the part for the units scanned next there (it stays chosen, as a line runs
/// one part for hours). Every scan is answered with a `scan` event; a refused one starts nothing.
public actor ScanDesk {
    let station: Station
    /// The part scanned last at each fixture.
    private var chosenPart: [Int: String] = [:]
    /// Who signed in with a badge at each fixture, and when they last scanned there.
    private var badgeOperator: [Int: (id: String, lastScan: Date)] = [:]

    init(station: Station) { self.station = station }

    /// Reads one scan of `scanner`, acts on it and says what it did. Returns the event it published.
    @discardableResult
    public func handle(_ raw: String, from scanner: FixtureScanner) async -> StationEvent {
        let (accepted, detail, refusal) = await act(on: raw, scanner)
        let line = "scanner \(scanner.instrument) at fixture \(scanner.fixture): \(Escaped.text(raw)): \(Escaped.text(detail))"
        if accepted { station.logger.info("\(line)") } else { station.logger.warning("\(line)") }
        let event = StationEvent.scan(
            fixture: scanner.fixture, scanner: scanner.instrument, text: raw, accepted: accepted, detail: detail, refusal: refusal)
        await station.events.publish(event)
        return event
    }

    /// Whether the scan was taken, and what it did or why not (typed where the station refused the unit).
    private func act(on raw: String, _ scanner: FixtureScanner) async -> (Bool, String, Refusal?) {
        let f = scanner.fixture
        let now = station.now()
        let config = await station.currentConfig  // one look at the running config per scan
        await signOutIfIdle(at: f, now: now, idle: config.http?.idleSignOutSeconds ?? HTTPSpec.defaultIdleSignOutSeconds)
        let text = raw.trimmingCharacters(in: .whitespaces)
        if let user = config.users.first(where: { $0.badge == text }) {
            return (true, await badge(user, at: f, now: now), nil)
        }
        if let prefix = scanner.badgePrefix, text.hasPrefix(prefix) {
            return (false, "badge \(Escaped.text(text)) is no user's; ask a supervisor to add it to the station's users", nil)
        }
        badgeOperator[f]?.lastScan = now
        let parts = Set(config.recipes.keys)
        let content: ScanContent
        do { content = try scanner.read(raw, knownParts: parts) } catch {
            return (false, error.description, nil)
        }
        switch content {
        case .partNumber(let part):
            chosenPart[f] = part
            return (true, "part \(part) chosen for fixture \(f); scan the units' serials", nil)
        case .unit(let serial, let scannedPart):
            guard let part = scannedPart ?? chosenPart[f] else {
                return (false, "no part number for \(Escaped.text(serial)); scan the part number's barcode first", nil)
            }
            guard parts.contains(part) else {
                return (false, "part number \(Escaped.text(part)) has no recipe; scan a part this station tests", nil)
            }
            var unit = UnitRequest(serial: serial, partNumber: part, fixture: f, operatorId: badgeOperator[f]?.id ?? scanner.operatorId)
            unit.requestedBy = "scanner \(scanner.instrument)"
            do {
                try await station.start(unit)
            } catch {
                return (false, "\(error.message). Fix: \(error.fix)", error.refusal)
            }
            return (true, "testing \(Escaped.text(serial)) as \(part) on fixture \(f)", nil)
        }
    }
}

extension ScanDesk {
    /// A badge scanned at fixture `f`: its user signs in there (whoever was signed in there signs
    /// out), or signs out if they were signed in. Units scanned there next carry who is signed in.
    private func badge(_ user: StationUser, at f: Int, now: Date) async -> String {
        let via = "badge at fixture \(f)"
        if let current = badgeOperator.removeValue(forKey: f) {
            await station.operatorDeactivated(current.id, via: via)
            if current.id == user.id { return "\(user.name) (\(user.id)) signed out at fixture \(f)" }
        }
        badgeOperator[f] = (user.id, now)
        await station.operatorActivated(user.id, via: via)
        return "\(user.name) (\(user.id)) signed in at fixture \(f); units scanned here are theirs until they scan their badge again"
    }

    /// Signs out the badge's operator at fixture `f` after the web app's idle time without a scan
    /// there (stamped at the moment it ran out), so a unit scanned later is not theirs.
    private func signOutIfIdle(at f: Int, now: Date, idle: Double) async {
        guard let current = badgeOperator[f] else { return }
        guard now.timeIntervalSince(current.lastScan) > idle else { return }
        badgeOperator[f] = nil
        await station.operatorDeactivated(current.id, via: "badge at fixture \(f) (idle)", at: current.lastScan.addingTimeInterval(idle))
    }
}

/// Reads one fixed scanner for as long as the station runs: its scans go to the `ScanDesk`.
/// An unplugged or failing scanner is reported once and opened again every 2 s until it is back.
public struct ScannerService: Service {
    let scanner: FixtureScanner
    let device: any BarcodeScanner
    let desk: ScanDesk
    let events: EventBus
    let logger: Logger

    public func run() async {
        await cancelWhenGracefulShutdown {
            var reported: String?
            while !Task.isCancelled {
                do {
                    for try await scan in await device.scans() {
                        reported = nil
                        await desk.handle(scan, from: scanner)
                    }
                } catch {
                    let why = "\(error)"
                    if why != reported {
                        reported = why
                        logger.error("scanner \(scanner.instrument) of fixture \(scanner.fixture): \(why)")
                        await events.publish(.instrumentFault(instrument: scanner.instrument, detail: why))
                    }
                }
                try? await Task.sleep(for: .seconds(2))
            }
        }
    }
}
