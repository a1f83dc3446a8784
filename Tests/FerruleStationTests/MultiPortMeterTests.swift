import FerruleCore
import FerruleSetup
import FerruleSimSpec
import FerruleSimulator
@testable import FerruleConfig
@testable import FerruleStation
import Foundation
import FerruleTesting
import Testing

/// A Keysight N7745C in place of the receive switch and meter (`Config/multiport.yaml`): the real
/// `keysight-n774x` driver against the simulated meter, every receive position on a port of its own.
@Suite(.serialized, .shutsDownStations) struct MultiPortMeterTests {
    static let part = "FO-MTP8-LC-SM-B"

    /// IL on every leg against the simulator's truth; then a Type A unit under the Type B recipe
    /// and an all-dark unit: the polarity search reads every candidate leg in one exchange, so the
    /// meter answers one line per reading and nothing on the receive side moves.
    @Test func searchesCostNoReceiveMoves() async throws {
        let built = try await makeBuiltStation(config: try StationConfig.load(path: Repo.root + "/Config/multiport.yaml"))
        defer { built.simulation?.close() }
        let (station, bench) = (built.station, try #require(built.simulation?.bench))
        let wire = try #require(built.simulation?.wire)
        let recipe = station.config.recipes[Self.part]!
        let good = SimulatedAssembly(serial: "MP-G", recipe: recipe)
        await bench.mount(.assembly(good), fixture: 1)
        let o = try await station.test(UnitRequest(serial: good.serial, partNumber: Self.part, fixture: 1, operatorId: "op"))
        #expect(o.report.verdict == .pass, "\(o.report.reasons)")
        for m in o.report.measurements {
            #expect(abs(try #require(m.ilDb) - good.loss[m.fiber]![m.wavelengthNm]!) <= 0.02, "fiber \(m.fiber) \(m.wavelengthNm) nm")
        }
        for (name, faults, verdictFibers) in [("A", [AssemblyFault.wrongPolarity(.a)], 8), ("dark", [.genderMismatch], 2)] {
            let before = await wire.exchanges()
            let u = try await testUnit(station, bench, serial: "MP-\(name)", part: Self.part, faults: faults)
            let after = await wire.exchanges()
            #expect(u.report.verdict == .fail)
            let fibers = Set(u.report.measurements.map(\.fiber)).count
            #expect(fibers == verdictFibers)
            // One meter exchange per fiber and wavelength: the first reading finds the leg among all eight.
            #expect((after["mpm"] ?? 0) - (before["mpm"] ?? 0) == fibers * recipe.wavelengthsNm.count, "\(after) \(before)")
            if faults == [.wrongPolarity(.a)] {
                #expect(u.report.polarity.observedType == .a)
                #expect(u.report.diagnoses.first?.code == .wrongPolarityType)
            } else {
                #expect(u.report.diagnoses.map(\.code) == [.allDark])
            }
        }
    }

    /// A config asking more ports than an N7745C has is refused at load, naming the key.
    @Test func moreThanEightPortsIsRefused() throws {
        let text = try String(contentsOfFile: Repo.root + "/Config/multiport.yaml", encoding: .utf8)
            .replacingOccurrences(of: "    channels: 8\n", with: "    channels: 12\n")
        do {
            _ = try StationConfig.parse(text, file: "mpm12.yaml")
            Issue.record("12 ports were accepted")
        } catch {
            #expect(error.path.description == "instruments[2].channels" && error.message.contains("4 (N7744C) or 8 (N7745C)"))
        }
    }
}
