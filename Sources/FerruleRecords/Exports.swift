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

    static func render(_ r: UnitReport) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.keyEncodingStrategy = .custom { path in
            let key = path.last?.stringValue ?? ""
            return CFXKey(key == "type" ? "$type" : key.prefix(1).uppercased() + key.dropFirst())
        }
        return try e.encode(envelope(r))
    }

    static func envelope(_ r: UnitReport) -> CFXEnvelope {
        var seq = 0
        func next() -> Int {
            seq += 1
            return seq
        }
        let at = iso(r.finishedAt)
        let tests = r.measurements.sorted { ($0.fiber, $0.wavelengthNm) < ($1.fiber, $1.wavelengthNm) }.map { m in
            let il = CFXMeasurement(
                name: "IL", value: m.ilDb, max: m.ilMaxDb, ok: m.ilMarginDb.map { $0 >= 0 } ?? false, at: at, seq: next())
            var ms = [il]
            if m.rlDb != nil || m.rlMinDb != nil {
                ms.append(
                    CFXMeasurement(
                        name: "RL", value: m.rlDb, min: m.rlMinDb, ok: m.rlMarginDb.map { $0 >= 0 } ?? (m.rlMinDb == nil),
                        at: at, seq: next()))
            }
            if m.rlBDb != nil || m.rlBMinDb != nil {
                ms.append(
                    CFXMeasurement(
                        name: "RL end B", value: m.rlBDb, min: m.rlBMinDb,
                        ok: m.rlBMarginDb.map { $0 >= 0 } ?? (m.rlBMinDb == nil), at: at, seq: next()))
            }
            return CFXTest(
                testName: "Fiber \(m.fiber) \(m.wavelengthNm) nm end \(m.end.rawValue)", testStartTime: iso(r.startedAt),
                testEndTime: at, result: m.verdict == .pass ? "Passed" : "Failed", measurements: ms)
        }
        let polarity = CFXTest(
            testName: "Polarity type \(r.polarity.expectedType)", testStartTime: iso(r.startedAt), testEndTime: at,
            result: r.polarity.verdict == .pass ? "Passed" : "Failed", measurements: [])
        let unit = CFXTestedUnit(
            unitIdentifier: r.unit.serial, unitPositionNumber: r.fixture, overallResult: result(r.verdict), tests: tests + [polarity],
            symptoms: r.reasons,
            defects: r.diagnoses.map {
                CFXDefect(
                    defectCode: $0.code.rawValue, description: $0.message,
                    componentOfInterest: $0.fibers.map(String.init).joined(separator: ","))
            })
        let body = CFXUnitsTestedBody(
            transactionId: r.reportId.uuidString.lowercased(), tester: .init(operatorIdentifier: r.operator), testedUnits: [unit],
            recipeName: r.unit.partNumber)
        return CFXEnvelope(
            timeStamp: at, uniqueID: r.reportId.uuidString.lowercased(), source: "ferrule.station.\(r.station.id)",
            messageBody: body)
    }
}

// The CFX message as Codable values. CFX's names are PascalCase: `render`'s key strategy
// writes `messageName` as "MessageName". Absent values are written as null, as CFX's samples do.

struct CFXKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

struct CFXEnvelope: Encodable {
    var messageName = "CFX.Production.TestAndInspection.UnitsTested"
    var version = "1.7"
    var timeStamp: String
    var uniqueID: String
    var source: String
    var target: String?
    var requestID: String?
    var messageBody: CFXUnitsTestedBody

    enum CodingKeys: String, CodingKey { case messageName, version, timeStamp, uniqueID, source, target, requestID, messageBody }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(messageName, forKey: .messageName)
        try c.encode(version, forKey: .version)
        try c.encode(timeStamp, forKey: .timeStamp)
        try c.encode(uniqueID, forKey: .uniqueID)
        try c.encode(source, forKey: .source)
        try c.encode(target, forKey: .target)  // null: a broadcast
        try c.encode(requestID, forKey: .requestID)
        try c.encode(messageBody, forKey: .messageBody)
    }
}

struct CFXUnitsTestedBody: Encodable {
    var type = "CFX.Production.TestAndInspection.UnitsTested, CFX"
    var transactionId: String
    var testMethod = "Functional"
    var tester: CFXOperator
    var testedUnits: [CFXTestedUnit]
    var recipeName: String

    enum CodingKeys: String, CodingKey {
        case type
        case transactionId, testMethod, tester, testedUnits, recipeName
    }
}

struct CFXOperator: Encodable {
    var operatorIdentifier: String
    var actorType = "Human"
}

struct CFXTestedUnit: Encodable {
    var unitIdentifier: String
    var unitPositionNumber: Int
    var overallResult: String
    var tests: [CFXTest]
    var symptoms: [String]
    var defects: [CFXDefect]
}

struct CFXTest: Encodable {
    var testName: String
    var testStartTime: String
    var testEndTime: String
    var result: String
    var measurements: [CFXMeasurement]
}

struct CFXDefect: Encodable {
    var defectCode: String
    var description: String
    var componentOfInterest: String
}

/// One measured value with its acceptable range; a missing value or an open side of the range is null.
struct CFXMeasurement: Encodable {
    var measurementName: String
    var timeRecorded: String
    var sequence: Int
    var result: String
    var measuredValue: Value

    struct Value: Encodable {
        var value: Double?
        var valueUnits = "dB"
        var minimumAcceptableValue: Double?
        var maximumAcceptableValue: Double?

        enum CodingKeys: String, CodingKey { case value, valueUnits, minimumAcceptableValue, maximumAcceptableValue }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(value, forKey: .value)
            try c.encode(valueUnits, forKey: .valueUnits)
            try c.encode(minimumAcceptableValue, forKey: .minimumAcceptableValue)
            try c.encode(maximumAcceptableValue, forKey: .maximumAcceptableValue)
        }
    }

    init(name: String, value: Double?, min: Double? = nil, max: Double? = nil, ok: Bool, at: String, seq: Int) {
        measurementName = name
        timeRecorded = at
        sequence = seq
        result = ok ? "Passed" : "Failed"
        measuredValue = Value(
            value: value, minimumAcceptableValue: min.flatMap { $0.isFinite ? $0 : nil },
            maximumAcceptableValue: max.flatMap { $0.isFinite ? $0 : nil })
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
