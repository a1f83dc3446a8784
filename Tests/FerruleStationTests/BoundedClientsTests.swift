import FerruleControl
import FerruleCore
import FerruleProtocol
import FerruleSetup
import FerruleSimSpec
import FerruleConfig
import FerruleStation
import Foundation
import FerruleTesting
import Testing

/// One socket client cannot exhaust the daemon: what waits for a client is bounded in bytes,
/// idle connections make room for an operator and are closed, and request fields are bounded.
@Suite(.serialized, .shutsDownStations) struct BoundedClientsTests {
    /// A data directory whose store holds `count` units, rebuilt with `ferruled store recover`
    /// from copies of one real report (units are slow to test; history only needs rows).
    func dataWithUnits(_ count: Int) async throws -> String {
        let dir = temporaryDirectory()
        let (station, bench) = try await makeStation(data: dir + "/data")
        let o = try await testUnit(station, bench, serial: "MANY-0", part: "FT-MTP8-SMAPC-B")
        await station.shutdown()
        let template = try String(contentsOfFile: o.reportPath, encoding: .utf8)
        for i in 1..<count {
            let copy = template.replacingOccurrences(of: o.report.reportId.uuidString, with: UUID().uuidString)
                .replacingOccurrences(of: "MANY-0", with: "MANY-\(i)")
            try copy.write(toFile: dir + "/data/reports/MANY-\(i).json", atomically: false, encoding: .utf8)
        }
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: dir + "/data/ferrule.sqlite" + suffix) }
        let (status, out) = try runProgram(Daemon.executable, ["store", "recover", "--data-dir", dir + "/data"])
        #expect(status == 0 && out.contains("restored \(count) of \(count)"), "\(out)")
        return dir
    }

    @Test func aClientPipeliningLargeRequestsWithoutReadingIsDroppedWithABye() async throws {
        let dir = try await dataWithUnits(500)
        let d = try await Daemon(dir: dir)
        defer { Task { await d.stop() } }
        let greedy = try RawSocket(path: d.socket)
        for i in 0..<1000 { greedy.send("{\"v\":1,\"id\":\(i),\"type\":\"history\",\"limit\":500}\n") }  // each reply ~150 KB
        try await waitUntil("ferruled to drop the client that does not read") { d.logText.contains("dropped: too slow") }
        let rss = d.resources().rssKB
        print("ferruled after 1,000 pipelined 500-unit history requests: RSS \(rss / 1024) MB")
        #expect(rss < 300 * 1024)
        let (lines, unfinished) = greedy.readAllLines()
        #expect(unfinished == 0 && lines.count < 1000, "\(lines.count) lines, then \(unfinished) bytes of an unfinished one")
        let bye = json(lines.last)
        #expect(bye?["type"]?.string == "bye" && bye?["reason"]?.string?.contains("MiB of replies and events waiting") == true,
                "\(lines.last?.prefix(200) ?? "nothing")")
        // The station serves everyone else as before.
        let (status, out) = try runProgram(Repo.root + "/.build/debug/ferrulectl", ["status", "--socket", d.socket])
        #expect(status == 0, "\(out)")
    }

    @Test func sixHundredIdleConnectionsDoNotLockOutAnOperatorAndAreClosed() async throws {
        let config = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8) + "\ncontrol:\n  idleTimeout: 2s\n"
        let d = try await Daemon(config: config)
        defer { Task { await d.stop() } }
        let idle = try (0..<600).map { _ in try RawSocket(path: d.socket) }
        idle[0].send("{\"v\":1,\"id\":1,\"type\":\"sta")  // a line never finished counts as idle too
        let (status, out) = try runProgram(Repo.root + "/.build/debug/ferrulectl", ["status", "--socket", d.socket])
        #expect(status == 0 && out.contains("station"), "\(out)")
        try await waitUntil("the idle connections to be closed") { d.controlConnections() == 0 }
        let reasons = idle.compactMap { s in json(s.drain().last)?["reason"]?.string }
        #expect(reasons.contains { $0.contains("idle for") }, "\(Set(reasons))")
        #expect(reasons.contains { $0.contains("make room") }, "\(Set(reasons))")
    }

    @Test func requestFieldsAreBoundedAndIdsEchoedExactly() async throws {
        let d = try await Daemon()
        defer { Task { await d.stop() } }
        let c = try RawSocket(path: d.socket)
        c.send("{\"v\":1,\"id\":9007199254740993,\"type\":\"status\"}\n")
        #expect(c.readLine()?.contains("\"id\":9007199254740993,") == true)
        let part = "\"partNumber\":\"FT-MTP8-SMAPC-B\""
        let cases: [(String, String)] = [
            ("{\"serial\":\"\(String(repeating: "S", count: 600_000))\",\(part)}", "'serial' is 600000 characters long"),
            ("{\"serial\":\"A\\u0000B\",\(part)}", "'serial' holds the control character U+0000 at position 2"),
            ("{\"serial\":\"OK-1\",\(part),\"operator\":\"op\\u001b[2J\"}", "'operator' holds the control character U+001B"),
        ]
        for (fields, message) in cases {
            c.send("{\"v\":1,\"id\":2,\"type\":\"test\"," + fields.dropFirst() + "\n")
            let reply = try #require(json(c.readLine()))
            #expect(reply["error"]?["message"]?.string?.contains(message) == true, "\(reply)")
        }
        c.send("{\"v\":1,\"id\":3,\"type\":\"history\",\"limit\":100000}\n")
        #expect(c.readLine()?.contains("page on with 'offset'") == true)
    }
}

private func json(_ line: String?) -> JSONValue? {
    line.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
}
