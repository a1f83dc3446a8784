import FerruleCore
import FerruleRecords
import FerruleSimulator
import Foundation
import Logging
import FerruleTesting
import Testing

@testable import FerruleConfig
@testable import FerruleStation

#if canImport(FoundationXML)
import FoundationXML
import FerruleSimSpec
import FerruleSetup
import FerruleProtocol
#endif

@Suite(.shutsDownStations) struct StoreTests {
    /// A unit cut short by a crash: the store has its start and two fibers; the next station on
    /// that data directory records it as `interrupted` with those fibers, and writes its files.
    @Test func aUnitRunningWhenTheProcessDiedIsRecordedInterrupted() async throws {
        let dir = temporaryDirectory()
        let (first, _) = try await makeStation(data: dir)
        let recipe = first.config.recipes["FT-MTP12-SMAPC-B-LL"]!
        let ref = await first.referenceKeeper.reference(fixture: 1)!
        let id = UUID()
        try await first.store.begin(
            UnitStart(
                reportId: id, serial: "CRASH-1", partNumber: recipe.partNumber, fixture: 1, operatorId: "op-9",
                startedAt: Date(), station: .init(id: "SIM-01", softwareVersion: "t", configHash: "h"),
                recipe: recipe, rules: DiagnosisRules(), instruments: [],
                references: [
                    .init(
                        cord: ref.cord, method: ref.method, takenAt: ref.takenAt,
                        validUntil: ref.takenAt + 3600,
                        pairs: ref.pairs, values: [])
                ], cords: []))
        for fiber in [1, 2] {
            let steps = recipe.wavelengthsNm.map { wl in
                RawStep(
                    fiber: fiber, wavelengthNm: wl, expectedReceivePosition: 13 - fiber, receivePosition: 13 - fiber, referenceDbm: -4.6,
                    power: .dBm(-4.75), rlDb: 62, rlBDb: 63, fault: nil)
            }
            try await first.store.record(reportId: id, fiber: fiber, arrival: 13 - fiber, steps: steps)
        }
        await first.shutdown()

        let (second, _) = try await makeStation(data: dir, reference: false)
        let rows = try await second.records.history(HistoryFilter(serial: "CRASH-1"))
        let row = try #require(rows.first)
        #expect(row.entry.state == .interrupted && row.entry.verdict == .interrupted)
        let report = try #require(try await second.store.report(id))
        #expect(report.measurements.count == 4 && Set(report.measurements.map(\.fiber)) == [1, 2])
        #expect(report.measurements.allSatisfy { $0.ilDb == 0.15 })
        #expect(report.reasons.first?.contains("2 of 12 fibers had been measured") == true, "\(report.reasons)")
        let path = try #require(row.reportPath)
        #expect(FileManager.default.fileExists(atPath: path) && FileManager.default.fileExists(atPath: row.certificatePath!))
        let (status, out) = try validateReports([path])
        #expect(status == 0, "\(out)")
        // It is in the outbox like any other unit.
        #expect(try await second.store.pending(for: "anything") >= 1)
    }

    @Test func historyYieldParetoAndRetestsComeFromTheStore() async throws {
        let (station, bench) = try await makeStation()
        let part = "FT-MTP12-SMAPC-B-LL"
        _ = try await testUnit(station, bench, serial: "Y-1", part: part)  // pass first time
        _ = try await testUnit(station, bench, serial: "Y-2", part: part, faults: [.highLoss(fiber: 4, extraDb: 0.8)])  // fail...
        _ = try await testUnit(station, bench, serial: "Y-2", part: part)  // ...then pass on retest
        _ = try await testUnit(station, bench, serial: "Y-3", part: part, faults: [.wrongPolarity(.a)])  // fail
        _ = try await testUnit(station, bench, serial: "Y-4", part: part, faults: [.highLoss(fiber: 7, extraDb: 0.9)])  // fail

        let y2 = try await station.records.history(HistoryFilter(serial: "Y-2"))
        #expect(y2.map(\.entry.attempt) == [2, 1])  // newest first
        #expect(y2[0].entry.previousReportId == y2[1].entry.reportId)
        #expect(y2.map(\.entry.verdict) == [.pass, .fail])
        let fails = try await station.records.history(HistoryFilter(partNumber: part, verdict: .fail))
        #expect(Set(fails.map(\.entry.serial)) == ["Y-2", "Y-3", "Y-4"])
        #expect(try await station.records.history(HistoryFilter(since: Date().addingTimeInterval(3600))).isEmpty)

        let y = try #require(try await station.store.yield().first { $0.partNumber == part })
        #expect(y.serials == 4 && y.firstPass == 1 && y.passedAtLast == 2 && y.retests == 1 && y.units == 5)
        #expect(y.firstPassYield == 0.25 && y.finalYield == 0.5)

        let pareto = try await station.store.pareto(partNumber: part)
        #expect(pareto.first?.code == "highLossFiber" && pareto.first?.units == 2, "\(pareto)")
        #expect(pareto.contains { $0.code == "wrongPolarityType" && $0.units == 1 })
        #expect(pareto.last?.cumulative == 1)
    }

    @Test func instrumentIdentitiesAndReferencesAreKept() async throws {
        let (station, _) = try await makeStation()
        let ids = try await station.store.identities(of: "ilrl")
        let live = await station.availability.identity(of: "ilrl")
        #expect(ids.count == 1 && ids[0] == live)
        // One reference per reference cord that fits fixture 1 (RC-A-024, RC-B-012, RC-B-024), each kept.
        let refs = try await station.store.references(fixture: 1)
        let current = await station.referenceKeeper.references(fixture: 1)
        #expect(refs.count == 3 && Set(refs.map(\.cord.id)) == ["RC-A-024", "RC-B-012", "RC-B-024"])
        for r in current {
            let kept = try #require(refs.first { $0.cord.id == r.cord.id })
            #expect(kept.values == r.values && abs(kept.takenAt.timeIntervalSince(r.takenAt)) < 0.001)
        }
    }
}

@Suite(.shutsDownStations) struct FormatTests {
    func unit24() async throws -> UnitReport {
        let (station, bench) = try await makeStation()
        return try await testUnit(
            station, bench, serial: "CERT-24 <&\"x\">", part: "FT-MTP24-OM4-A", faults: [.highLoss(fiber: 9, extraDb: 0.9)]
        ).report
    }

    /// The certificate of a 24-fiber unit: one table per end and wavelength with a row per
    /// fiber, the chart with a bar per fiber and wavelength, the traceability, escaped text.
    @Test func certificateForA24FiberUnit() async throws {
        let r = try await unit24()
        let html = String(decoding: try ReportFormat.html.render(r), as: UTF8.self)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("@page"))
        #expect(html.contains("CERT-24 &lt;&amp;&quot;x&quot;&gt;") && !html.contains("CERT-24 <&"))
        #expect(html.contains(">FAIL<"))
        for wl in r.wavelengthsNm { #expect(html.contains("End A launch, \(wl) nm")) }
        #expect(html.components(separatedBy: "<tr><td class=\"n\">").count - 1 == 24 * r.wavelengthsNm.count)
        #expect(html.components(separatedBy: "<rect x=").count - 1 >= 24 * r.wavelengthsNm.count)
        #expect(html.contains("stroke=\"#d00\""))  // fiber 9's failed bars are outlined
        #expect(html.contains("fiber 9, 850 nm"))
        #expect(html.contains("1\u{2192}1 2\u{2192}2") && !html.contains("&amp;rarr;"))  // the observed polarity map
        for i in r.instruments { #expect(html.contains(escapeForTest(i.identity!.serial))) }
        #expect(html.contains(r.station.configHash) && html.contains("Reference"))
        // Well-formed enough for an XML parser once the doctype is dropped (balanced tags).
        let xml = html.replacingOccurrences(of: "<!DOCTYPE html>", with: "").replacingOccurrences(of: "<meta charset=\"utf-8\">", with: "")
        #expect(XMLParser(data: Data(xml.utf8)).parse(), "the certificate's markup is not balanced")
        // For people to look at (scripts/certificate-png.sh turns it into a PNG).
        try Data(html.utf8).write(to: URL(fileURLWithPath: temporaryDirectory() + "/certificate-24.html"))
    }

    func escapeForTest(_ s: String) -> String { s.replacingOccurrences(of: "&", with: "&amp;") }

    @Test func csvHasOneRowPerFiberWavelengthAndEnd() async throws {
        let r = try await unit24()
        let csv = String(decoding: try ReportFormat.csv.render(r), as: UTF8.self)
        let lines = csv.split(separator: "\r\n", omittingEmptySubsequences: true)
        #expect(lines.count == 1 + r.measurements.count && r.measurements.count == 48)
        #expect(lines[0].hasPrefix("reportId,serial,partNumber"))
        #expect(lines[1].contains("\"CERT-24 <&\"\"x\"\">\""))  // quoted, quotes doubled
        let fiber9 = lines.filter { $0.contains(",9,850,A,") }
        #expect(fiber9.count == 1 && fiber9[0].contains(",fail,"))
    }

    @Test func cfxAndAtmlCarryEveryMeasurement() async throws {
        let r = try await unit24()
        let cfx = try JSONSerialization.jsonObject(with: try ReportFormat.cfx.render(r)) as! [String: Any]
        #expect(cfx["MessageName"] as? String == "CFX.Production.TestAndInspection.UnitsTested")
        #expect(cfx["UniqueID"] as? String == r.reportId.uuidString.lowercased())
        let body = cfx["MessageBody"] as! [String: Any]
        let unit = (body["TestedUnits"] as! [[String: Any]])[0]
        #expect(unit["UnitIdentifier"] as? String == r.unit.serial && unit["OverallResult"] as? String == "Failed")
        let tests = unit["Tests"] as! [[String: Any]]
        #expect(tests.count == 48 + 1)
        let il = (tests[0]["Measurements"] as! [[String: Any]])[0]["MeasuredValue"] as! [String: Any]
        #expect(il["ValueUnits"] as? String == "dB" && il["MaximumAcceptableValue"] as? Double == 0.75)
        // CFX's own names and nulls: the type tag, a broadcast target, an open side of the range.
        #expect(body["$type"] as? String == "CFX.Production.TestAndInspection.UnitsTested, CFX")
        #expect(cfx["Target"] is NSNull && il["MinimumAcceptableValue"] is NSNull)
        #expect((body["Tester"] as? [String: Any])?["OperatorIdentifier"] as? String == r.operator)

        let atml = try ReportFormat.atml.render(r)
        final class Counter: NSObject, XMLParserDelegate {
            var tests = 0, outcomes: [String] = [], serials: [String] = [], inSerial = false
            func parser(
                _ p: XMLParser, didStartElement e: String, namespaceURI: String?, qualifiedName q: String?,
                attributes a: [String: String] = [:]
            ) {
                if e == "tr:Test" { tests += 1 }
                if e == "tr:Outcome", let v = a["value"] { outcomes.append(v) }
                if e == "c:SerialNumber" { inSerial = true; serials.append("") }
            }
            func parser(_ p: XMLParser, foundCharacters s: String) { if inSerial { serials[serials.count - 1] += s } }
            func parser(_ p: XMLParser, didEndElement e: String, namespaceURI: String?, qualifiedName q: String?) { inSerial = false }
        }
        let parser = XMLParser(data: atml)
        let counter = Counter()
        parser.delegate = counter
        #expect(parser.parse(), "ATML is not well-formed: \(String(describing: parser.parserError))")
        #expect(counter.tests == 48 + 1)
        #expect(counter.outcomes.first == "Failed")
        #expect(counter.serials == [r.unit.serial, r.station.id])  // the hostile serial comes back exactly
        #expect(try ReportFormat.atml.render(r) == atml)  // the same bytes every time: a re-delivery replaces the file with itself
    }
}

@Suite(.serialized, .shutsDownStations) struct SinkTests {
    /// Waits (bounded) until the sink has no backlog and is not failing.
    func drained(_ station: Station, _ sink: String) async throws {
        try await waitUntil("\(sink) to deliver everything") {
            try await station.store.pending(for: sink) == 0
        }
    }

    @Test func directorySinkWaitsForAVanishedFolderAndLosesNothing() async throws {
        let share = temporaryDirectory() + "/share"
        try FileManager.default.createDirectory(atPath: share, withIntermediateDirectories: false)
        let (station, bench) = try await makeStation(
            sinks: [DirectorySink(name: "mes-share", path: share, formats: [.json, .html, .csv], stationId: "SIM-01")])
        let a = try await testUnit(station, bench, serial: "DIR-1", part: "FT-MTP12-SMAPC-B-LL")
        try await drained(station, "mes-share")
        let stem = reportFileStem(serial: "DIR-1", finishedAt: a.report.finishedAt, reportId: a.report.reportId)
        for suffix in [".json", ".html", ".csv"] { #expect(FileManager.default.fileExists(atPath: share + "/" + stem + suffix)) }
        // The stored record and the delivered file are the same bytes.
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: share + "/" + stem + ".json")) == Data(contentsOf: URL(fileURLWithPath: a.reportPath))
        )

        // The share goes away (unmounted): the next unit waits, nothing is written in its place.
        try FileManager.default.removeItem(atPath: share)
        let b = try await testUnit(station, bench, serial: "DIR-2", part: "FT-MTP12-SMAPC-B-LL")
        try await waitUntil("the sink to report the missing folder") {
            await station.status().sinks.first?.failing?.contains("is missing (share not mounted?)") == true
        }
        #expect(!FileManager.default.fileExists(atPath: share))
        #expect(await station.status().sinks.first?.pending == 1)
        // It comes back: DIR-2 arrives, DIR-1 is not delivered again.
        try FileManager.default.createDirectory(atPath: share, withIntermediateDirectories: false)
        try await drained(station, "mes-share")
        let files = try FileManager.default.contentsOfDirectory(atPath: share)
        #expect(files.filter { $0.hasPrefix("DIR-2_") }.count == 3 && files.filter { $0.hasPrefix("DIR-1_") }.isEmpty, "\(files)")
        #expect(!files.contains { $0.hasPrefix(".") }, "\(files)")  // no temporary file left
        let deliveries = try await station.store.deliveries(of: b.report.reportId)
        #expect(deliveries.map(\.state) == [.delivered])
        await station.shutdown()
    }

    /// The HTTP sink against a stand-in MES (scripts/mes-peer.py) that answers 500, stalls past
    /// the timeout (so it receives the same report twice), refuses one unit with 422, and
    /// accepts the rest.
    @Test func httpSinkRetriesParksAndDeliversAtLeastOnceWithTheReportIdAsKey() async throws {
        let dir = temporaryDirectory()
        let log = dir + "/mes.log"
        let (peer, port) = try startPeer("mes-peer.py", ["--log", log, "--plan", "HTTP-A=500,stall,200;HTTP-B=422", "--stall-seconds", "2"])
        defer { kill(peer.processIdentifier, SIGKILL) }
        try "s3cret-token\n".write(toFile: dir + "/token", atomically: true, encoding: .utf8)

        let (station, bench) = try await makeStation(
            sinks: [HTTPSink(name: "mes", url: "http://127.0.0.1:\(port)/results", tokenFile: dir + "/token", timeout: .milliseconds(700))])
        let a = try await testUnit(station, bench, serial: "HTTP-A", part: "FT-MTP12-SMAPC-B-LL")
        let b = try await testUnit(station, bench, serial: "HTTP-B", part: "FT-MTP12-SMAPC-B-LL")
        let c = try await testUnit(station, bench, serial: "HTTP-C", part: "FT-MTP12-SMAPC-B-LL")
        try await drained(station, "mes")

        struct Hit: Decodable {
            var serial: String
            var key: String?
            var authorization: String?
            var sha256: String
            var answer: String
        }
        let hits = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
            try JSONDecoder().decode(Hit.self, from: Data($0.utf8))
        }
        let forA = hits.filter { $0.serial == "HTTP-A" }
        #expect(forA.map(\.answer) == ["500", "stall", "200"], "\(hits)")
        // The same report each time, keyed by its id: the MES can see the stalled one was a repeat.
        #expect(Set(forA.map(\.key)) == [a.report.reportId.uuidString.lowercased()] && Set(forA.map(\.sha256)).count == 1)
        #expect(hits.allSatisfy { $0.authorization == "Bearer s3cret-token" })
        // 422 is parked with the MES's reason, shown in the status; the queue went on to C.
        #expect(hits.filter { $0.serial == "HTTP-B" }.count == 1)
        let parked = try await station.store.parked(sink: "mes")
        #expect(
            parked.map(\.reportId) == [b.report.reportId] && parked[0].reason.contains("HTTP 422")
                && parked[0].reason.contains("rejected by the MES"))
        #expect(await station.status().sinks.first?.parked == 1)
        #expect(try await station.store.deliveries(of: c.report.reportId).map(\.state) == [.delivered])
        #expect(hits.last?.serial == "HTTP-C")
        await station.shutdown()
    }
}

@Suite(.shutsDownStations) struct StorageTroubleTests {
    /// The store fills up mid-shift: the unit that was measured is kept (in memory, said on the
    /// status socket and in events), new units are refused naming the problem, and once there is
    /// room again the kept unit is stored by itself and units are accepted.
    enum Trouble: String, CaseIterable { case full, readOnly }

    @Test(arguments: Trouble.allCases)
    func aStoreInTroubleKeepsTheMeasuredUnitAndRefusesNewOnesUntilItRecovers(_ trouble: Trouble) async throws {
        let (station, bench) = try await makeStation(config: try slowBenchConfig(switchMs: 3, readMs: 2))
        let events = await station.events.subscribe()
        let steps = await station.events.subscribe()
        _ = try await testUnit(station, bench, serial: "FULL-0", part: "FT-MTP12-SMAPC-B-LL")
        // The trouble starts in the middle of FULL-1, after its first fiber.
        let unit = Task { try await testUnit(station, bench, serial: "FULL-1", part: "FT-MTP12-SMAPC-B-LL") }
        for await e in steps { if case .step(_, "FULL-1", _, _, _, _, _, _, _) = e { break } }
        switch trouble {
        case .full: await station.store.limitSize(pages: try await station.store.pageCount())  // no room to grow
        case .readOnly: await station.store.refuseWrites(true)
        }
        let kept = try await unit.value
        #expect(kept.report.verdict == .pass && kept.report.measurements.count == 24)
        let status = await station.status()
        #expect(
            status.storage.problem?.contains(trouble == .full ? "the disk is full" : "read-only") == true,
            "\(String(describing: status.storage.problem))")
        #expect(status.storage.unstoredUnits == 1)
        await #expect(throws: UnitRefused.self) {
            _ = try await testUnit(station, bench, serial: "FULL-2", part: "FT-MTP12-SMAPC-B-LL")
        }
        do {
            _ = try await testUnit(station, bench, serial: "FULL-2", part: "FT-MTP12-SMAPC-B-LL")
        } catch let e as UnitRefused {
            #expect(e.message.contains("results cannot be stored") && e.message.contains("1 measured unit(s) kept in memory"), "\(e)")
        }

        switch trouble {  // room again / writable again
        case .full: await station.store.limitSize(pages: nil)
        case .readOnly: await station.store.refuseWrites(false)
        }
        try await waitUntil("the kept unit to be stored", timeout: .seconds(30)) {
            await station.status().storage.problem == nil
        }
        #expect(await station.status().storage.unstoredUnits == 0)
        let stored = try #require(try await station.store.report(kept.report.reportId))
        #expect(stored.unit.serial == "FULL-1" && stored.measurements.count == kept.report.measurements.count)
        #expect(FileManager.default.fileExists(atPath: kept.reportPath))
        _ = try await testUnit(station, bench, serial: "FULL-3", part: "FT-MTP12-SMAPC-B-LL")

        var kinds: [String] = []
        for await e in events {
            switch e {
            case .storageProblem(let d): kinds.append(d == nil ? "ok" : "problem")
            case .unitStored(let serial, _): kinds.append("stored \(serial)")
            case .unitHeld(_, let serial, _, let verdict, let reason):
                kinds.append("held \(serial) \(verdict?.rawValue ?? "no verdict")")
                #expect(reason.contains(trouble == .full ? "the disk is full" : "read-only"), "\(reason)")
            case .unitFinished(_, let serial, _, _, let path, _):
                kinds.append("finished \(serial)")
                // Said only once the record is committed, so its report file is there.
                #expect(FileManager.default.fileExists(atPath: path), "\(path)")
            default: break
            }
            if kinds.contains("ok") { break }
        }
        // FULL-1 is never said finished while it is only in memory; it is once it is stored.
        #expect(
            kinds.filter { $0 != "problem" } == ["finished FULL-0", "held FULL-1 pass", "stored FULL-1", "finished FULL-1", "ok"],
            "\(kinds)")
        #expect(kinds.filter { $0 == "problem" }.count == 1)
    }
}

extension StorageTroubleTests {
    /// The record is committed but reports/ cannot be written (here: someone replaced it with a
    /// file): status says the files are late and why, and they are written while ferruled runs,
    /// not only at the next start.
    @Test func reportFilesThatCannotBeWrittenAreWrittenWhileRunning() async throws {
        let (station, bench) = try await makeStation()
        let reports = station.data.reports
        try FileManager.default.removeItem(atPath: reports)
        try Data("not a folder".utf8).write(to: URL(fileURLWithPath: reports))
        let outcome = try await testUnit(station, bench, serial: "LATE-1", part: "FT-MTP8-SMAPC-B")
        #expect(outcome.stored && outcome.report.verdict == .pass)
        #expect(try await station.store.report(outcome.report.reportId) != nil)  // the record is safe
        let late = await station.status().storage
        #expect(late.reportFilesUnwritten == 1)
        #expect(
            late.reportFilesProblem?.contains("LATE-1") == true && late.reportFilesProblem?.contains(reports) == true,
            "\(String(describing: late.reportFilesProblem))")

        try FileManager.default.removeItem(atPath: reports)
        try await waitUntil("the late report files", timeout: .seconds(30)) {
            FileManager.default.fileExists(atPath: outcome.reportPath)
        }
        try await waitUntil("status to say the files are written") { await station.status().storage.reportFilesProblem == nil }
        #expect(await station.status().storage.reportFilesUnwritten == 0)
        #expect(try await station.store.unitsWithoutFiles().isEmpty)
        let html = outcome.reportPath.replacingOccurrences(of: ".json", with: ".html")
        #expect(FileManager.default.fileExists(atPath: html))
    }
}
