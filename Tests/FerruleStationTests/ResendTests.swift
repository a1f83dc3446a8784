import FerruleControl
import FerruleCore
import FerruleProtocol
import FerruleRecords
import FerruleConfig
import FerruleStation
import Foundation
import FerruleTesting
import Testing

/// Parked deliveries can be sent again: a report the MES refused goes back in that sink's queue
/// once the MES is fixed, and no other sink receives it twice.
@Suite(.shutsDownStations) struct ResendTests {
    struct Hit: Decodable {
        var serial: String
        var answer: String
    }

    func hits(_ log: String) throws -> [Hit] {
        try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
            try JSONDecoder().decode(Hit.self, from: Data($0.utf8))
        }
    }

    func drained(_ station: Station, _ sink: String) async throws {
        try await waitUntil("\(sink) to deliver everything") { try await station.store.pending(for: sink) == 0 }
    }

    @Test func aParkedReportSentAgainReachesItsSinkOnlyAndIsNoLongerParked() async throws {
        let dir = temporaryDirectory()
        let log = dir + "/mes.log"
        // The MES refuses RS-B once (a missing part-number mapping, say), then takes it.
        let (peer, port) = try startPeer("mes-peer.py", ["--log", log, "--plan", "RS-B=422"])
        defer { kill(peer.processIdentifier, SIGKILL) }
        let share = dir + "/share"
        try FileManager.default.createDirectory(atPath: share, withIntermediateDirectories: false)
        let (station, bench) = try await makeStation(sinks: [
            HTTPSink(name: "mes", url: "http://127.0.0.1:\(port)/results", tokenFile: nil, timeout: .seconds(5)),
            DirectorySink(name: "share", path: share, formats: [.json], stationId: "SIM-01")
        ])
        let a = try await testUnit(station, bench, serial: "RS-A", part: "FT-MTP12-SMAPC-B-LL")
        let b = try await testUnit(station, bench, serial: "RS-B", part: "FT-MTP12-SMAPC-B-LL")
        try await drained(station, "mes")
        try await drained(station, "share")
        #expect(try await station.delivery.parked(sink: "mes").map(\.reportId) == [b.report.reportId])

        // Refused: what the sink has not had yet, a sink that does not exist, a serial never tested.
        await #expect(throws: ResendProblem.self) { try await station.delivery.resend(sink: "nope", .parked, by: "sup1") }
        await #expect(throws: ResendProblem.self) { try await station.delivery.resend(sink: "mes", .report("NEVER-1"), by: "sup1") }

        let outcome = try await station.delivery.resend(sink: "mes", .parked, by: "sup1")
        #expect(outcome.queued == [b.report.reportId])
        try await drained(station, "mes")
        #expect(try await station.delivery.parked(sink: "mes").isEmpty)
        #expect(try await station.store.deliveries(of: b.report.reportId).map(\.state) == [.delivered, .delivered])
        #expect(try hits(log).filter { $0.serial == "RS-B" }.map(\.answer) == ["422", "200"])
        #expect(await station.status().sinks.first { $0.name == "mes" }?.parked == 0)

        // A delivered report the MES lost, by serial: sent once more, to that sink only.
        let again = try await station.delivery.resend(sink: "mes", .report("RS-A"), by: "sup1")
        #expect(again.queued == [a.report.reportId])
        try await drained(station, "mes")
        #expect(try hits(log).filter { $0.serial == "RS-A" }.count == 2)
        let shared = try FileManager.default.contentsOfDirectory(atPath: share).filter { $0.hasPrefix("RS-A") }
        #expect(shared.count == 1, "the directory sink got RS-A once: \(shared)")
        await station.shutdown()
    }

    @Test func aReportStillInTheQueueIsNotQueuedTwice() async throws {
        // A sink that never answers in time: the unit's report stays in its queue.
        let (station, bench) = try await makeStation(sinks: [
            HTTPSink(name: "mes", url: "http://127.0.0.1:9/results", tokenFile: nil, timeout: .milliseconds(200))
        ])
        let u = try await testUnit(station, bench, serial: "RS-W", part: "FT-MTP12-SMAPC-B-LL")
        do {
            _ = try await station.delivery.resend(sink: "mes", .report(u.report.reportId.uuidString), by: "sup1")
            Issue.record("a report still waiting was queued again")
        } catch {
            guard case .stillWaiting = error else { throw error }
        }
        #expect(try await station.store.resendWaiting(for: "mes") == 0)
        await station.shutdown()
    }

    /// Through the socket and ferrulectl, as a supervisor would: the list shows the parked report
    /// with the MES's reason, `sinks resend --parked` sends it again, and bad requests name the fix.
    @Test func ferrulectlListsParkedReportsAndSendsThemAgain() async throws {
        let dir = temporaryDirectory()
        let (peer, port) = try startPeer("mes-peer.py", ["--log", dir + "/mes.log", "--plan", "RS-D=422"])
        defer { kill(peer.processIdentifier, SIGKILL) }
        let config =
            try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
                + """

                sinks:
                  - { name: mes, kind: http, url: "http://127.0.0.1:\(port)/results", timeout: 5s, maxBackoff: 1s }

                """
        let d = try await Daemon(config: config)
        defer { Task { await d.stop() } }
        try await ControlSession.with(path: d.socket) { s in
            _ = try await s.ok("reference") { $0.fixture = 2 }
            _ = try await s.ok("subscribe")
            _ = try await s.ok("test") {
                $0.serial = "RS-D"
                $0.partNumber = "FT-MTP12-SMAPC-B-LL"
                $0.fixture = 2
            }
            _ = try await s.events { $0["kind"]?.string == "delivery" && $0["parked"]?.int == 1 }
        }
        let ctl = Repo.root + "/.build/debug/ferrulectl"
        let (listed, list) = try runProgram(ctl, ["sinks", "--socket", d.socket])
        #expect(listed == 0)
        #expect(
            list.contains("sink mes (http): 0 waiting, 1 parked") && list.contains("parked RS-D") && list.contains("HTTP 422"), "\(list)")

        let (bad, badOut) = try runProgram(ctl, ["sinks", "resend", "mse", "--parked", "--socket", d.socket])
        #expect(bad == 2 && badOut.contains("no sink is named 'mse'") && badOut.contains("name one of: mes"), "\(badOut)")
        let (none, noneOut) = try runProgram(ctl, ["sinks", "resend", "mes", "--socket", d.socket])
        #expect(none != 0 && noneOut.contains("--parked"), "\(noneOut)")

        let (sent, sentOut) = try runProgram(ctl, ["sinks", "resend", "mes", "--parked", "--socket", d.socket])
        #expect(sent == 0 && sentOut.contains("mes: 1 report(s) queued again"), "\(sentOut)")
        try await waitUntil("RS-D delivered") {
            let (_, out) = try runProgram(ctl, ["sinks", "--socket", d.socket])
            return out.contains("0 waiting, 0 parked")
        }
        #expect(d.logText.contains("resend from"), "who asked is logged")
    }
}
