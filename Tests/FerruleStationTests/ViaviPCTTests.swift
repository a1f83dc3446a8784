import FerruleCore
import FerruleDevices
import FerruleSetup
import FerruleSimSpec
import FerruleSimulator
@testable import FerruleConfig
@testable import FerruleStation
import Foundation
import FerruleTesting
import Testing

/// The VIAVI MAP-300 PCT station (`Config/viavi-pct.yaml`): the real `viavi-map-pct` driver against
/// the simulated MAP-300 on the wire (chassis and PCT ports, launch, Port Map, reference and DUT
/// cycles), judged against the simulator's truth.
@Suite(.serialized, .shutsDownStations) struct ViaviPCTTests {
    static let config = Repo.root + "/Config/viavi-pct.yaml"
    static let typeB = "FT-MTP12-SMAPC-B-3M"

    /// The config's MAP-300 alone on the wire (no station): its bench and its endpoints.
    func simulatedMAP300() async throws -> (WireBench, SimulatedBench, Endpoint) {
        let config = try StationConfig.load(path: Self.config)
        let bench = SimulatedBench(wiring: config.fixtures, settings: config.simulation!.bench)
        let wb = try await WireBench.start(config.wireInstruments(), bench: bench, ptyDirectory: temporaryDirectory())
        guard let endpoint = wb.endpoints.first(where: { $0.name == "pct" }) else {
            wb.close()
            throw DaemonError(description: "no pct endpoint")
        }
        return (wb, bench, endpoint)
    }

    func pctStation() async throws -> (Station, SimulatedBench, BuiltStation) {
        let built = try await makeBuiltStation(config: try StationConfig.load(path: Self.config))
        return (built.station, try #require(built.simulation?.bench), built)
    }

    /// Every IL within 0.02 dB, every RL (A and B) within 0.2 dB and the length within 0.1 m of
    /// the simulator's truth, on a Type B trunk whose SW1 and SW2 paths all differ in loss.
    @Test func aTypeBTrunkReadsTheTruth() async throws {
        let (station, bench, built) = try await pctStation()
        defer { built.simulation?.close() }
        let recipe = station.config.recipes[Self.typeB]!
        let unit = SimulatedAssembly(serial: "PCT-ACC-1", recipe: recipe)
        await bench.mount(.assembly(unit), fixture: 1)
        let o = try await station.test(UnitRequest(serial: unit.serial, partNumber: Self.typeB, fixture: 1, operatorId: "op"))
        let r = o.report
        #expect(r.verdict == .pass, "\(r.reasons)")
        #expect(r.measurements.count == 24)
        for m in r.measurements {
            let il = try #require(m.ilDb, "fiber \(m.fiber) at \(m.wavelengthNm) nm has no IL")
            #expect(abs(il - unit.loss[m.fiber]![m.wavelengthNm]!) <= 0.02, "IL fiber \(m.fiber) \(m.wavelengthNm) nm")
            #expect(abs(try #require(m.rlDb) - unit.returnLoss[m.fiber]!) <= 0.2, "RL A fiber \(m.fiber)")
            #expect(abs(try #require(m.rlBDb) - unit.returnLossB[m.fiber]!) <= 0.2, "RL B fiber \(m.fiber)")
            #expect(abs(try #require(m.lengthM) - unit.lengthM) <= 0.1, "length fiber \(m.fiber)")
            #expect(m.receivePosition == 13 - m.fiber && m.referencedPair)
        }
        #expect(r.polarity.observedType == .b)
        #expect(r.references.contains { $0.pairs.contains("pct referenced itself") }, "the report says the instrument referenced itself")
        #expect(r.instruments.map(\.role) == [.sequencer] && r.limits.rlWindow?.method == .discrete)
        // The report file, with its lengths, RL window and tolerance, is valid against the published schema.
        try await waitUntil("the report file") { FileManager.default.fileExists(atPath: o.reportPath) }
        let (status, out) = try validateReports([o.reportPath])
        #expect(status == 0, "\(out)")
    }

    /// A dark fiber has no IL number and is diagnosed dark; a Type A unit under a Type B recipe is
    /// diagnosed with the type observed (the PCT's port map finds where each fiber arrives).
    @Test func darkAndWrongPolarityAreDiagnosedWithThePortMap() async throws {
        let (station, bench, built) = try await pctStation()
        defer { built.simulation?.close() }
        let dark = try await testUnit(station, bench, serial: "PCT-DK", part: Self.typeB, faults: [.darkFiber(fiber: 5)])
        #expect(dark.report.verdict == .fail)
        #expect(dark.report.measurements.filter { $0.fiber == 5 }.allSatisfy { $0.ilDb == nil && $0.powerStatus == .noLight })
        #expect(dark.report.diagnoses.map(\.code) == [.darkFiber] && dark.report.diagnoses[0].fibers == [5])
        let typeA = try await testUnit(station, bench, serial: "PCT-A", part: Self.typeB, faults: [.wrongPolarity(.a)])
        #expect(typeA.report.verdict == .fail)
        #expect(typeA.report.polarity.observedType == .a)
        #expect(typeA.report.diagnoses.first?.code == .wrongPolarityType, "\(typeA.report.diagnoses)")
        #expect(typeA.report.measurements.allSatisfy { $0.ilDb == nil || $0.receivePosition == $0.fiber })
    }

    /// RL at end B below `rlMinDbB` fails naming end B; a cable 1 m short fails on its length.
    @Test func returnLossPerEndAndLengthAreJudged() async throws {
        let (station, bench, built) = try await pctStation()
        defer { built.simulation?.close() }
        let dirty = try await testUnit(station, bench, serial: "PCT-RLB", part: Self.typeB,
                                       faults: [.dirtyEndFace(end: .b, fibers: [9], extraDb: 0)])
        #expect(dirty.report.verdict == .fail)
        let nine = dirty.report.measurements.filter { $0.fiber == 9 }
        #expect(nine.allSatisfy { $0.reasons.contains { $0.contains("at end B is below 60.0 dB") } }, "\(nine.map(\.reasons))")
        #expect(nine.allSatisfy { ($0.rlDb ?? 0) >= 60 })
        let short = try await testUnit(station, bench, serial: "PCT-LEN", part: Self.typeB, faults: [.wrongLength(deltaM: -1)])
        #expect(short.report.verdict == .fail)
        #expect(short.report.diagnoses.map(\.code) == [.wrongLength])
        #expect(short.report.reasons.contains { $0.contains("too short") }, "\(short.report.reasons)")
    }

    /// A measurement ending in state 3, or a dropped connection, makes the unit `error` naming the
    /// instrument and the command; with the fault gone the next unit passes.
    @Test(arguments: [(WireFault.measurementFault, "MEAS:STAR"), (.disconnect, "MEAS:ALL?")])
    func faultsMakeTheUnitAnErrorAndTheNextPasses(fault: WireFault, command: String) async throws {
        let (station, bench, built) = try await pctStation()
        defer { built.simulation?.close() }
        try await built.faults.inject(fault, into: "pct", scope: FaultScope(command: command))
        let o = try await testUnit(station, bench, serial: "PCT-F-\(fault)", part: Self.typeB)
        #expect(o.report.verdict == .error)
        let why = try #require(o.report.reasons.first)
        #expect(why.contains("pct") && why.contains(":" + command), "\(why)")
        if fault == .measurementFault { #expect(why.contains("state 3") && why.contains("-38"), "\(why)") }
        try await built.faults.inject(.none, into: "pct")
        try await waitUntil("the source to confirm off") { await station.status().fixtures.allSatisfy { $0.sourceMayBeOn == nil } }
        let next = try await testUnit(station, bench, serial: "PCT-after-\(fault)", part: Self.typeB)
        #expect(next.report.verdict == .pass, "\(next.report.reasons)")
    }

    /// The application launched from the chassis, the wait bounded: a PCT port that never
    /// answers (a wrong slot) is an error naming both ports; a chassis that is not there, too.
    @Test func theLaunchIsBoundedAndSaysWhy() async throws {
        let (wb, _, endpoint) = try await simulatedMAP300()
        defer { wb.close() }
        let chassis = try #require(InstrumentAddress.parse(endpoint.address))
        let nowhere = InstrumentAddress.tcp(host: "127.0.0.1", port: 1)  // nothing listens: refused
        let wrongSlot = ViaviMapPCT(name: "pct", chassis: chassis, application: nowhere, wavelengthsNm: [1310],
                                    timeout: .seconds(1), launchTimeout: .seconds(1))
        let e = await #expect(throws: InstrumentError.self) { _ = try await wrongSlot.identify() }
        let why = e?.detail ?? ""
        #expect(why.contains("did not answer at \(nowhere)") && why.contains("SUPer:LAUNch PCT"), "\(why)")
        let noChassis = ViaviMapPCT(name: "pct", chassis: nowhere, application: nowhere, wavelengthsNm: [1310], timeout: .seconds(1))
        let e2 = await #expect(throws: InstrumentError.self) { _ = try await noChassis.identify() }
        #expect(e2?.detail.contains("neither the PCT") == true, "\(String(describing: e2))")
        // The right port comes up once the chassis has launched it.
        let application = try #require(endpoint.applicationAddress)
        let right = ViaviMapPCT(name: "pct", chassis: chassis, application: try #require(InstrumentAddress.parse(application)),
                                wavelengthsNm: [1310], timeout: .seconds(2))
        #expect(try await right.identify().model.contains("PCT"))
        #expect(try await right.calibration() == .calibrated(on: "2026-03-02"))
    }

    /// Switching the light off (after every unit, at every stop) never launches the application:
    /// a PCT whose application is not up measures nothing, and a stop must not wait 30 s for it.
    @Test func lightOffNeverLaunchesTheApplication() async throws {
        let (wb, _, endpoint) = try await simulatedMAP300()
        defer { wb.close() }
        let chassis = try #require(InstrumentAddress.parse(endpoint.address))
        let application = try #require(endpoint.applicationAddress)
        let pct = ViaviMapPCT(name: "pct", chassis: chassis, application: try #require(InstrumentAddress.parse(application)),
                              wavelengthsNm: [1310], timeout: .seconds(2))
        try await pct.disable()
        let cmr = try await LineLink.open(chassis)
        defer { cmr.close() }
        #expect(try await cmr.query(":SUP:STAT? PCT", timeout: .seconds(3)) == "0")
    }

    /// VIAVI's own example (`PCT_12_Channel_Test.py`, in JacobLiou/VIAVI---Santec-Testers at
    /// 661f294) replayed line by line against the simulated MAP-300: launch from the chassis,
    /// ORL window, wavelengths, launch port, channel list, IL and length overrides, a DUT cycle
    /// polled on MEAS:STATE?, then five values per wavelength from MEAS:ALL? with RL fourth. The
    /// simulator is held to the vendor's sequence, not only to our driver's.
    @Test func vendorExampleRunsAgainstTheSimulator() async throws {
        let (wb, bench, endpoint) = try await simulatedMAP300()
        defer { wb.close() }
        let unit = SimulatedAssembly(serial: "VX-1", recipe: try StationConfig.load(path: Self.config).recipes[Self.typeB]!)
        await bench.mount(.assembly(unit), fixture: 1)
        func ask(_ l: LineLink, _ c: String) async throws -> String { String(try await l.query(c, timeout: .seconds(3))) }
        func errorCheck(_ l: LineLink) async throws { #expect(try await ask(l, "SYST:ERR?").hasPrefix("0,")) }
        let cmr = try await LineLink.open(try #require(InstrumentAddress.parse(endpoint.address)))
        try await cmr.send("SUPER:LAUNCH PCT")
        cmr.close()
        let application = try #require(endpoint.applicationAddress)
        let pctAddress = try #require(InstrumentAddress.parse(application))
        var opened: LineLink?
        try await waitUntil("the PCT port to answer") {
            opened = try? await LineLink.open(pctAddress)
            guard let l = opened, (try? await ask(l, "MEAS:STATE?")) == "1" else { return false }
            return true
        }
        let pct = try #require(opened)
        defer { pct.close() }
        try await pct.send("MEAS:ORL:SETUP 1,2,1,-0.5,0.5")
        try await errorCheck(pct)
        try await pct.send("SOURCE:LIST 1310, 1550")
        try await errorCheck(pct)
        let wavelengths = try await ask(pct, "SOURCE:LIST?").split(separator: ",")
        #expect(wavelengths == ["1310", "1550"])
        for c in ["PATH:LAUNCH 1", "PATH:LIST 1,1-12"] {
            try await pct.send(c)
            try await errorCheck(pct)
        }
        for i in 1...12 {
            for c in ["PATH:JUMPER:IL 1,\(i),0.1", "PATH:JUMPER:IL:AUTO 1,\(i),0", "PATH:JUMPER:LENGTH 1,\(i),3",
                      "PATH:JUMPER:LENGTH:AUTO 1,\(i),0"] {
                try await pct.send(c)
                try await errorCheck(pct)
            }
        }
        try await pct.send("SENS:FUNC 1")
        try await errorCheck(pct)
        try await pct.send("MEAS:START")
        try await waitUntil("the measurement to end") { try await ask(pct, "MEAS:STATE?") != "2" }
        #expect(try await ask(pct, "MEAS:STATE?") == "1")
        try await errorCheck(pct)
        for i in 1...12 {
            let result = try await ask(pct, "MEAS:ALL? \(i),1").split(separator: ",", omittingEmptySubsequences: false)
            #expect(result.count == 5 * wavelengths.count, "channel \(i): \(result)")
            for j in 0..<wavelengths.count {
                let res = result[(5 * j)..<(5 * j + 5)].map(String.init)
                #expect(res[0] == String(wavelengths[j]))
                let rl = try #require(Double(res[3]), "channel \(i): RL is the 4th item")
                #expect(abs(rl - unit.returnLoss[i]!) <= 0.2, "channel \(i) RL \(rl)")
                try await errorCheck(pct)
            }
        }
    }
}
