import FerruleControl
import FerruleProtocol
import FerruleSetup
import FerruleSimSpec
import FerruleConfig
import Foundation
import FerruleTesting
import Testing

/// Bad clients against the real daemon: it answers with an error or closes that client, and
/// keeps testing. Figures are printed; growth bounds are generous (allocator noise), not timings.
@Suite(.serialized, .shutsDownStations) struct SocketFuzzTests {
    func decode(_ line: String?) -> ControlMessage? {
        line.flatMap { try? JSONDecoder().decode(ControlMessage.self, from: Data($0.utf8)) }
    }

    @Test func malformedLinesGetErrorsAndTheConnectionStays() async throws {
        let d = try await Daemon()
        defer { Task { await d.stop() } }
        let c = try RawSocket(path: d.socket)
        let cases: [([UInt8], ControlErrorCode)] = [
            (Array("{not json\n".utf8), .badJSON),
            (Array("[1,2,3]\n".utf8), .badJSON),
            (Array("\"just a string\"\n".utf8), .badJSON),
            ([0x00, 0xFF, 0xFE, 0x80, 0x7B, 0x0A], .badJSON),
            (Array("{\"v\":1,\"id\":9,\"type\":\"launch-missiles\"}\n".utf8), .unknownType),
            (Array("{\"v\":7,\"id\":9,\"type\":\"status\"}\n".utf8), .unsupportedVersion),
            (Array("{\"v\":1,\"id\":9}\n".utf8), .badRequest),
            (Array("{\"v\":1,\"id\":9,\"type\":\"test\",\"serial\":\"S\"}\n".utf8), .badRequest),
            (Array("{\"v\":1,\"id\":9,\"type\":\"abort\",\"fixture\":\"one\"}\n".utf8), .badJSON),
            (Array("{\"v\":1,\"id\":9,\"type\":\"abort\",\"fixture\":1}\n".utf8), .refused),
            (Array("{\"v\":1,\"id\":9,\"type\":\"answer\",\"prompt\":\"p99\",\"answer\":\"ok\"}\n".utf8), .notFound),
        ]
        for (bytes, code) in cases {
            c.send(bytes)
            let m = try #require(decode(c.readLine()), "no reply to \(bytes.prefix(40))")
            #expect(m.type == .error && m.error?.code == code, "\(String(decoding: bytes, as: UTF8.self)): \(m.error?.description ?? "-")")
            #expect(!(m.error?.message.isEmpty ?? true))
        }
        // Still usable afterwards, and the id is echoed.
        c.send("{\"v\":1,\"id\":\"after\",\"type\":\"status\"}\n")
        let m = try #require(decode(c.readLine()))
        #expect(m.type == .result && m.id == .string("after"))
    }

    @Test func slowWriterIsServedAndSocketIsGroupOnly() async throws {
        let d = try await Daemon()
        defer { Task { await d.stop() } }
        var st = stat()
        #expect(stat(d.socket, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o660)
        let c = try RawSocket(path: d.socket)
        for b in Array("{\"v\":1,\"id\":\"slow\",\"type\":\"status\"}\n".utf8) {
            c.send([b])
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(decode(c.readLine())?.id == .string("slow"))
    }

    @Test func overlongLineClosesOnlyThatClient() async throws {
        let d = try await Daemon()
        defer { Task { await d.stop() } }
        let bystander = try RawSocket(path: d.socket)
        let c = try RawSocket(path: d.socket)
        c.send([UInt8](repeating: UInt8(ascii: "a"), count: (1 << 20) + 10))
        let lines = c.drain()
        #expect(c.sawEOF)
        #expect(decode(lines.last)?.error?.code == .lineTooLong)
        bystander.send("{\"v\":1,\"id\":1,\"type\":\"status\"}\n")
        #expect(decode(bystander.readLine())?.type == .result)
    }

    @Test func halfOpenClientGetsItsReplyThenEOF() async throws {
        let d = try await Daemon()
        defer { Task { await d.stop() } }
        let c = try RawSocket(path: d.socket)
        c.send("{\"v\":1,\"id\":1,\"type\":\"recipes\"}")  // no newline, then EOF: still one line
        c.shutdownWrite()
        let lines = c.drain()
        #expect(c.sawEOF)
        #expect(decode(lines.first)?.type == .result)
    }

    @Test func slowSubscriberIsDroppedAndUnitsGoOn() async throws {
        let d = try await Daemon(config: try inProcessConfigText())  // 80 units: the socket is under test, not the wire
        defer { Task { await d.stop() } }
        let slow = try RawSocket(path: d.socket, receiveBufferBytes: 4096)
        slow.send("{\"v\":1,\"id\":1,\"type\":\"subscribe\"}\n")
        var total = 0
        try await ControlSession.with(path: d.socket) { s in
            _ = try await s.ok("reference") { $0.fixture = 1 }
            _ = try await s.ok("subscribe")
            for i in 0..<80 {
                _ = try await s.ok("test") { $0.serial = "SLOW-\(i)"; $0.partNumber = "FT-MTP24-OM4-A"; $0.fixture = 1 }
                let ev = try await s.events { $0["kind"]?.string == "unitFinished" }
                total += ev.count
                #expect(ev.last?["verdict"]?.string == "pass")
            }
        }
        let got = slow.drain()
        print("slow subscriber: received \(got.count) lines of about \(total) events before being dropped")
        #expect(slow.sawEOF)
        #expect(got.count < total)
    }

    @Test func twoHundredSubscribersAllSeeTheUnit() async throws {
        let d = try await Daemon()
        defer { Task { await d.stop() } }
        let ready = Counter()
        let results = try await withThrowingTaskGroup(of: Int.self) { g in
            for _ in 0..<200 {
                g.addTask {
                    try await ControlSession.with(path: d.socket) { s in
                        _ = try await s.ok("subscribe")
                        await ready.add()
                        return try await s.events { $0["kind"]?.string == "unitFinished" }.filter { $0["kind"]?.string == "step" }.count
                    }
                }
            }
            while await ready.value < 200 { try await Task.sleep(for: .milliseconds(10)) }
            try await ControlSession.with(path: d.socket) { s in
                _ = try await s.ok("reference") { $0.fixture = 2 }
                _ = try await s.ok("test") { $0.serial = "SUBS-1"; $0.partNumber = "FT-MTP12-SMAPC-B-LL"; $0.fixture = 2 }
            }
            var all: [Int] = []
            for try await n in g { all.append(n) }
            return all
        }
        #expect(results.count == 200)
        #expect(results.allSatisfy { $0 == 24 })  // 12 fibers x 2 wavelengths, every subscriber
    }

    @Test func memoryAndDescriptorsDoNotGrowAcross10000MalformedMessages() async throws {
        let d = try await Daemon()
        defer { Task { await d.stop() } }
        func burst(_ connections: Int, _ perConnection: Int) throws {
            for i in 0..<connections {
                let c = try RawSocket(path: d.socket)
                for j in 0..<perConnection {
                    switch (i + j) % 4 {
                    case 0: c.send("{garbage \(j)\n")
                    case 1: c.send([0xFF, 0x00, UInt8(j & 0x7F), 0x0A])
                    case 2: c.send("{\"v\":1,\"id\":\(j),\"type\":\"nope\"}\n")
                    default: c.send("{\"v\":1,\"id\":\(j),\"type\":\"test\"}\n")
                    }
                    _ = c.readLine()
                }
            }
        }
        try burst(10, 100)  // warm up
        try await waitUntil("ferruled to close the warm-up connections") { d.controlConnections() == 0 }
        let before = d.resources()
        try burst(100, 100)  // 10,000 malformed messages over 100 connections
        // Closed connections are reaped by the event loop a moment after the client hangs up.
        try await waitUntil("ferruled to close the fuzzers' connections") { d.controlConnections() == 0 }
        let after = d.resources()
        print("ferruled across 10,000 malformed messages: RSS \(before.rssKB) kB -> \(after.rssKB) kB, fds \(before.fds) -> \(after.fds)")
        #expect(after.fds <= before.fds + 2)
        #expect(after.rssKB - before.rssKB < 16 * 1024)
        // And it still tests units.
        try await ControlSession.with(path: d.socket) { s in
            _ = try await s.ok("reference") { $0.fixture = 1 }
            _ = try await s.ok("subscribe")
            _ = try await s.ok("test") { $0.serial = "AFTER-FUZZ"; $0.partNumber = "FT-MTP8-SMAPC-B"; $0.fixture = 1 }
            #expect(try await s.events { $0["kind"]?.string == "unitFinished" }.last?["verdict"]?.string == "pass")
        }
    }

    actor Counter {
        var value = 0
        func add() { value += 1 }
    }
}
