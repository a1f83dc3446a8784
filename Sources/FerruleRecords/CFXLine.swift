import FerruleCore
import Foundation

/// The IPC-CFX message of each line moment, after the CFX SDK's own message classes
/// (github.com/IPCConnectedFactoryExchange/CFX, read at 880255d; files under `CFX/`):
/// - a unit started: `CFX.Production.WorkStarted` (Production/WorkStarted.cs);
/// - a reference taken: `CFX.ResourcePerformance.CalibrationPerformed` (ResourcePerformance/
///   CalibrationPerformed.cs, with Structures/Calibration.cs; type `General`, status `Ok`);
/// - a fault that stops the station: `CFX.ResourcePerformance.FaultOccurred` (ResourcePerformance/
///   FaultOccurred.cs, Structures/Fault.cs, severity `Error`, the cause from Structures/
///   FaultCause.cs as `fault(_:_:)` maps it) and `CFX.ResourcePerformance.FaultCleared` with the
///   same FaultOccurrenceId;
/// - an operator signed in or out: `CFX.Production.OperatorActivated` / `OperatorDeactivated`
///   (Production/OperatorActivated.cs, Structures/Operator.cs);
/// - a trend alarm: `CFX.ResourcePerformance.LogEntryRecorded` (ResourcePerformance/
///   LogEntryRecorded.cs, importance `Warning` from Structures/LogImportance.cs): not a fault,
///   the station keeps testing and the units pass, but someone should look.
/// The envelope's UniqueID is the message's id, the same at every attempt. docs/integration.md
/// has the table.
public enum CFXLineMessages {
    public static func message(_ m: LineMessage, source: String) throws -> CFXMessage {
        let encoder = CFXKey.encoder(pretty: false)
        let id = m.id.uuidString.lowercased()
        func encoded<Body: Encodable>(_ name: String, _ body: Body) throws -> CFXMessage {
            let envelope = CFXEnvelope(messageName: name, timeStamp: iso(m.at), uniqueID: id, source: source, messageBody: body)
            return CFXMessage(name: name, uniqueID: id, json: try encoder.encode(envelope))
        }
        switch m.moment {
        case .workStarted(let reportId, let serial, let fixture):
            let units = [CFXWorkUnit(unitIdentifier: serial, positionNumber: fixture, positionName: "fixture \(fixture)")]
            return try encoded(
                CFXUnitMessages.workStarted,
                CFXWorkStartedBody(transactionID: reportId.uuidString.lowercased(), primaryIdentifier: serial, units: units))
        case .calibrationPerformed(let c):
            let comments = "\(c.method) reference of fixture \(c.fixture) with cord \(c.cord): \(c.paths) paths at "
                + c.wavelengthsNm.map(String.init).joined(separator: ", ") + " nm"
            return try encoded(
                "CFX.ResourcePerformance.CalibrationPerformed",
                CalibrationBody(calibration: .init(
                    calibrationCode: "fixture-\(c.fixture)/\(c.cord)", comments: comments, calibrationTime: iso(m.at))))
        case .faultOccurred(let fault, let subject, let detail, let cause):
            let (cfxCause, code) = Self.fault(cause ?? .instrument, subject)
            return try encoded(
                "CFX.ResourcePerformance.FaultOccurred",
                FaultOccurredBody(fault: .init(
                    cause: cfxCause, faultCode: code, faultOccurrenceId: fault.uuidString.lowercased(),
                    description: "\(subject): \(detail)", occurredAt: iso(m.at))))
        case .faultCleared(let fault, _):
            return try encoded(
                "CFX.ResourcePerformance.FaultCleared", FaultClearedBody(faultOccurrenceId: fault.uuidString.lowercased()))
        case .operatorActivated(let who, _):
            return try encoded("CFX.Production.OperatorActivated", OperatorBody(operator: .init(operatorIdentifier: who, loginName: who)))
        case .operatorDeactivated(let who, _):
            return try encoded("CFX.Production.OperatorDeactivated", OperatorBody(operator: .init(operatorIdentifier: who, loginName: who)))
        case .stationStateChanged(let old, let new, let seconds):
            // The first change after a start comes from NST_ShutdownAndStartup (6500).
            return try encoded(
                "CFX.ResourcePerformance.StationStateChanged",
                StationStateBody(oldState: old?.rawValue ?? 6500, oldStateDuration: timespan(seconds ?? 0), newState: new.rawValue))
        case .qualityAlarm(let part, let position, let wl, let detail):
            return try encoded(
                "CFX.ResourcePerformance.LogEntryRecorded",
                LogEntryBody(informationId: "trend-alarm/\(part)/\(position)/\(wl)", message: detail))
        case .fixtureAlarm(let fixture, let detail):
            return try encoded(
                "CFX.ResourcePerformance.LogEntryRecorded", LogEntryBody(informationId: "fixture-yield-alarm/\(fixture)", message: detail))
        }
    }
}

extension CFXLineMessages {
    /// CFX's FaultCause (Structures/FaultCause.cs) and a FaultCode a dashboard can group by:
    /// an instrument's by its name; the others by kind and subject.
    static func fault(_ cause: LineMessage.FaultCause, _ subject: String) -> (cause: String, code: String) {
        switch cause {
        case .instrument: ("ElectricalFailure", subject)  // "an electrical device failure"
        case .sourceMayBeOn: ("AutoSafetyStop", "source-may-be-on/\(subject)")  // "triggered by automation"
        case .cordWorn: ("MaterialExpired", "cord-worn/\(subject)")  // a consumable at the end of its rated life
        case .storeRefuses: ("SoftwareFailure", "store-refuses-writes")
        }
    }
}

/// A .NET TimeSpan as CFX writes it: `hh:mm:ss`, hours past 24 written as days (`d.hh:mm:ss`).
func timespan(_ seconds: Double) -> String {
    let s = max(0, Int(seconds.rounded()))
    let (d, h, m, r) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60)
    let time = String(format: "%02d:%02d:%02d", h, m, r)
    return d > 0 ? "\(d).\(time)" : time
}

struct StationStateBody: Encodable {
    var oldState: Int
    var oldStateDuration: String
    var newState: Int
    var relatedFault: String?

    enum CodingKeys: String, CodingKey { case oldState, oldStateDuration, newState, relatedFault }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(oldState, forKey: .oldState)
        try c.encode(oldStateDuration, forKey: .oldStateDuration)
        try c.encode(newState, forKey: .newState)
        try c.encode(relatedFault, forKey: .relatedFault)  // null: the fault, if any, has its own message
    }
}

struct CalibrationBody: Encodable {
    struct Calibration: Encodable {
        var calibrationCode: String
        var calibrationType = "General"
        var comments: String
        var status = "Ok"
        var calibrationTime: String
        var measurements: [String] = []
    }
    var transactionID: String?
    var calibration: Calibration

    enum CodingKeys: String, CodingKey { case transactionID, calibration }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(transactionID, forKey: .transactionID)  // null: not tied to a unit's transaction
        try c.encode(calibration, forKey: .calibration)
    }
}

struct FaultOccurredBody: Encodable {
    struct Fault: Encodable {
        var cause: String
        var severity = "Error"
        var faultCode: String
        var faultOccurrenceId: String
        var sideLocation = "Unknown"
        var accessType = "Unknown"
        var description: String
        var occurredAt: String
    }
    var fault: Fault
}

struct FaultClearedBody: Encodable {
    var faultOccurrenceId: String
}

struct OperatorBody: Encodable {
    struct Operator: Encodable {
        var operatorIdentifier: String
        var actorType = "Human"
        var loginName: String
    }
    var `operator`: Operator
}

struct LogEntryBody: Encodable {
    var informationId: String
    var message: String
    var importance = "Warning"
}
