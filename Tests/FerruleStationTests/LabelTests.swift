import FerruleCore
import FerruleRecords
import FerruleSimSpec
import FerruleConfig
import FerruleStation
import Foundation
import FerruleTesting
import Testing

/// Labels through the outbox to a printer: a TCP listener stands in for a network printer's raw
/// port (scripts/label-printer.py) and the ZPL it receives is checked field by field.
@Suite(.serialized, .shutsDownStations) struct LabelTests {
    static let part = "FT-MTP12-SMAPC-B-LL"

    func labels(_ log: String) throws -> [String] {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { line in
            try #require((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["zpl"] as? String)
        }
    }

    /// The text of every `^FD ... ^FS` field of a label.
    func fields(_ zpl: String) -> [String] {
        zpl.matches(of: /\^FD(.*?)\^FS/).map { String($0.output.1) }
    }

    @Test func aPassedUnitsLabelReachesThePrinterAndAFailedOneGetsNone() async throws {
        let log = temporaryDirectory() + "/printer.log"
        let (peer, port) = try startPeer("label-printer.py", ["--log", log])
        defer { kill(peer.processIdentifier, SIGKILL) }
        let sink = LabelSink(name: "labels", printer: .tcp(host: "127.0.0.1", port: port))
        let (station, bench) = try await makeStation(sinks: [sink])
        let good = try await testUnit(station, bench, serial: "LBL-001", part: Self.part).report
        #expect(good.verdict == .pass)
        try await waitUntil("the label printed") { try labels(log).count == 1 }
        let zpl = try labels(log)[0]
        #expect(zpl.hasPrefix("^XA") && zpl.hasSuffix("^XZ\n"))
        let f = fields(zpl)
        let worst = try #require(good.measurements.compactMap(\.ilDb).max())
        #expect(f.contains("LBL-001") && f.contains(Self.part) && f.contains("PASS"), "\(f)")
        #expect(f.contains("Worst IL \(String(format: "%.2f", worst)) dB"), "\(f)")
        #expect(f.contains("LA,\(good.reportId.uuidString.lowercased())"), "the QR code carries the report id: \(f)")

        let bad = try await testUnit(station, bench, serial: "LBL-002", part: Self.part, faults: [.darkFiber(fiber: 3)]).report
        #expect(bad.verdict == .fail)
        try await waitUntil("the outbox is empty") { (try? await station.delivery.queues(sink: "labels").first?.waiting) == 0 }
        #expect(try labels(log).count == 1, "a failed unit gets no label")

        // A reprint is the outbox's re-send: the same label again.
        let outcome = try await station.delivery.resend(sink: "labels", .report("LBL-001"), by: "test")
        #expect(outcome.queued == [good.reportId])
        try await waitUntil("the label printed again") { try labels(log).count == 2 }
        #expect(try labels(log)[1] == zpl)
        await station.shutdown()
    }

    @Test func anOfflinePrinterIsShownAndTheLabelPrintsWhenItIsBack() async throws {
        let log = temporaryDirectory() + "/printer.log"
        // A port nothing listens on yet: the printer is off.
        let (probe, port) = try startPeer("label-printer.py", ["--log", log])
        kill(probe.processIdentifier, SIGKILL)
        probe.waitUntilExit()
        let sink = LabelSink(name: "labels", printer: .tcp(host: "127.0.0.1", port: port), timeout: .seconds(2))
        let (station, bench) = try await makeStation(sinks: [sink])
        _ = try await testUnit(station, bench, serial: "LBL-OFF", part: Self.part)
        try await waitUntil("the sink says the printer is failing") {
            station.delivery.statuses().first { $0.name == "labels" }?.failing?.contains("printer tcp://127.0.0.1:\(port)") == true
        }
        #expect(try labels(log).isEmpty)
        let (peer, _) = try startPeer("label-printer.py", ["--log", log, "--port", String(port)])
        defer { kill(peer.processIdentifier, SIGKILL) }
        try await waitUntil("the label printed", timeout: .seconds(60)) { try labels(log).count == 1 }
        #expect(fields(try labels(log)[0]).contains("LBL-OFF"))
        await station.shutdown()
    }

    @Test func aSerialOrUSBPrinterIsWrittenThroughItsDevice() async throws {
        var master: Int32 = -1
        var slave: Int32 = -1
        var name = [CChar](repeating: 0, count: 256)
        try #require(openpty(&master, &slave, &name, nil, nil) == 0)
        defer {
            close(master)
            close(slave)
        }
        var raw = termios()
        tcgetattr(slave, &raw)
        cfmakeraw(&raw)
        tcsetattr(slave, TCSANOW, &raw)
        let device = String(cString: name)
        let sink = LabelSink(name: "labels", printer: try #require(LabelPrinter.parse(device)))
        let (station, bench) = try await makeStation(sinks: [sink])
        let report = try await testUnit(station, bench, serial: "LBL-USB", part: Self.part).report
        var received = ""
        try await waitUntil("the label came through the device") {
            var buffer = [UInt8](repeating: 0, count: 4096)
            var ready = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            if poll(&ready, 1, 0) > 0 {
                let n = read(master, &buffer, buffer.count)
                if n > 0 { received += String(decoding: buffer[0..<n], as: UTF8.self) }
            }
            return received.contains("^XZ")
        }
        #expect(received.contains("LBL-USB") && received.contains(report.reportId.uuidString.lowercased()))
        await station.shutdown()
    }

    @Test func aValueCannotEndTheLabelOrStartAnother() async throws {
        let (station, bench) = try await makeStation()
        var report = try await testUnit(station, bench, serial: "LBL-ESC", part: Self.part).report
        await station.shutdown()
        report.unit.serial = "A^XZ~B_Ü"
        let zpl = LabelTemplate.standard.render(report)
        #expect(zpl.contains("A_5EXZ_7EB_5F_C3_9C"), "\(zpl)")
        #expect(zpl.components(separatedBy: "^XZ").count == 2, "one label, ended once")
    }

    @Test func templatesAreCheckedWhenTheConfigLoads() throws {
        #expect(throws: LabelTemplateError.self) { try LabelTemplate(text: "^XA^FH^FD{{serail}}^FS^XZ", source: "t.zpl") }
        do {
            _ = try LabelTemplate(text: "^XA^FH^FD{{serail}}^FS^XZ", source: "t.zpl")
        } catch {
            #expect(error.description.contains("'{{serail}}' is not a label field") && error.description.contains("serial"))
        }
        #expect(LabelPrinter.parse("tcp://10.3.0.50") == .tcp(host: "10.3.0.50", port: 9100))
        #expect(LabelPrinter.parse("/dev/usb/lp0") == .device(path: "/dev/usb/lp0"))
        #expect(LabelPrinter.parse("http://printer") == nil)
    }
}
