import FerruleCore
import Foundation

/// IPC-CFX `CFX.Production.TestAndInspection.UnitsTested`: the CFX envelope (MessageName,
/// Version, TimeStamp, UniqueID, Source) around one tested unit with one test per fiber and
/// wavelength, its IL and RL as measurements with their acceptable range. The envelope's
/// UniqueID is the report id, so a message sent twice is recognisably the same.
///
/// Verdict mapping (CFX has no "instrument error"): pass Passed, fail Failed, aborted Aborted,
/// error and interrupted Inconclusive.
enum CFXUnitsTested {
    static func result(_ v: Verdict) -> String {
        switch v {
        case .pass: return "Passed"
        case .fail: return "Failed"
        case .aborted: return "Aborted"
        case .error, .interrupted: return "Inconclusive"
        }
    }

    static func value(_ name: String, _ v: Double?, unit: String, min: Double?, max: Double?, ok: Bool, at: Date, seq: Int) -> [String: Any]
    {
        var mv: [String: Any] = ["Value": v.map { $0 as Any } ?? NSNull(), "ValueUnits": unit]
        mv["MinimumAcceptableValue"] = min.flatMap { $0.isFinite ? $0 : nil } ?? NSNull()
        mv["MaximumAcceptableValue"] = max.flatMap { $0.isFinite ? $0 : nil } ?? NSNull()
        return ["MeasurementName": name, "TimeRecorded": iso(at), "Sequence": seq, "Result": ok ? "Passed" : "Failed", "MeasuredValue": mv]
    }

    static func render(_ r: UnitReport) throws -> Data {
        var seq = 0
        let tests: [[String: Any]] = r.measurements.sorted { ($0.fiber, $0.wavelengthNm) < ($1.fiber, $1.wavelengthNm) }.map { m in
            var ms: [[String: Any]] = []
            seq += 1
            ms.append(
                value(
                    "IL", m.ilDb, unit: "dB", min: nil, max: m.ilMaxDb, ok: m.ilMarginDb.map { $0 >= 0 } ?? false, at: r.finishedAt,
                    seq: seq))
            if m.rlDb != nil || m.rlMinDb != nil {
                seq += 1
                ms.append(
                    value(
                        "RL", m.rlDb, unit: "dB", min: m.rlMinDb, max: nil, ok: m.rlMarginDb.map { $0 >= 0 } ?? (m.rlMinDb == nil),
                        at: r.finishedAt, seq: seq))
            }
            if m.rlBDb != nil || m.rlBMinDb != nil {
                seq += 1
                ms.append(
                    value(
                        "RL end B", m.rlBDb, unit: "dB", min: m.rlBMinDb, max: nil,
                        ok: m.rlBMarginDb.map { $0 >= 0 } ?? (m.rlBMinDb == nil),
                        at: r.finishedAt, seq: seq))
            }
            return [
                "TestName": "Fiber \(m.fiber) \(m.wavelengthNm) nm end \(m.end.rawValue)", "TestStartTime": iso(r.startedAt),
                "TestEndTime": iso(r.finishedAt),
                "Result": m.verdict == .pass ? "Passed" : "Failed", "Measurements": ms
            ]
        }
        let polarity: [String: Any] = [
            "TestName": "Polarity type \(r.polarity.expectedType)", "TestStartTime": iso(r.startedAt), "TestEndTime": iso(r.finishedAt),
            "Result": r.polarity.verdict == .pass ? "Passed" : "Failed", "Measurements": [] as [Any]
        ]
        let body: [String: Any] = [
            "$type": "CFX.Production.TestAndInspection.UnitsTested, CFX",
            "TransactionId": r.reportId.uuidString.lowercased(),
            "TestMethod": "Functional",
            "Tester": ["OperatorIdentifier": r.operator, "ActorType": "Human"],
            "TestedUnits": [
                [
                    "UnitIdentifier": r.unit.serial,
                    "UnitPositionNumber": r.fixture,
                    "OverallResult": result(r.verdict),
                    "Tests": tests + [polarity],
                    "Symptoms": r.reasons,
                    "Defects": r.diagnoses.map {
                        [
                            "DefectCode": $0.code.rawValue, "Description": $0.message,
                            "ComponentOfInterest": $0.fibers.map(String.init).joined(separator: ",")
                        ]
                    }
                ]
            ],
            "RecipeName": r.unit.partNumber
        ]
        let envelope: [String: Any] = [
            "MessageName": "CFX.Production.TestAndInspection.UnitsTested",
            "Version": "1.7",
            "TimeStamp": iso(r.finishedAt),
            "UniqueID": r.reportId.uuidString.lowercased(),
            "Source": "ferrule.station.\(r.station.id)",
            "Target": NSNull(),
            "RequestID": NSNull(),
            "MessageBody": body
        ]
        return try JSONSerialization.data(withJSONObject: envelope, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }
}

/// IEEE 1636.1 / 1671 ATML TestResults (the structure NI TestStand emits): a ResultSet with one
/// Test per fiber and wavelength and a TestResult per IL and RL with its limit, the UUT, the
/// station and the operator. Outcome values: Passed, Failed, Aborted, Error (error and
/// interrupted).
enum ATMLTestResults {
    static func outcome(_ v: Verdict) -> String {
        switch v {
        case .pass: return "Passed"
        case .fail: return "Failed"
        case .aborted: return "Aborted"
        case .error, .interrupted: return "Error"
        }
    }

    static func render(_ r: UnitReport) -> String {
        let e = escapeMarkup
        let id = r.reportId.uuidString.lowercased()
        var x = """
            <?xml version="1.0" encoding="UTF-8"?>
            <trc:TestResultsCollection xmlns:trc="urn:IEEE-1636.1:2011:01:TestResultsCollection" \
            xmlns:tr="urn:IEEE-1636.1:2011:01:TestResults" \
            xmlns:c="urn:IEEE-1671:2010:Common" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
              <trc:TestResults uuid="\(id)">
                <tr:ResultSet ID="\(id)" name="\(e(r.unit.partNumber))" startDateTime="\(iso(r.startedAt))" \
                endDateTime="\(iso(r.finishedAt))">
                  <tr:Outcome value="\(outcome(r.verdict))"/>

            """
        for m in r.measurements.sorted(by: { ($0.fiber, $0.wavelengthNm) < ($1.fiber, $1.wavelengthNm) }) {
            let tid = "f\(m.fiber)-\(m.wavelengthNm)-\(m.end.rawValue)"
            x += "      <tr:Test ID=\"\(tid)\" name=\"Fiber \(m.fiber) \(m.wavelengthNm) nm end \(m.end.rawValue)\">\n"
            x += "        <tr:Outcome value=\"\(m.verdict == .pass ? "Passed" : "Failed")\"/>\n"
            x += result(id: tid + "-il", name: "IL", value: m.ilDb, comparator: "LE", limit: m.ilMaxDb, margin: m.ilMarginDb)
            if m.rlDb != nil || m.rlMinDb != nil {
                x += result(id: tid + "-rl", name: "RL", value: m.rlDb, comparator: "GE", limit: m.rlMinDb, margin: m.rlMarginDb)
            }
            if m.rlBDb != nil || m.rlBMinDb != nil {
                x += result(id: tid + "-rlb", name: "RL end B", value: m.rlBDb, comparator: "GE", limit: m.rlBMinDb, margin: m.rlBMarginDb)
            }
            x += "      </tr:Test>\n"
        }
        x += """
                  <tr:Test ID="polarity" name="Polarity type \(e(r.polarity.expectedType))">
                    <tr:Outcome value="\(r.polarity.verdict == .pass ? "Passed" : "Failed")"/>
                  </tr:Test>

            """
        for reason in r.reasons { x += "      <tr:Extension><c:Description>\(e(reason))</c:Description></tr:Extension>\n" }
        x += """
                </tr:ResultSet>
                <tr:UUT UutType="Part">
                  <c:Definition><c:Identification><c:IdentificationNumbers><c:IdentificationNumber type="Part" \
                  number="\(e(r.unit.partNumber))"/></c:IdentificationNumbers></c:Identification></c:Definition>
                  <c:SerialNumber>\(e(r.unit.serial))</c:SerialNumber>
                </tr:UUT>
                <tr:TestStation>
                  <c:SerialNumber>\(e(r.station.id))</c:SerialNumber>
                </tr:TestStation>
                <tr:Personnel><tr:SystemOperator ID="\(e(r.operator))"/></tr:Personnel>
              </trc:TestResults>
            </trc:TestResultsCollection>

            """
        return x
    }

    static func result(id: String, name: String, value: Double?, comparator: String, limit: Double?, margin: Double?) -> String {
        var s = "        <tr:TestResult ID=\"\(id)\" name=\"\(name)\">\n"
        if let value {
            s += "          <tr:TestData><c:Datum xsi:type=\"c:double\" value=\"\(num(value))\" nonStandardUnit=\"dB\"/></tr:TestData>\n"
        }
        if let limit, limit.isFinite {
            s +=
                """
                              <tr:TestLimits><tr:Limits><c:SingleLimit comparator=\"\(comparator)\"><c:Datum xsi:type=\"c:double\" \
                    value=\"\(num(limit))\" nonStandardUnit=\"dB\"/></c:SingleLimit></tr:Limits></tr:TestLimits>\n
                    """
        }
        s += "          <tr:Outcome value=\"\(margin.map { $0 >= 0 ? "Passed" : "Failed" } ?? (value == nil ? "Error" : "Passed"))\"/>\n"
        return s + "        </tr:TestResult>\n"
    }
}
