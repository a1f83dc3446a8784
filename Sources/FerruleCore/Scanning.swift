import Foundation

/// A fixed barcode scanner on a fixture and how its scans are read (`fixtures[].scanner`).
public struct FixtureScanner: Sendable, Hashable, Codable {
    public var fixture: Int
    /// The `barcode-serial` instrument.
    public var instrument: String
    /// Who is recorded as the operator of a unit started by a scan.
    public var operatorId: String
    /// Serial prefix -> part number: a serial that starts with one names its part (longest wins).
    public var partPrefixes: [String: String]
    /// What every badge code starts with (`badgePrefix`): such a scan that is no user's badge is
    /// refused instead of being taken for a serial.
    public var badgePrefix: String?

    public init(fixture: Int, instrument: String, operatorId: String, partPrefixes: [String: String] = [:]) {
        self.fixture = fixture
        self.instrument = instrument
        self.operatorId = operatorId
        self.partPrefixes = partPrefixes
    }
}

/// What one scan says.
public enum ScanContent: Sendable, Hashable {
    /// A unit's serial, with its part number when the code or a prefix rule gives it.
    case unit(serial: String, partNumber: String?)
    /// A part number on its own: the part of the units scanned next on that fixture.
    case partNumber(String)
}

/// Why a scan cannot be used, in the operator's words.
public struct ScanProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var fix: String
    public var description: String { "\(message); \(fix)" }
}

extension FixtureScanner {
    /// Reads one scan: a GS1 code (serial in AI 21, part in AI 240), a known part number, or a
    /// serial (its part from a prefix rule, or from the part scanned before).
    public func read(_ raw: String, knownParts: Set<String>) throws(ScanProblem) -> ScanContent {
        let text = raw.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else {
            throw ScanProblem(message: "empty scan", fix: "scan the unit's serial label again")
        }
        if let gs1 = GS1ElementString(text) {
            guard let serial = gs1.values["21"], !serial.isEmpty else {
                throw ScanProblem(
                    message: "the GS1 code carries no serial (AI 21)", fix: "scan the label with the unit's serial number")
            }
            return .unit(serial: serial, partNumber: gs1.values["240"])
        }
        if knownParts.contains(text) { return .partNumber(text) }
        let prefix = partPrefixes.keys.filter { text.hasPrefix($0) }.max { $0.count < $1.count }
        return .unit(serial: text, partNumber: prefix.flatMap { partPrefixes[$0] })
    }
}

/// A GS1 element string as a scanner sends it: after a symbology identifier (`]d2` DataMatrix,
/// `]C1` GS1-128, `]Q3` QR) with FNC1 as the group separator (0x1D), or in its human-readable
/// form `(01)09501101530003(21)A1234`. Only the application identifiers a station uses are named;
/// the others are skipped by their known lengths.
public struct GS1ElementString: Sendable, Hashable {
    public var values: [String: String] = [:]

    static let separator: Character = "\u{1D}"
    static let symbologies = ["]d2", "]C1", "]Q3", "]e0"]
    /// Fixed-length AIs (data length); every other AI here runs to a separator or the end.
    static let fixedLength: [String: Int] = [
        "00": 18, "01": 14, "02": 14, "11": 6, "12": 6, "13": 6, "15": 6, "16": 6, "17": 6, "20": 2
    ]
    static let variableLength: Set<String> = ["10", "21", "22", "30", "37", "240", "241", "250", "400", "90", "91", "92"]

    /// Nil when the text is not a GS1 element string.
    public init?(_ text: String) {
        if text.hasPrefix("(") {
            guard let v = Self.humanReadable(text) else { return nil }
            values = v
            return
        }
        guard let symbology = Self.symbologies.first(where: { text.hasPrefix($0) }) else { return nil }
        guard let v = Self.machine(Substring(text.dropFirst(symbology.count))) else { return nil }
        values = v
    }

    private static func machine(_ body: Substring) -> [String: String]? {
        var rest = body.drop { $0 == separator }
        var values: [String: String] = [:]
        while !rest.isEmpty {
            guard let ai = aiAt(rest) else { return nil }
            rest = rest.dropFirst(ai.count)
            let data: Substring
            if let n = fixedLength[ai] {
                guard rest.count >= n else { return nil }
                data = rest.prefix(n)
            } else {
                data = rest.prefix { $0 != separator }
            }
            values[ai] = String(data)
            rest = rest.dropFirst(data.count).drop { $0 == separator }
        }
        return values.isEmpty ? nil : values
    }

    private static func humanReadable(_ text: String) -> [String: String]? {
        var values: [String: String] = [:]
        for group in text.split(separator: "(", omittingEmptySubsequences: true) {
            let parts = group.split(separator: ")", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0].count >= 2, parts[0].allSatisfy(\.isNumber) else { return nil }
            values[String(parts[0])] = String(parts[1])
        }
        return values.isEmpty ? nil : values
    }

    /// The AI at the start of `text`: the known ones first, by length (`240` before `24`).
    private static func aiAt(_ text: Substring) -> String? {
        for length in [3, 2] {
            let ai = String(text.prefix(length))
            if fixedLength[ai] != nil || variableLength.contains(ai) { return ai }
        }
        return nil
    }
}
