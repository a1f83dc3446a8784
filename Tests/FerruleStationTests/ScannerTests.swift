import FerruleCore
import FerruleProtocol
import FerruleRecords
import FerruleSetup
import FerruleSimulator
import Foundation
import FerruleTesting
import Testing

@testable import FerruleConfig
@testable import FerruleStation

/// Fixed barcode scanners (`barcode-serial`, USB-serial CDC mode): the real driver reads a
/// simulated scanner on a pty, and its scans start units on its fixture or are refused on screen.
@Suite(.shutsDownStations) struct ScannerTests {
    static let part = "FT-MTP12-SMAPC-B-LL"

    /// The in-process bench with a scanner on fixture 1 (serials `B12-…` are the Type B trunk).
    static func config(
        scanner: String = "{ instrument: scanner1, operator: line3-f1, partPrefixes: { B12-: \(part) }, badgePrefix: EMP- }"
    ) throws -> StationConfig {
        var text = try inProcessConfigText()
        // Ana's badge; Sam has none.
        text = text.replacingOccurrences(of: "{ id: op1, name: Ana Operator,", with: "{ id: op1, badge: EMP-0042, name: Ana Operator,")
        text = text.replacingOccurrences(
            of: "instruments:\n", with: "instruments:\n  - name: scanner1\n    driver: barcode-serial\n    simulate: pty\n")
        let fixture1 = try #require(text.range(of: "  - id: 1\n"))
        text.replaceSubrange(fixture1, with: "  - id: 1\n    scanner: \(scanner)\n")
        return try StationConfig.parse(text, file: "scanner.yaml")
    }

    /// A built station whose simulated hands load whatever is scanned, and its scanner.
    /// With `prompting`, the hands ask before loading each unit and wait for the answer.
    static func station(prompting: Bool = false, clock: TestClock? = nil) async throws -> (BuiltStation, SimulatedScanner) {
        let built = try await makeBuiltStation(clock: clock, config: try config())
        let sim = try #require(built.simulation)
        let prompts = prompting ? built.station.prompts : nil
        await built.station.setHands(SimulatedHands(bench: sim.bench, simulation: built.station.config.simulation, prompts: prompts))
        return (built, try #require(sim.wire?.scanners["scanner1"]))
    }

    /// Scans `text` and returns the station's answer to it.
    static func scan(_ text: String, _ scanner: SimulatedScanner, _ events: AsyncStream<StationEvent>) async throws
        -> (accepted: Bool, detail: String)
    {
        #expect(scanner.scan(text))
        for await e in events {
            if case .scan(1, "scanner1", let read, let accepted, let detail, _) = e {
                #expect(read == text)
                return (accepted, detail)
            }
        }
        throw WaitedTooLong(what: "the answer to scan \(text)")
    }

    static func finished(_ events: AsyncStream<StationEvent>) async -> (String, Verdict)? {
        for await e in events { if case .unitFinished(1, let serial, _, let verdict, _, _) = e { return (serial, verdict) } }
        return nil
    }

    @Test func aPartScanThenSerialsStartUnitsOnTheScannersFixture() async throws {
        let (built, scanner) = try await Self.station()
        defer { built.simulation?.close() }
        let events = await built.station.events.subscribe()
        let chosen = try await Self.scan(Self.part, scanner, events)
        #expect(chosen.accepted && chosen.detail.contains("part \(Self.part) chosen"))
        // The part stays chosen from one unit to the next; a prefix rule and a GS1 code name their own.
        for serial in ["SCAN-0001", "SCAN-0002", "B12-0003", "]d221GS1-0004\u{1D}240\(Self.part)"] {
            let started = try await Self.scan(serial, scanner, events)
            #expect(started.accepted, "\(serial): \(started.detail)")
            let done = await Self.finished(events)
            let expected = serial.hasPrefix("]d2") ? "GS1-0004" : serial
            #expect(done?.0 == expected && done?.1 == .pass, "\(serial): \(String(describing: done))")
        }
        let reports = try await built.station.store.history(HistoryFilter(limit: 10))
        #expect(Set(reports.map(\.serial)) == ["SCAN-0001", "SCAN-0002", "B12-0003", "GS1-0004"])
        #expect(reports.allSatisfy { $0.operator == "line3-f1" && $0.partNumber == Self.part })
    }

    @Test func badScansAreShownAndStartNothing() async throws {
        let (built, scanner) = try await Self.station(prompting: true)
        defer { built.simulation?.close() }
        let events = await built.station.events.subscribe()
        let refusals: [(String, String)] = [
            ("SCAN-0001", "scan the part number's barcode first"),  // no part chosen yet, no prefix rule
            ("]d20109501101530003", "no serial (AI 21)"),  // a GS1 code with a GTIN only
            ("]d221GS1-0001\u{1D}240FT-NOPE", "has no recipe"),
            ("B12-\u{1B}[31mX", "serial")  // the station's serial check: control characters
        ]
        for (text, why) in refusals {
            let answer = try await Self.scan(text, scanner, events)
            #expect(!answer.accepted && answer.detail.contains(why), "\(text): \(answer.detail)")
        }
        // A serial scanned while its fixture is busy (here: loading, its prompt unanswered) is
        // refused; the unit on it goes on once the operator has loaded it.
        #expect(try await Self.scan("B12-0100", scanner, events).accepted)
        let busy = try await Self.scan("B12-0101", scanner, events)
        #expect(!busy.accepted && busy.detail.contains("fixture 1"), "\(busy.detail)")
        try await waitUntil("the load prompt") { await !built.station.prompts.pending.isEmpty }
        let prompt = try #require(await built.station.prompts.pending.first)
        #expect(prompt.text.contains("B12-0100"))
        try await built.station.prompts.answer(prompt.id, "ok")
        #expect(await Self.finished(events)?.0 == "B12-0100")
        #expect(try await built.station.store.history(HistoryFilter(limit: 10)).map(\.serial) == ["B12-0100"])
    }

    /// A badge signs its user in at the scanner's fixture: the units scanned there next are
    /// theirs, the line is told (OperatorActivated), the same badge again signs them out; a badge
    /// no user has starts nothing.
    @Test func aBadgeSignsAnOperatorInAtTheFixtureUntilScannedAgain() async throws {
        let (built, scanner) = try await Self.station()
        defer { built.simulation?.close() }
        let station = built.station
        let events = await station.events.subscribe()
        let signedIn = try await Self.scan("EMP-0042", scanner, events)
        #expect(signedIn.accepted && signedIn.detail.contains("Ana Operator (op1) signed in at fixture 1"), "\(signedIn.detail)")
        #expect(try await Self.scan("B12-0300", scanner, events).accepted)
        #expect(await Self.finished(events)?.0 == "B12-0300")
        let signedOut = try await Self.scan("EMP-0042", scanner, events)
        #expect(signedOut.accepted && signedOut.detail.contains("signed out"), "\(signedOut.detail)")
        #expect(try await Self.scan("B12-0301", scanner, events).accepted)
        #expect(await Self.finished(events)?.0 == "B12-0301")
        let unknown = try await Self.scan("EMP-9999", scanner, events)
        #expect(!unknown.accepted && unknown.detail.contains("no user's"), "\(unknown.detail)")
        let history = try await station.store.history(HistoryFilter(limit: 10))
        let operators = Dictionary(uniqueKeysWithValues: history.map { ($0.serial, $0.operator) })
        #expect(operators == ["B12-0300": "op1", "B12-0301": "line3-f1"], "\(operators)")
        let told = try await station.store.lineMessages(limit: 1000).map(\.moment).filter {
            switch $0 {
            case .operatorActivated, .operatorDeactivated: true
            default: false
            }
        }
        #expect(told == [.operatorActivated(operatorId: "op1", via: "badge at fixture 1"),
                         .operatorDeactivated(operatorId: "op1", via: "badge at fixture 1")])
        await station.shutdown()
    }

    /// A badge left signed in past the idle sign-out is signed out, stamped when the time ran out:
    /// a unit scanned later is not theirs.
    @Test func aBadgeOperatorIdleTooLongIsSignedOut() async throws {
        let clock = TestClock()
        let (built, scanner) = try await Self.station(clock: clock)
        defer { built.simulation?.close() }
        let events = await built.station.events.subscribe()
        #expect(try await Self.scan("EMP-0042", scanner, events).accepted)
        let signedInAt = clock.now()
        clock.advance(HTTPSpec.defaultIdleSignOutSeconds + 60)
        #expect(try await Self.scan("B12-0400", scanner, events).accepted)
        #expect(await Self.finished(events)?.0 == "B12-0400")
        #expect(try await built.station.store.history(HistoryFilter(serial: "B12-0400", limit: 1)).first?.operator == "line3-f1")
        let last = try #require(try await built.station.store.lineMessages(limit: 1000).last {
            if case .operatorDeactivated = $0.moment { return true } else { return false }
        })
        #expect(last.moment == .operatorDeactivated(operatorId: "op1", via: "badge at fixture 1 (idle)"))
        #expect(last.at == signedInAt.addingTimeInterval(HTTPSpec.defaultIdleSignOutSeconds))
        await built.station.shutdown()
    }

    /// A scanner unplugged is an instrument fault; plugged back, its scans start units again.
    @Test func anUnpluggedScannerIsReportedAndReadAgainWhenBack() async throws {
        let (built, scanner) = try await Self.station()
        defer { built.simulation?.close() }
        let events = await built.station.events.subscribe()
        try await built.faults.inject(.unplug, into: "scanner1")
        for await e in events { if case .instrumentFault("scanner1", _) = e { break } }
        try await built.faults.inject(.none, into: "scanner1")
        try await waitUntil("the scanner to be read again") {
            // Scans sent before the reader reopened the port are read by it once it has.
            scanner.scan("B12-0200")
            return await built.station.status().fixtures.first { $0.id == 1 }?.unit != nil
        }
        #expect(await Self.finished(events)?.0 == "B12-0200")
    }

    @Test(arguments: [
        ("{ instrument: launch-switch, operator: x }", "cannot act as barcode scanner"),
        ("{ instrument: scanner1, operator: \" \" }", "operator of scanned units is empty"),
        ("{ instrument: scanner1, operator: x, partPrefixes: { B12-: FT-NOPE } }", "is not a recipe's part number"),
        ("{ instrument: scanner1, operator: x, partPrefixes: { B12-: \(part) }, badgePrefix: B1 }", "overlaps a serial prefix"),
    ])
    func aBadScannerEntryNamesTheKey(entry: String, message: String) throws {
        let e = #expect(throws: ConfigError.self) { try Self.config(scanner: entry) }
        #expect(e?.description.contains("scanner") == true && e?.description.contains(message) == true, "\(String(describing: e))")
    }
}
