import FerruleCore
import FerruleProtocol
import FerruleRecords
import FerruleSimulator
@testable import FerruleConfig
@testable import FerruleStation
import Foundation
import FerruleTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The MES's route check over IPC-CFX (#30 item 1): the station sends ValidateUnitsRequest
/// through the real RabbitMQ, over TLS, to `scripts/cfx-mes-peer.py`, a stand-in MES written
/// with Qpid Proton's Python binding, which answers on the station's reply queue.
@Suite(.serialized, .shutsDownStations) struct MESValidationTests {
    /// The in-process bench whose route check goes to `address` on the TLS listener
    /// (`localhost`, the name the broker's certificate holds).
    func station(address: String, onUnavailable: String = "refuse", timeout: String = "10s") async throws -> (Station, SimulatedBench) {
        let text = try inProcessConfigText() + """

            mes:
              routeCheck:
                cfx: { broker: "amqps://localhost:5671", address: "\(address)", timeout: \(timeout),
                       user: ferrule, passwordFile: "\(try Broker.passwordFile())", caFile: "\(BrokerTLS.caFile)" }
                onUnavailable: \(onUnavailable)

            """
        return try await makeStation(config: try StationConfig.parse(text, file: "route.yaml"))
    }

    func standIn(address: String, route: String) async throws -> (Process, log: String) {
        let log = temporaryDirectory() + "/mes.jsonl"
        let peer = try await ReadyPeer.start(
            "cfx-mes-peer.py",
            ["--url", Broker.url, "--address", address, "--user", Broker.user, "--password", Broker.password, "--log", log,
             "--route", route])
        return (peer, log)
    }

    /// A held serial ends before any light with the MES's reason (escaped); a free one runs and
    /// its report says it was allowed; the request is a CFX ValidateUnitsRequest with the
    /// station's handle, a RequestID, the serial and fixture, and a reply-to queue.
    @Test(.timeLimit(.minutes(3))) func theMESDecidesOverCFXBeforeAnyLight() async throws {
        let address = Broker.freshQueue()
        let (peer, log) = try await standIn(address: address, route: "HELD-1=hold:on hold by QA \u{1B}[31m NCR-77")
        defer { kill(peer.processIdentifier, SIGKILL) }
        let (station, bench) = try await station(address: address)
        let events = await station.events.subscribe()
        let readings = await bench.readings
        let held = await unitRefusal { try await testUnit(station, bench, serial: "HELD-1", part: "FT-MTP12-SMAPC-B-LL") }
        #expect(held?.refusal.reason == .routeRefused)
        #expect(held?.message.contains("on hold by QA \\u{1B}[31m NCR-77 (failure code 17)") == true, "\(String(describing: held))")
        #expect(await bench.readings == readings, "no light entered the fixture for a refused unit")
        let ok = try await testUnit(station, bench, serial: "FREE-1", part: "FT-MTP12-SMAPC-B-LL")
        #expect(ok.report.verdict == .pass && ok.report.routeCheck == UnitReport.RouteCheck(result: .allowed))
        await station.shutdown()
        await station.events.finish()

        let asked = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(asked.count == 2)
        let last = try #require(asked.last)
        let envelope = try #require(last["envelope"] as? [String: Any])
        let body = try #require(envelope["MessageBody"] as? [String: Any])
        #expect(envelope["MessageName"] as? String == "CFX.InformationSystem.UnitValidation.ValidateUnitsRequest")
        #expect(envelope["Source"] as? String == "ferrule.\(station.config.stationId)")
        #expect((envelope["RequestID"] as? String)?.hasPrefix("REQUEST-") == true)
        #expect(body["PrimaryIdentifier"] as? String == "FREE-1")
        #expect(body["Validations"] as? [String] == ["UnitRouteValidation", "UnitStatusValidation"])
        let unit = try #require((body["Units"] as? [[String: Any]])?.first)
        #expect(unit["UnitIdentifier"] as? String == "FREE-1" && unit["PositionNumber"] as? Int == 1)
        #expect(last["replyTo"] as? String == "/queue/ferrule.\(station.config.stationId).route-answers")
        #expect((last["ttl"] as? Double).map { $0 > 0 && $0 <= 10 } == true, "the request expires with the wait: \(last)")

        var outcomes: [RouteOutcome: String?] = [:]
        for await e in events { if case .routeChecked(_, _, let outcome, let detail) = e { outcomes[outcome] = detail } }
        #expect(outcomes.keys.sorted { $0.rawValue < $1.rawValue } == [.allowed, .refused])
    }

    /// No MES reading the address (the stand-in stopped): `refuse` refuses once the timeout has
    /// passed, saying so; `allow` runs the unit, and its report says the route was not checked.
    @Test(.timeLimit(.minutes(3)), arguments: ["refuse", "allow"])
    func anMESThatIsNotThere(onUnavailable: String) async throws {
        let address = Broker.freshQueue()
        let (peer, _) = try await standIn(address: address, route: "")
        kill(peer.processIdentifier, SIGKILL)  // the queue stays; nobody answers it
        peer.waitUntilExit()
        let (station, bench) = try await station(address: address, onUnavailable: onUnavailable, timeout: "1s")
        if onUnavailable == "refuse" {
            let e = await unitRefusal { try await testUnit(station, bench, serial: "LOST-1", part: "FT-MTP12-SMAPC-B-LL") }
            #expect(e?.refusal.reason == .routeUnavailable && e?.message.contains("no answer within 1.0 seconds") == true,
                    "\(String(describing: e))")
        } else {
            let o = try await testUnit(station, bench, serial: "LOST-1", part: "FT-MTP12-SMAPC-B-LL")
            #expect(o.report.verdict == .pass)
            #expect(o.report.routeCheck?.result == .notChecked && o.report.routeCheck?.detail?.contains("no answer within") == true)
            // Its CFX says so too: a Skipped route-check test and a symptom with why.
            let cfx = try CFXUnitMessages.messages(o.report, source: "s") { $0 }
            let tested = String(decoding: try #require(cfx.first { $0.name == CFXUnitMessages.unitsTested }).json, as: UTF8.self)
            #expect(tested.contains(#""TestName":"MES route not checked""#) && tested.contains(#""Result":"Skipped""#), "\(tested)")
            #expect(tested.contains("MES route not checked: the MES at amqps://localhost:5671"), "\(tested)")
        }
        await station.shutdown()
    }

    /// An MES that answers with something that decides nothing (CFX.NotSupportedResponse) is
    /// not a decision: the unit is refused as unavailable, with what the MES said.
    @Test(.timeLimit(.minutes(3))) func anAnswerThatDecidesNothingIsNotADecision() async throws {
        let address = Broker.freshQueue()
        let (peer, _) = try await standIn(address: address, route: "ODD-1=notsupported")
        defer { kill(peer.processIdentifier, SIGKILL) }
        let (station, bench) = try await station(address: address)
        let e = await unitRefusal { try await testUnit(station, bench, serial: "ODD-1", part: "FT-MTP12-SMAPC-B-LL") }
        #expect(e?.refusal.reason == .routeUnavailable)
        #expect(e?.message.contains("CFX.NotSupportedResponse, not a ValidateUnitsResponse: validation is not offered here") == true,
                "\(String(describing: e))")
        await station.shutdown()
    }
}
