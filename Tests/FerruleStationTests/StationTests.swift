import FerruleCore
import FerruleProtocol
import FerruleRecords
import FerruleSetup
import FerruleSimSpec
import FerruleSimulator
import Foundation
import FerruleTesting
import Testing

@testable import FerruleConfig
@testable import FerruleStation

@Suite(.shutsDownStations) struct DemoLotTests {
    /// The whole default bench: every demo unit's verdict and diagnosis as the simulator built it,
    /// and every written report valid against the schema file.
    @Test func demoLotMatchesTruthAndReportsValidate() async throws {
        let data = temporaryDirectory()
        let built = try await makeBuiltStation(data: data, reference: false)
        let station = built.station
        let rows = try await DemoRunner(built).run()
        #expect(rows.count == 8)
        for r in rows { #expect(r.matched, "\(r.serial): \(r.mismatches)") }

        func row(_ s: String) -> DemoRow { rows.first { $0.serial == s }! }
        #expect(row("FRL-D001").verdict == .pass && row("FRL-D001").diagnoses.isEmpty)
        #expect(row("FRL-D002").verdict == .pass)
        #expect(row("FRL-D008").verdict == .pass)
        #expect(row("FRL-D003").verdict == .fail && row("FRL-D003").diagnoses.map(\.code) == [.highLossFiber])
        #expect(row("FRL-D003").diagnoses[0].fibers == [10])
        #expect(row("FRL-D004").diagnoses.map(\.code) == [.wrongPolarityType])
        #expect(row("FRL-D005").diagnoses.map(\.code) == [.darkFiber] && row("FRL-D005").diagnoses[0].fibers == [7])
        let d6 = row("FRL-D006").diagnoses
        #expect(d6.map(\.code) == [.contaminatedEndFace] && d6[0].fibers == [5, 6, 7] && d6[0].end == .a)
        #expect(row("FRL-D007").diagnoses.map(\.code) == [.crossedFibers] && row("FRL-D007").diagnoses[0].fibers == [3, 4])
        // Both fixtures were used.
        #expect(Set(rows.map(\.fixture)) == [1, 2])

        let paths = rows.compactMap(\.reportPath)
        #expect(paths.count == 8)
        let (status, out) = try validateReports(paths)
        #expect(status == 0, "\(out)")
        #expect(out.contains("validated 8 report(s), 0 error(s)"))
    }

    /// The validator really rejects a report that breaks the schema (so the test above can fail).
    @Test func schemaRejectsABrokenReport() async throws {
        let (station, bench) = try await makeStation()
        let outcome = try await testUnit(station, bench, serial: "SCHEMA-1", part: "FT-MTP12-SMAPC-B-LL")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: outcome.reportPath))) as! [String: Any]
        json["verdict"] = "maybe"
        json.removeValue(forKey: "reportId")
        let broken = temporaryDirectory() + "/broken.json"
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: broken))
        let (status, out) = try validateReports([broken])
        #expect(status == 1)
        #expect(out.contains("/verdict") && out.contains("reportId"))
    }

    @Test func reportCarriesTraceability() async throws {
        let (station, bench) = try await makeStation()
        let o = try await testUnit(station, bench, serial: "TRACE-1", part: "FT-MTP8-SMAPC-B", fixture: 2)
        let r = o.report
        #expect(r.unit.serial == "TRACE-1" && r.operator == "op-7" && r.fixture == 2)
        #expect(r.station.id == "SIM-01")
        // The operator's check: sha256sum of the config file gives the report's configHash.
        let file = temporaryDirectory() + "/inprocess.yaml"
        try inProcessConfigText().write(toFile: file, atomically: true, encoding: .utf8)
        let (_, sum) = try runProgram("/usr/bin/sha256sum", [file])
        #expect(r.station.configHash == "sha256:" + (sum.split(separator: " ").first.map(String.init) ?? "?"))
        // The Type B paths, 8 fibers x 2 wavelengths, from Type B reference cords only.
        #expect(r.references.flatMap(\.values).count == 16 && r.references.allSatisfy { $0.method == .oneCord && $0.cord.polarity == "B" })
        #expect(r.references.flatMap(\.values).allSatisfy { $0.receivePosition == 13 - $0.position })
        #expect(Set(r.instruments.map(\.role)) == [.launchSwitch, .receiveSwitch, .source, .powerMeter, .rlMeter])
        #expect(r.instruments.allSatisfy { $0.identity != nil })
        #expect(r.finishedAt >= r.startedAt)
        #expect(r.fibers.filter { $0.verdict == .unused }.map(\.fiber) == [5, 6, 7, 8])
        #expect(r.measurements.count == 16 && r.measurements.allSatisfy { $0.rlDb != nil && $0.ilDb != nil })
        // Written atomically: no temporary file is left next to it.
        let left = try FileManager.default.contentsOfDirectory(atPath: station.data.reports).filter { $0.hasPrefix(".tmp") }
        #expect(left.isEmpty)
        let decoded = try UnitReport.decoder().decode(UnitReport.self, from: Data(contentsOf: URL(fileURLWithPath: o.reportPath)))
        #expect(decoded.reportId == r.reportId && decoded.measurements.count == 16)
    }

    /// The report's path names the file written from the stored record, even when the finish
    /// time rounds (to the millisecond) into the next second of the file name; the files (rendered
    /// while the record commits) are byte for byte what the stored record renders.
    @Test func reportPathExistsWhenTheFinishTimeRoundsIntoTheNextSecond() async throws {
        let clock = TestClock(Date(timeIntervalSince1970: 1_800_000_000.9996))
        let (station, bench) = try await makeStation(clock: clock)
        let o = try await testUnit(station, bench, serial: "ROUND-1", part: "FT-MTP8-SMAPC-B")
        #expect(FileManager.default.fileExists(atPath: o.reportPath), "\(o.reportPath)")
        let stored = try #require(try await station.store.report(o.report.reportId))
        #expect(try Data(contentsOf: URL(fileURLWithPath: o.reportPath)) == (try ReportFormat.json.render(stored)))
        let certificate = String(o.reportPath.dropLast(5)) + ".html"
        #expect(try Data(contentsOf: URL(fileURLWithPath: certificate)) == (try ReportFormat.html.render(stored, certificate: .standard)))
    }

    @Test func genderMismatchIsAllDark() async throws {
        let (station, bench) = try await makeStation()
        let o = try await testUnit(station, bench, serial: "G-1", part: "FT-MTP12-SMAPC-B-LL", faults: [.genderMismatch])
        #expect(o.report.verdict == .fail)
        #expect(o.report.diagnoses.map(\.code) == [.allDark])
    }

    @Test func twoRowTypeBUsesTheMirroredMap() async throws {
        // A 24-fiber Type B recipe, built correctly, passes with the within-row mirror map.
        let text = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
            .replacingOccurrences(of: "      polarity: A\n      lengthM: 10", with: "      polarity: B\n      lengthM: 10")
        let cfg = try StationConfig.parse(text, file: "typeB24.yaml")
        let (station, bench) = try await makeStation(config: cfg)
        let o = try await testUnit(station, bench, serial: "B24", part: "FT-MTP24-OM4-A")
        #expect(o.report.verdict == .pass)
        #expect(o.report.polarity.observedType == .b)
        #expect(o.report.polarity.observedMap.first { $0.fiber == 13 }?.receivePosition == 24)
    }
}

@Suite(.shutsDownStations) struct SimulationTests {
    @Test func sameSeedSameUnitDifferentSeedDifferentUnit() throws {
        let recipe = try StationConfig.load(path: Repo.simulatedConfig).recipes["FT-MTP12-SMAPC-B-LL"]!
        let a = SimulatedAssembly(serial: "DET-1", recipe: recipe, seed: 7)
        let b = SimulatedAssembly(serial: "DET-1", recipe: recipe, seed: 7)
        let c = SimulatedAssembly(serial: "DET-1", recipe: recipe, seed: 8)
        #expect(a.loss == b.loss && a.returnLoss == b.returnLoss)
        #expect(a.loss != c.loss)
    }

    @Test func sameSeedSameMeasurements() async throws {
        func run() async throws -> [Double?] {
            let (station, bench) = try await makeStation()
            return try await testUnit(station, bench, serial: "DET-2", part: "FT-MTP8-SMAPC-B").report.measurements.map(\.ilDb)
        }
        let first = try await run()
        let second = try await run()
        #expect(first == second)
        #expect(first.count == 16 && first.allSatisfy { $0 != nil })
    }

    @Test func configuredDriftEndsInASuspectReference() async throws {
        let text = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
            .replacingOccurrences(of: "    noiseDb: 0.003\n", with: "    noiseDb: 0.003\n    driftDbPerReading: 0.002\n")
        let (station, bench) = try await makeStation(config: try StationConfig.parse(text, file: "drift.yaml"))
        var verdicts: [Verdict] = []
        for i in 0..<6 {
            do {
                verdicts.append(try await testUnit(station, bench, serial: "DR-\(i)", part: "FT-MTP12-SMAPC-B-LL").report.verdict)
            } catch is UnitRefused { break }
        }
        // The source brightens with every reading until IL goes negative beyond 0.05 dB.
        #expect(verdicts.last == .error)
        #expect(station.data.loadReferences(fixture: 1).references.contains { $0.suspect != nil })
    }
}

@Suite(.shutsDownStations) struct ReferenceTests {
    @Test func missingReferenceIsRefused() async throws {
        let (station, bench) = try await makeStation(reference: false)
        await #expect(throws: UnitRefused.self) {
            try await testUnit(station, bench, serial: "R-1", part: "FT-MTP12-SMAPC-B-LL")
        }
        do { _ = try await testUnit(station, bench, serial: "R-1", part: "FT-MTP12-SMAPC-B-LL") } catch let e as UnitRefused {
            #expect(e.message.contains("fixture 1 has no reference"))
            #expect(e.fix.contains("reference"))
        }
        // Nothing was measured, so nothing was written.
        #expect(try FileManager.default.contentsOfDirectory(atPath: station.data.reports).isEmpty)
    }

    @Test func expiredReferenceIsRefused() async throws {
        let clock = TestClock()
        let (station, bench) = try await makeStation(clock: clock)
        _ = try await testUnit(station, bench, serial: "E-0", part: "FT-MTP12-SMAPC-B-LL")
        clock.advance(8 * 3600 + 1)
        do {
            _ = try await testUnit(station, bench, serial: "E-1", part: "FT-MTP12-SMAPC-B-LL")
            Issue.record("an expired reference must refuse the unit")
        } catch let e as UnitRefused {
            #expect(e.message.contains("expired"))
            #expect(e.message.contains("8.0 h"))
        }
        // New references make the fixture usable again.
        try await referenceEveryCord(station, bench, fixtures: [1])
        let o = try await testUnit(station, bench, serial: "E-2", part: "FT-MTP12-SMAPC-B-LL")
        #expect(o.report.verdict == .pass)
    }

    @Test func referenceIsPersistedAcrossRestarts() async throws {
        let data = temporaryDirectory()
        let (first, _) = try await makeStation(data: data)
        let taken = await first.referenceKeeper.reference(fixture: 1)
        await first.shutdown()  // one station per data directory: the next one starts after it
        let (second, _) = try await makeStation(data: data, reference: false)
        let loaded = await second.referenceKeeper.reference(fixture: 1)
        let a = try #require(taken)
        let b = try #require(loaded)
        #expect(a.values == b.values)
        #expect(abs(a.takenAt.timeIntervalSince(b.takenAt)) < 0.001)
        #expect(b.method == .oneCord && b.operatorId == "test")
    }

    @Test func referenceWithoutCordFailsClearly() async throws {
        let (station, _) = try await makeStation(reference: false)
        do {
            _ = try await station.takeReference(fixture: 2)
            Issue.record("a reference with nothing mounted must fail")
        } catch let e as ReferenceFailed {
            #expect(e.message.contains("fixture 2") && e.message.contains("no light") && e.message.contains("reference cord"))
        }
    }

    @Test func negativeILMarksReferenceSuspectAndBlocksTheFixture() async throws {
        let (station, bench) = try await makeStation()
        await bench.shiftSource(byDb: 0.3)  // the source got brighter since the reference
        let o = try await testUnit(station, bench, serial: "S-1", part: "FT-MTP12-SMAPC-B-LL")
        #expect(o.report.verdict == .error)
        #expect(o.report.diagnoses.contains { $0.code == .referenceSuspect })
        #expect(o.report.reasons.contains { $0.contains("re-reference") })
        do {
            _ = try await testUnit(station, bench, serial: "S-2", part: "FT-MTP12-SMAPC-B-LL")
            Issue.record("a suspect reference must refuse the next unit")
        } catch let e as UnitRefused {
            #expect(e.message.contains("suspect"))
        }
        #expect(station.data.loadReferences(fixture: 1).references.contains { $0.suspect != nil })  // persisted
    }
}

@Suite(.shutsDownStations) struct HostileSerialTests {
    @Test(arguments: [
        "../../etc/x", "a/b/c", "/etc/passwd", String(repeating: "S", count: 64),
        "..", ".hidden", "Ünïcødé-序列", "con", "x\u{202E}y"
    ])
    func serialNeverEscapesReportsFolder(serial: String) async throws {
        let (station, bench) = try await makeStation()
        let o = try await testUnit(station, bench, serial: serial, part: "FT-MTP12-SMAPC-B-LL")
        let dir = URL(fileURLWithPath: station.data.reports).standardizedFileURL.path
        let file = URL(fileURLWithPath: o.reportPath)
        #expect(file.deletingLastPathComponent().standardizedFileURL.path == dir)
        let name = file.lastPathComponent
        #expect(!name.hasPrefix("."))
        #expect(name.count < 200)
        #expect(
            name.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains(Character($0)) || "._-".unicodeScalars.contains($0))
            })
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).contains(name))
        let back = try UnitReport.decoder().decode(UnitReport.self, from: Data(contentsOf: file))
        #expect(back.unit.serial == serial)  // verbatim inside the JSON
        let (status, out) = try validateReports([o.reportPath])
        #expect(status == 0, "\(out)")
    }

    /// Control characters (bell, escape, newline, NUL) and serials longer than a label holds are
    /// refused before anything is measured, naming what is wrong.
    @Test(arguments: [
        ("ctl\u{07}\u{1B}[31m\nline", "U+0007 at position 4"), ("x\u{0}y", "U+0000 at position 2"),
        (String(repeating: "S", count: 300), "300 characters long; at most 64")
    ])
    func serialWithControlCharactersOrTooLongIsRefused(serial: String, says: String) async throws {
        let (station, bench) = try await makeStation()
        let e = await #expect(throws: UnitRefused.self) { try await testUnit(station, bench, serial: serial, part: "FT-MTP12-SMAPC-B-LL") }
        #expect(e?.message.contains(says) == true, "\(String(describing: e))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: station.data.reports).isEmpty)
    }

    @Test func emptySerialIsRefused() async throws {
        let (station, bench) = try await makeStation()
        await #expect(throws: UnitRefused.self) { try await testUnit(station, bench, serial: "  ", part: "FT-MTP12-SMAPC-B-LL") }
    }
}

@Suite(.shutsDownStations) struct FaultTests {
    @Test(arguments: [InstrumentFaultKind.noReply, .garbage, .queueError, .disconnect])
    func instrumentFaultMidUnitIsErrorWithMeasurementsKept(kind: InstrumentFaultKind) async throws {
        let (station, bench) = try await makeStation()
        // Fail after a few fibers: fiber 1..3 measured, then the meter faults.
        await bench.injectFault(instrument: "ilrl", kind: kind, afterCalls: 14)
        let o = try await testUnit(
            station, bench, serial: "F-\(kind)", part: "FT-MTP12-SMAPC-B-LL",
            faults: [.highLoss(fiber: 1, extraDb: 1.0)])
        #expect(o.report.verdict == .error)  // never fail, even with fiber 1 above its limit
        #expect(o.report.diagnoses.contains { $0.code == .instrumentFault && $0.message.contains("ilrl") })
        #expect(o.report.reasons.first?.contains("ilrl") ?? false)
        #expect(!o.report.measurements.isEmpty)
        #expect(o.report.fibers.contains { $0.verdict == .notTested })
        let (status, out) = try validateReports([o.reportPath])
        #expect(status == 0, "\(out)")
    }

    @Test func switchFaultNamesTheSwitch() async throws {
        let (station, bench) = try await makeStation()
        await bench.injectFault(instrument: "receive-switch", kind: .noReply, afterCalls: 3)
        let o = try await testUnit(station, bench, serial: "F-SW", part: "FT-MTP8-SMAPC-B")
        #expect(o.report.verdict == .error)
        #expect(o.report.reasons[0].contains("receive-switch"))
    }

    @Test func abortWritesAnAbortedReport() async throws {
        let (station, bench) = try await makeStation(config: try slowBenchConfig())
        let recipe = station.config.recipes["FT-MTP24-OM4-A"]!
        await bench.mount(.assembly(SimulatedAssembly(serial: "AB-1", recipe: recipe)), fixture: 1)
        let events = await station.events.subscribe()
        let task = Task { try await station.test(UnitRequest(serial: "AB-1", partNumber: "FT-MTP24-OM4-A", fixture: 1, operatorId: "op")) }
        // Cancel once the third fiber has been measured.
        for await e in events {
            if case .step(_, _, let fiber, _, _, _, _, _, _) = e, fiber == 3 {
                task.cancel()
                break
            }
        }
        let o = try await task.value
        #expect(o.report.verdict == .aborted)
        #expect(o.report.measurements.count >= 6 && o.report.measurements.count < 48)
        #expect(FileManager.default.fileExists(atPath: o.reportPath))
        let (status, out) = try validateReports([o.reportPath])
        #expect(status == 0, "\(out)")
        // The bench was left safe: laser off.
        let after = try await testUnit(station, bench, serial: "AB-2", part: "FT-MTP24-OM4-A")
        #expect(after.report.verdict == .pass)
    }

    @Test func busyFixtureIsRefused() async throws {
        let (station, bench) = try await makeStation(config: try slowBenchConfig())
        let recipe = station.config.recipes["FT-MTP24-OM4-A"]!
        await bench.mount(.assembly(SimulatedAssembly(serial: "BZ-1", recipe: recipe)), fixture: 1)
        let events = await station.events.subscribe()
        let first = Task { try await station.test(UnitRequest(serial: "BZ-1", partNumber: "FT-MTP24-OM4-A", fixture: 1, operatorId: "op")) }
        for await e in events { if case .unitStarted = e { break } }
        do {
            _ = try await station.test(UnitRequest(serial: "BZ-2", partNumber: "FT-MTP24-OM4-A", fixture: 1, operatorId: "op"))
            Issue.record("a busy fixture must refuse a second unit")
        } catch let e as UnitRefused {
            #expect(e.message.contains("busy") && e.message.contains("BZ-1"))
        }
        #expect(try await first.value.report.verdict == .pass)
    }
}
