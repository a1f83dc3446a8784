import FerruleConfig
import FerruleCore
import FerruleDevices
import FerruleProtocol
import Logging
import ServiceLifecycle

/// What the fixed scanners' scans do: a serial starts a unit on the scanner's fixture, a part
/// number chooses the part for the units scanned next there (it stays chosen, as a line runs
/// one part for hours). Every scan is answered with a `scan` event; a refused one starts nothing.
public actor ScanDesk {
    let station: Station
    /// The part scanned last at each fixture.
    private var chosenPart: [Int: String] = [:]

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
        let parts = await station.knownPartNumbers()
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
            var unit = UnitRequest(serial: serial, partNumber: part, fixture: f, operatorId: scanner.operatorId)
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

extension Station {
    /// The part numbers the running config has recipes for.
    func knownPartNumbers() -> Set<String> { Set(active.recipes.keys) }
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
