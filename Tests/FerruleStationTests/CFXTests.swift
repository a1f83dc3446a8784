import FerruleAMQP
import FerruleCore
import FerruleRecords
import FerruleConfig
import FerruleStation
import Foundation
import FerruleTesting
import Testing

/// The cfx-amqp sink against a real RabbitMQ with AMQP 1.0, read by Proton's Python consumer.
/// Serialized: one test stops the broker for a while.
@Suite(.serialized, .shutsDownStations) struct CFXTests {
    static let part = "FT-MTP12-SMAPC-B-LL"

    @Test func everyMessageOfAUnitArrivesAndParses() async throws {
        let queue = Broker.freshQueue()
        let consumer = try await CFXConsumer.start(address: queue)
        defer { consumer.stop() }
        let sink = Broker.sink(address: queue, passwordFile: try Broker.passwordFile())
        let (station, bench) = try await makeStation(sinks: [sink])
        let events = await station.events.subscribe()
        async let running = testUnit(station, bench, serial: "CFX-001", part: Self.part)
        // The broker took the unit's WorkStarted before any light: by its first step, its
        // delivery is on record.
        var deliveredBeforeLight: Bool?
        var reportId: UUID?
        for await e in events {
            if case .unitStarted(_, "CFX-001", _, let id) = e { reportId = id }
            guard case .step(_, "CFX-001", _, _, _, _, _, _, _) = e, let reportId else { continue }
            let id = CFXUnitMessages.stableID(report: reportId, message: CFXUnitMessages.workStarted)
            deliveredBeforeLight = try await station.store.hasDelivered(lineMessage: id, to: "line-cfx")
            break
        }
        #expect(deliveredBeforeLight == true, "WorkStarted was not at the broker before the first step")
        let report = try await running.report
        let got = try await consumer.waitFor(4, about: [report.reportId.uuidString.lowercased()])
        #expect(got.map(\.subject) == [
            CFXUnitMessages.workStarted, CFXUnitMessages.unitsTested, CFXUnitMessages.toolsUsed, CFXUnitMessages.workCompleted,
        ])
        let transaction = report.reportId.uuidString.lowercased()
        for (subject, id, envelope) in got {
            #expect(envelope["MessageName"] as? String == subject)
            #expect(envelope["UniqueID"] as? String == id, "the AMQP message id is the envelope's UniqueID")
            #expect(envelope["Source"] as? String == "ferrule.test.station07")
            #expect(envelope["Version"] as? String != nil && envelope["TimeStamp"] as? String != nil)
            let body = try #require(envelope["MessageBody"] as? [String: Any])
            #expect(CFXConsumer.transaction(of: envelope) == transaction)
        }
        #expect(Set(got.map(\.id)).count == 4 && got[1].id == transaction)
        let tested = try #require((got[1].envelope["MessageBody"] as? [String: Any])?["TestedUnits"] as? [[String: Any]])
        #expect(tested.first?["UnitIdentifier"] as? String == "CFX-001")
        #expect(tested.first?["OverallResult"] as? String == (report.verdict == .pass ? "Passed" : "Failed"))
        let measurements = (tested.first?["Tests"] as? [[String: Any]] ?? []).flatMap { $0["Measurements"] as? [[String: Any]] ?? [] }
        let il = measurements.filter { $0["MeasurementName"] as? String == "IL" }
        #expect(il.count == report.measurements.count, "every IL reading, with its value, units and limit")
        let first = try #require(il.first?["MeasuredValue"] as? [String: Any])
        #expect(first["ValueUnits"] as? String == "dB" && first["Value"] is Double && first["MaximumAcceptableValue"] is Double)
        // The test cords mated to the unit, one usage each, by the cords' ids.
        let tools = try #require((got[2].envelope["MessageBody"] as? [String: Any])?["UsedTools"] as? [[String: Any]])
        #expect(tools.compactMap { ($0["Tool"] as? [String: Any])?["UniqueIdentifier"] as? String } == ["TC-L-1", "TC-R-1"])
        #expect(tools.allSatisfy { $0["UsageCycles"] as? Int == 1 && $0["UnitIdentifier"] as? String == "CFX-001" })
        let completed = try #require(got[3].envelope["MessageBody"] as? [String: Any])
        #expect(completed["Result"] as? String == "Completed" && completed["PrimaryIdentifier"] as? String == "CFX-001")
        try await waitUntil("the outbox is empty") { station.delivery.statuses().first?.pending == 0 }
        // Each reference taken before the unit was told as it was taken (CalibrationPerformed).
        let calibrations = try consumer.messages().filter { $0.subject == "CFX.ResourcePerformance.CalibrationPerformed" }
        let taken = station.config.fixtures.map { f in station.config.referenceCords.filter { !f.cabled($0.map).isEmpty }.count }
        #expect(calibrations.count == taken.reduce(0, +), "one per fixture and reference cord that fits it: \(calibrations.count)")
        let calibration = try #require((calibrations.first?.envelope["MessageBody"] as? [String: Any])?["Calibration"] as? [String: Any])
        #expect((calibration["CalibrationCode"] as? String)?.hasPrefix("fixture-1/") == true && calibration["Status"] as? String == "Ok")
        #expect((calibration["Comments"] as? String)?.contains("nm") == true, "\(calibration)")
        await station.shutdown()
    }

    @Test func theBrokerStoppedAndRestartedMidRunLosesNothing() async throws {
        let queue = Broker.freshQueue()
        let consumer = try await CFXConsumer.start(address: queue)
        defer { consumer.stop() }
        let sink = Broker.sink(address: queue, passwordFile: try Broker.passwordFile(), timeout: .seconds(3))
        let (station, bench) = try await makeStation(sinks: [sink])
        var reports: [UUID] = [try await testUnit(station, bench, serial: "CFX-R1", part: Self.part).report.reportId]
        _ = try await consumer.waitFor(4)
        try await Broker.ctl("stop_app")
        do {
            for i in 2...4 { reports.append(try await testUnit(station, bench, serial: "CFX-R\(i)", part: Self.part).report.reportId) }
            try await waitUntil("the sink says it is failing") { station.delivery.statuses().first?.failing != nil }
            #expect(try await station.delivery.queues(sink: "line-cfx").first?.waiting == 3)
        } catch {
            try? await Broker.ctl("start_app")
            throw error
        }
        try await Broker.ctl("start_app")
        let got = try await consumer.waitFor(16, about: Set(reports.map { $0.uuidString.lowercased() }), timeout: .seconds(120))
        let tested = got.filter { $0.subject == CFXUnitMessages.unitsTested }.map(\.id)
        #expect(Set(tested) == Set(reports.map { $0.uuidString.lowercased() }), "every unit's UnitsTested reached the broker")
        // Order holds within each unit: its WorkStarted, its UnitsTested, its ToolsUsed, its WorkCompleted.
        for r in reports {
            let t = r.uuidString.lowercased()
            let mine = got.filter { CFXConsumer.transaction(of: $0.envelope) == t }
            let names = [CFXUnitMessages.workStarted, CFXUnitMessages.unitsTested, CFXUnitMessages.toolsUsed, CFXUnitMessages.workCompleted]
            let firsts = names.map { name in mine.firstIndex { $0.subject == name } ?? -1 }
            #expect(firsts[0] >= 0 && firsts == firsts.sorted(), "\(t): \(mine.map(\.subject))")
        }
        try await waitUntil("the outbox is empty") { station.delivery.statuses().first?.pending == 0 }
        #expect(station.delivery.statuses().first?.failing == nil)
        await station.shutdown()
    }

    @Test func aRefusedCredentialIsReportedToTheOperator() async throws {
        let queue = Broker.freshQueue()
        let passwordFile = try Broker.passwordFile("not-the-password")
        let sink = Broker.sink(address: queue, passwordFile: passwordFile)
        let (station, bench) = try await makeStation(sinks: [sink])
        let events = await station.events.subscribe()
        _ = try await testUnit(station, bench, serial: "CFX-PW", part: Self.part)
        var said: String?
        for await e in events {
            if case .delivery(let name, _, _, let failing?) = e, name == "line-cfx" {
                said = failing
                break
            }
        }
        let text = try #require(said)
        #expect(text.contains("refused user 'ferrule'") && text.contains("passwordFile"), "\(text)")
        #expect(try await station.delivery.queues(sink: "line-cfx").first?.waiting == 1, "the unit waits, it is not parked")
        // The password is fixed in its file: the next attempt delivers, with no restart.
        let consumer = try await CFXConsumer.start(address: queue)
        defer { consumer.stop() }
        try (Broker.password + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
        _ = try await consumer.waitFor(4)
        await station.shutdown()
    }

    @Test func aMessageSentAgainKeepsItsUniqueID() {
        let report = UUID()
        let a = CFXAMQPSink.uniqueID(report: report, message: CFXUnitMessages.workStarted)
        #expect(a == CFXAMQPSink.uniqueID(report: report, message: CFXUnitMessages.workStarted))
        #expect(a != CFXAMQPSink.uniqueID(report: report, message: CFXUnitMessages.workCompleted))
        #expect(a != CFXAMQPSink.uniqueID(report: UUID(), message: CFXUnitMessages.workStarted))
        #expect(UUID(uuidString: a) != nil)
    }
}
