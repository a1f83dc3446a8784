import FerruleCore
import Foundation
import XMLCoder

/// IEEE 1636.1 / 1671 ATML TestResults (the structure NI TestStand emits): a ResultSet with one
/// Test per fiber and wavelength and a TestResult per IL and RL with its limit, the UUT, the
/// station and the operator. Outcome values: Passed, Failed, Aborted, Error (error and
/// interrupted). Encoded by XMLCoder from the values below; `@Attribute` marks attributes.
enum ATMLTestResults {
    static func render(_ r: UnitReport) throws -> Data {
        let encoder = XMLEncoder()
        encoder.outputFormatting = [.prettyPrinted]
        encoder.prettyPrintIndentation = .spaces(2)
        let header = XMLHeader(version: 1.0, encoding: "UTF-8")
        return try encoder.encode(Collection(r), withRootKey: "trc:TestResultsCollection", header: header)
    }

    static func outcome(_ v: Verdict) -> String {
        switch v {
        case .pass: return "Passed"
        case .fail: return "Failed"
        case .aborted: return "Aborted"
        case .error, .interrupted: return "Error"
        }
    }

    /// The document: the namespaces and one TestResults.
    struct Collection: Encodable {
        var trc = Attribute<String>("urn:IEEE-1636.1:2011:01:TestResultsCollection")
        var tr = Attribute<String>("urn:IEEE-1636.1:2011:01:TestResults")
        var c = Attribute<String>("urn:IEEE-1671:2010:Common")
        var xsi = Attribute<String>("http://www.w3.org/2001/XMLSchema-instance")
        var results: Results

        enum CodingKeys: String, CodingKey {
            case trc = "xmlns:trc", tr = "xmlns:tr", c = "xmlns:c", xsi = "xmlns:xsi", results = "trc:TestResults"
        }

        init(_ r: UnitReport) { results = Results(r) }
    }

    struct Results: Encodable {
        @Attribute var uuid: String
        var resultSet: ResultSet
        var uut: UUT
        var station: TestStation
        var personnel: Personnel

        enum CodingKeys: String, CodingKey {
            case uuid, resultSet = "tr:ResultSet", uut = "tr:UUT", station = "tr:TestStation", personnel = "tr:Personnel"
        }

        init(_ r: UnitReport) {
            let id = r.reportId.uuidString.lowercased()
            _uuid = Attribute(id)
            resultSet = ResultSet(r, id: id)
            uut = UUT(
                definition: UUT.Definition(partNumber: r.unit.partNumber), serialNumber: r.unit.serial)
            station = TestStation(serialNumber: r.station.id)
            personnel = Personnel(systemOperator: .init(id: Attribute(r.operator)))
        }
    }

    /// The unit's outcome, a Test per fiber, wavelength and end, polarity, and the reasons.
    struct ResultSet: Encodable {
        @Attribute var id: String
        @Attribute var name: String
        @Attribute var startDateTime: String
        @Attribute var endDateTime: String
        var outcome: Outcome
        var tests: [Test]
        var extensions: [Extension]

        enum CodingKeys: String, CodingKey {
            case id = "ID", name, startDateTime, endDateTime, outcome = "tr:Outcome", tests = "tr:Test", extensions = "tr:Extension"
        }

        init(_ r: UnitReport, id: String) {
            _id = Attribute(id)
            _name = Attribute(r.unit.partNumber)
            _startDateTime = Attribute(iso(r.startedAt))
            _endDateTime = Attribute(iso(r.finishedAt))
            outcome = Outcome(ATMLTestResults.outcome(r.verdict))
            let measured = r.measurements.sorted { ($0.fiber, $0.wavelengthNm) < ($1.fiber, $1.wavelengthNm) }
            let polarity = Test(
                id: Attribute("polarity"), name: Attribute("Polarity type \(r.polarity.expectedType)"),
                outcome: Outcome(r.polarity.verdict == .pass ? "Passed" : "Failed"), results: [])
            tests = measured.map(Test.init) + [polarity]
            extensions = r.reasons.map { Extension(description: $0) }
        }
    }

    struct Outcome: Encodable {
        @Attribute var value: String
        init(_ value: String) { _value = Attribute(value) }
    }

    struct Test: Encodable {
        @Attribute var id: String
        @Attribute var name: String
        var outcome: Outcome
        var results: [TestResult]

        enum CodingKeys: String, CodingKey { case id = "ID", name, outcome = "tr:Outcome", results = "tr:TestResult" }
    }

    struct Extension: Encodable {
        var description: String
        enum CodingKeys: String, CodingKey { case description = "c:Description" }
    }
}
