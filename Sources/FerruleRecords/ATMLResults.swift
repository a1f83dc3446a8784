import FerruleCore
import XMLCoder

extension ATMLTestResults.Test {
    /// One fiber at one wavelength from one end: its IL and, where measured or limited, RL at each end.
    init(_ m: Measurement) {
        let tid = "f\(m.fiber)-\(m.wavelengthNm)-\(m.end.rawValue)"
        typealias Result = ATMLTestResults.TestResult
        var results = [Result(id: tid + "-il", name: "IL", value: m.ilDb, comparator: "LE", limit: m.ilMaxDb, margin: m.ilMarginDb)]
        if m.rlDb != nil || m.rlMinDb != nil {
            results.append(Result(id: tid + "-rl", name: "RL", value: m.rlDb, comparator: "GE", limit: m.rlMinDb, margin: m.rlMarginDb))
        }
        if m.rlBDb != nil || m.rlBMinDb != nil {
            results.append(
                Result(id: tid + "-rlb", name: "RL end B", value: m.rlBDb, comparator: "GE", limit: m.rlBMinDb, margin: m.rlBMarginDb))
        }
        self.init(
            id: Attribute(tid), name: Attribute("Fiber \(m.fiber) \(m.wavelengthNm) nm end \(m.end.rawValue)"),
            outcome: .init(m.verdict == .pass ? "Passed" : "Failed"), results: results)
    }
}

extension ATMLTestResults {
    /// One value with its single limit. A value that was not measured is an `Error` outcome.
    struct TestResult: Encodable {
        @Attribute var id: String
        @Attribute var name: String
        var data: TestData?
        var limits: TestLimits?
        var outcome: Outcome

        enum CodingKeys: String, CodingKey {
            case id = "ID"
            case name
            case data = "tr:TestData"
            case limits = "tr:TestLimits"
            case outcome = "tr:Outcome"
        }

        init(id: String, name: String, value: Double?, comparator: String, limit: Double?, margin: Double?) {
            _id = Attribute(id)
            _name = Attribute(name)
            data = value.map { TestData(datum: Datum($0)) }
            limits = limit.flatMap {
                $0.isFinite ? TestLimits(limits: .init(single: .init(comparator: Attribute(comparator), datum: Datum($0)))) : nil
            }
            outcome = Outcome(margin.map { $0 >= 0 ? "Passed" : "Failed" } ?? (value == nil ? "Error" : "Passed"))
        }
    }

    /// A number in dB, to 0.001.
    struct Datum: Encodable {
        var type = Attribute<String>("c:double")
        @Attribute var value: String
        var nonStandardUnit = Attribute<String>("dB")

        enum CodingKeys: String, CodingKey {
            case type = "xsi:type"
            case value, nonStandardUnit
        }

        init(_ value: Double) { _value = Attribute(num(value)) }
    }

    struct TestData: Encodable {
        var datum: Datum
        enum CodingKeys: String, CodingKey { case datum = "c:Datum" }
    }

    struct TestLimits: Encodable {
        var limits: Limits
        enum CodingKeys: String, CodingKey { case limits = "tr:Limits" }

        struct Limits: Encodable {
            var single: SingleLimit
            enum CodingKeys: String, CodingKey { case single = "c:SingleLimit" }
        }

        struct SingleLimit: Encodable {
            @Attribute var comparator: String
            var datum: Datum
            enum CodingKeys: String, CodingKey {
                case comparator
                case datum = "c:Datum"
            }
        }
    }

    /// The unit under test: its part number and serial.
    struct UUT: Encodable {
        var uutType = Attribute<String>("Part")
        var definition: Definition
        var serialNumber: String

        enum CodingKeys: String, CodingKey {
            case uutType = "UutType"
            case definition = "c:Definition"
            case serialNumber = "c:SerialNumber"
        }

        struct Definition: Encodable {
            var identification: Identification
            enum CodingKeys: String, CodingKey { case identification = "c:Identification" }

            init(partNumber: String) {
                identification = Identification(
                    numbers: .init(number: .init(type: Attribute("Part"), number: Attribute(partNumber))))
            }
        }

        struct Identification: Encodable {
            var numbers: Numbers
            enum CodingKeys: String, CodingKey { case numbers = "c:IdentificationNumbers" }
        }

        struct Numbers: Encodable {
            var number: Number
            enum CodingKeys: String, CodingKey { case number = "c:IdentificationNumber" }
        }

        struct Number: Encodable {
            @Attribute var type: String
            @Attribute var number: String
        }
    }

    struct TestStation: Encodable {
        var serialNumber: String
        enum CodingKeys: String, CodingKey { case serialNumber = "c:SerialNumber" }
    }

    struct Personnel: Encodable {
        var systemOperator: SystemOperator
        enum CodingKeys: String, CodingKey { case systemOperator = "tr:SystemOperator" }

        struct SystemOperator: Encodable {
            @Attribute var id: String
            enum CodingKeys: String, CodingKey { case id = "ID" }
        }
    }
}
