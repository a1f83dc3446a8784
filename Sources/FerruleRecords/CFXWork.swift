import Crypto
import FerruleCore
import Foundation

/// One IPC-CFX message, encoded: its name, its envelope's UniqueID and the JSON.
public struct CFXMessage: Sendable {
    public var name: String
    public var uniqueID: String
    public var json: Data
}

/// The CFX messages of one finished unit: `CFX.Production.TestAndInspection.UnitsTested` (every
/// measurement with value, units and limits), `CFX.Production.ToolsUsed` (the test cords mated
/// to it, Production/ToolsUsed.cs with Structures/ToolUsed.cs and Tool.cs: one usage cycle each,
/// a cord's id as the tool's UniqueIdentifier, so the line can count matings per cord) when the
/// fixture names its test cords, and `CFX.Production.WorkCompleted`, after the unit's
/// `CFX.Production.WorkStarted`, which went out at its start (a line message, see CFXLine.swift).
/// All carry the report id as TransactionID; UnitsTested's UniqueID is the report id (as in the
/// `.cfx.json` file), WorkCompleted's is given by `uniqueID` (stable for a report, so a message
/// sent again is recognisably the same).
public enum CFXUnitMessages {
    public static let workStarted = "CFX.Production.WorkStarted"
    public static let unitsTested = "CFX.Production.TestAndInspection.UnitsTested"
    public static let workCompleted = "CFX.Production.WorkCompleted"
    public static let toolsUsed = "CFX.Production.ToolsUsed"

    public static func messages(_ r: UnitReport, source: String, uniqueID: (String) -> String) throws -> [CFXMessage] {
        let encoder = CFXKey.encoder(pretty: false)
        let transaction = r.reportId.uuidString.lowercased()
        let units = [CFXWorkUnit(unitIdentifier: r.unit.serial, positionNumber: r.fixture, positionName: "fixture \(r.fixture)")]
        let tested = CFXUnitsTested.envelope(r, source: source)
        let completed = CFXEnvelope(
            messageName: workCompleted, timeStamp: iso(r.finishedAt), uniqueID: uniqueID(workCompleted),
            source: source,
            messageBody: CFXWorkCompletedBody(
                transactionID: transaction, primaryIdentifier: r.unit.serial, units: units, result: workResult(r.verdict)))
        var messages = [CFXMessage(name: unitsTested, uniqueID: tested.uniqueID, json: try encoder.encode(tested))]
        let cords = r.cords.filter { $0.role != .reference }
        if !cords.isEmpty {
            let used = CFXEnvelope(
                messageName: toolsUsed, timeStamp: iso(r.finishedAt), uniqueID: uniqueID(toolsUsed), source: source,
                messageBody: CFXToolsUsedBody(transactionId: transaction, usedTools: cords.map { c in
                    CFXToolUsed(
                        unitIdentifier: r.unit.serial, unitPositionNumber: r.fixture,
                        tool: .init(uniqueIdentifier: c.id, name: "\(c.role.rawValue) test cord (\(c.matings) of \(c.maxMatings) matings)"))
                }))
            messages.append(CFXMessage(name: toolsUsed, uniqueID: used.uniqueID, json: try encoder.encode(used)))
        }
        messages.append(CFXMessage(name: workCompleted, uniqueID: completed.uniqueID, json: try encoder.encode(completed)))
        return messages
    }

    /// A name-based UUID (RFC 9562 version 8) from the report id and the message name: the same
    /// at every attempt, and the same whether WorkStarted went out at the unit's start or with its report.
    public static func stableID(report: UUID, message: String) -> UUID {
        stableID(name: "\(report.uuidString.lowercased())/\(message)")
    }

    /// A name-based UUID (RFC 9562 version 8, SHA-256) of any name: the same for the same name.
    public static func stableID(name: String) -> UUID {
        var bytes = Array(SHA256.hash(data: Data(name.utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return bytes.withUnsafeBytes { UUID(uuid: $0.load(as: uuid_t.self)) }
    }

    /// The line message that says a unit started, with its stable id.
    public static func workStartedMessage(_ start: UnitStart) -> LineMessage {
        workStartedMessage(reportId: start.reportId, serial: start.serial, fixture: start.fixture, at: start.startedAt)
    }

    static func workStartedMessage(reportId: UUID, serial: String, fixture: Int, at: Date) -> LineMessage {
        LineMessage(
            id: stableID(report: reportId, message: workStarted), at: at,
            .workStarted(reportId: reportId, serial: serial, fixture: fixture))
    }

    /// CFX's WorkResult: the work (the test) was completed whatever its verdict; an instrument
    /// error or an interruption did not complete it.
    static func workResult(_ v: Verdict) -> String {
        switch v {
        case .pass, .fail: return "Completed"
        case .aborted: return "Aborted"
        case .error, .interrupted: return "Failed"
        }
    }
}

struct CFXWorkUnit: Encodable {
    var unitIdentifier: String
    var positionNumber: Int
    var positionName: String
}

struct CFXWorkStartedBody: Encodable {
    var type = "CFX.Production.WorkStarted, CFX"
    var transactionID: String
    var primaryIdentifier: String
    var unitCount = 1
    var units: [CFXWorkUnit]
}

struct CFXToolsUsedBody: Encodable {
    var type = "CFX.Production.ToolsUsed, CFX"
    var transactionId: String  // so spelt in ToolsUsed.cs
    var usedTools: [CFXToolUsed]
}

struct CFXToolUsed: Encodable {
    struct Tool: Encodable {
        var type = "CFX.Structures.Tool, CFX"
        var uniqueIdentifier: String
        var name: String
    }
    var unitIdentifier: String
    var unitPositionNumber: Int
    var tool: Tool
    var usageCycles = 1
    var installedComponents: [String] = []
}

struct CFXWorkCompletedBody: Encodable {
    var type = "CFX.Production.WorkCompleted, CFX"
    var transactionID: String
    var primaryIdentifier: String
    var unitCount = 1
    var units: [CFXWorkUnit]
    var result: String
}
