import FerruleCore
import Foundation

/// One IPC-CFX message, encoded: its name, its envelope's UniqueID and the JSON.
public struct CFXMessage: Sendable {
    public var name: String
    public var uniqueID: String
    public var json: Data
}

/// The CFX messages of one finished unit, in the order the line sees them:
/// `CFX.Production.WorkStarted` (stamped with the unit's start), `CFX.Production.TestAndInspection.UnitsTested`
/// (every measurement with value, units and limits) and `CFX.Production.WorkCompleted`. All three
/// carry the report id as TransactionID; UnitsTested's UniqueID is the report id (as in the
/// `.cfx.json` file), the others' are given by `uniqueID` (stable for a report, so a message sent
/// again is recognisably the same).
public enum CFXUnitMessages {
    public static let workStarted = "CFX.Production.WorkStarted"
    public static let unitsTested = "CFX.Production.TestAndInspection.UnitsTested"
    public static let workCompleted = "CFX.Production.WorkCompleted"

    public static func messages(_ r: UnitReport, source: String, uniqueID: (String) -> String) throws -> [CFXMessage] {
        let encoder = CFXKey.encoder(pretty: false)
        let transaction = r.reportId.uuidString.lowercased()
        let units = [CFXWorkUnit(unitIdentifier: r.unit.serial, positionNumber: r.fixture, positionName: "fixture \(r.fixture)")]
        let started = CFXEnvelope(
            messageName: workStarted, timeStamp: iso(r.startedAt), uniqueID: uniqueID(workStarted), source: source,
            messageBody: CFXWorkStartedBody(transactionID: transaction, primaryIdentifier: r.unit.serial, units: units))
        let tested = CFXUnitsTested.envelope(r, source: source)
        let completed = CFXEnvelope(
            messageName: workCompleted, timeStamp: iso(r.finishedAt), uniqueID: uniqueID(workCompleted),
            source: source,
            messageBody: CFXWorkCompletedBody(
                transactionID: transaction, primaryIdentifier: r.unit.serial, units: units, result: workResult(r.verdict)))
        return [
            CFXMessage(name: workStarted, uniqueID: started.uniqueID, json: try encoder.encode(started)),
            CFXMessage(name: unitsTested, uniqueID: tested.uniqueID, json: try encoder.encode(tested)),
            CFXMessage(name: workCompleted, uniqueID: completed.uniqueID, json: try encoder.encode(completed)),
        ]
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

struct CFXWorkCompletedBody: Encodable {
    var type = "CFX.Production.WorkCompleted, CFX"
    var transactionID: String
    var primaryIdentifier: String
    var unitCount = 1
    var units: [CFXWorkUnit]
    var result: String
}
