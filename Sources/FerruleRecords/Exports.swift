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
        try CFXKey.encoder().encode(envelope(r))
    }

    static func envelope(_ r: UnitReport, source: String? = nil) -> CFXEnvelope<CFXUnitsTestedBody> {
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
            unitIdentifier: r.unit.serial, unitPositionNumber: r.fixture, overallResult: result(r.verdict),
            tests: tests + [polarity] + [routeCheck(r, at: at)].compactMap { $0 },
            symptoms: r.reasons + (r.routeCheck?.result == .notChecked ? ["MES route not checked: \(r.routeCheck?.detail ?? "")"] : []),
            defects: r.diagnoses.map {
                CFXDefect(
                    defectCode: $0.code.rawValue, description: $0.message,
                    componentOfInterest: $0.fibers.map(String.init).joined(separator: ","))
            })
        let body = CFXUnitsTestedBody(
            transactionID: r.reportId.uuidString.lowercased(), tester: .init(operatorIdentifier: r.operator), testedUnits: [unit],
            recipeName: r.unit.partNumber)
        return CFXEnvelope(
            messageName: "CFX.Production.TestAndInspection.UnitsTested", timeStamp: at, uniqueID: r.reportId.uuidString.lowercased(),
            source: source ?? "ferrule.station.\(r.station.id)", messageBody: body)
    }
}

extension CFXUnitsTested {
    /// The MES's route check as a CFX Test (Structures/Test.cs, TestResult.cs): Passed when the
    /// MES allowed the unit, Skipped when it could not be asked and the unit ran anyway; nil
    /// when the station has no route check.
    static func routeCheck(_ r: UnitReport, at: String) -> CFXTest? {
        guard let route = r.routeCheck else { return nil }
        return CFXTest(
            testName: route.result == .allowed ? "MES route check" : "MES route not checked", testStartTime: iso(r.startedAt),
            testEndTime: at, result: route.result == .allowed ? "Passed" : "Skipped", measurements: [])
    }
}

// The CFX message as Codable values. CFX's names are PascalCase: `render`'s key strategy
// writes `messageName` as "MessageName". Absent values are written as null, as CFX's samples do.

struct CFXKey: CodingKey {
    /// CFX's JSON: PascalCase names, `$type` for the body's type; pretty for a file a person may
    /// open, compact on the wire.
    static func encoder(pretty: Bool = true) -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        e.keyEncodingStrategy = .custom { path in
            let key = path.last?.stringValue ?? ""
            return CFXKey(key == "type" ? "$type" : key.prefix(1).uppercased() + key.dropFirst())
        }
        return e
    }

    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

struct CFXEnvelope<Body: Encodable>: Encodable {
    var messageName: String
    var version = "1.7"
    var timeStamp: String
    var uniqueID: String
    var source: String
    var target: String?
    var requestID: String?
    var messageBody: Body

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
    var transactionID: String
    var testMethod = "Functional"
    var tester: CFXOperator
    var testedUnits: [CFXTestedUnit]
    var recipeName: String

    enum CodingKeys: String, CodingKey {
        case type
        case transactionID, testMethod, tester, testedUnits, recipeName
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
