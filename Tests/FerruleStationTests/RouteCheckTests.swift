import FerruleCore
import FerruleProtocol
import FerruleSimulator
@testable import FerruleConfig
@testable import FerruleStation
import Foundation
import FerruleTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The MES's route check before any light (#30 item 1, HTTP): against `scripts/mes-peer.py`, a
/// plain Python HTTP server standing in for the MES.
@Suite(.serialized, .shutsDownStations) struct RouteCheckTests {
    /// The in-process bench asking the stand-in MES; `timeout` leaves a loaded machine room to answer.
    func station(port: Int, onUnavailable: String, timeout: String = "10s") async throws -> (Station, SimulatedBench) {
        let text = try inProcessConfigText() + """

            mes:
              routeCheck:
                http: { url: "http://127.0.0.1:\(port)/route-check", timeout: \(timeout) }
                onUnavailable: \(onUnavailable)

            """
        return try await makeStation(config: try StationConfig.parse(text, file: "route.yaml"))
    }

    /// A held serial ends before any light with the MES's reason (escaped); an allowed one runs
    /// and its report says so; the MES hears the serial, part, station, fixture and operator.
    @Test func theMESDecidesBeforeAnyLight() async throws {
        let log = temporaryDirectory() + "/mes.log"
        let (peer, port) = try startPeer("mes-peer.py", ["--log", log, "--route", "HELD-1=hold:on hold by QA \u{1B}[31m NCR-77"])
        defer { kill(peer.processIdentifier, SIGKILL) }
        let (station, bench) = try await station(port: port, onUnavailable: "refuse")
        let events = await station.events.subscribe()
        let readings = await bench.readings
        let held = await unitRefusal { try await testUnit(station, bench, serial: "HELD-1", part: "FT-MTP12-SMAPC-B-LL") }
        #expect(held?.refusal.reason == .routeRefused)
        #expect(held?.message.contains("on hold by QA \\u{1B}[31m NCR-77") == true, "\(String(describing: held?.message))")
        #expect(await bench.readings == readings, "no light entered the fixture for a refused unit")
        let ok = try await testUnit(station, bench, serial: "FREE-1", part: "FT-MTP12-SMAPC-B-LL")
        #expect(ok.report.verdict == .pass && ok.report.routeCheck == UnitReport.RouteCheck(result: .allowed))
        let asked = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .compactMap { $0["route"] as? [String: Any] }
        #expect(asked.count == 2)
        let free = try #require(asked.last)
        #expect(free["serial"] as? String == "FREE-1" && free["partNumber"] as? String == "FT-MTP12-SMAPC-B-LL")
        #expect(free["station"] as? String == station.config.stationId && free["fixture"] as? Int == 1)
        #expect(free["operator"] as? String == "op-7")
        // Each check is an event (metrics count them by outcome), the MES's reason escaped in it.
        await station.events.finish()
        var outcomes: [RouteOutcome: String?] = [:]
        for await e in events { if case .routeChecked(_, _, let outcome, let detail) = e { outcomes[outcome] = detail } }
        #expect(outcomes.keys.sorted { $0.rawValue < $1.rawValue } == [.allowed, .refused])
        #expect(outcomes[.refused] == .some("on hold by QA \\u{1B}[31m NCR-77"))
    }

    /// An MES that does not answer in time follows `onUnavailable`: refuse, or run the unit with
    /// a report that says the route was not checked.
    @Test(arguments: ["refuse", "allow"]) func anMESThatDoesNotAnswer(onUnavailable: String) async throws {
        let log = temporaryDirectory() + "/mes.log"
        let (peer, port) = try startPeer("mes-peer.py", ["--log", log, "--route", "SLOW-1=stall", "--stall-seconds", "30"])
        defer { kill(peer.processIdentifier, SIGKILL) }
        let (station, bench) = try await station(port: port, onUnavailable: onUnavailable, timeout: "1s")
        if onUnavailable == "refuse" {
            let e = await unitRefusal { try await testUnit(station, bench, serial: "SLOW-1", part: "FT-MTP12-SMAPC-B-LL") }
            #expect(e?.refusal.reason == .routeUnavailable && e?.message.contains("no answer within") == true, "\(String(describing: e))")
        } else {
            let o = try await testUnit(station, bench, serial: "SLOW-1", part: "FT-MTP12-SMAPC-B-LL")
            #expect(o.report.verdict == .pass)
            #expect(o.report.routeCheck?.result == .notChecked && o.report.routeCheck?.detail?.contains("no answer within") == true)
        }
    }

    @Test func aRouteCheckWithoutAnEndpointNamesTheKey() throws {
        let text = try inProcessConfigText() + "\nmes:\n  routeCheck:\n    http: { url: \"ftp://mes\" }\n"
        do {
            _ = try StationConfig.parse(text, file: "route.yaml")
            Issue.record("ftp was accepted")
        } catch {
            #expect(error.path.description == "mes.routeCheck.http.url" && error.message.contains("not an http(s) URL"))
        }
    }
}
