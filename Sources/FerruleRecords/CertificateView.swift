import FerruleCore
import Foundation

/// What a certificate template can show: the unit's record as plain text fields, numbers already
/// formatted (IL to 0.001 dB, RL to 0.1 dB, an en dash for none) and the chart as ready SVG.
/// The template (`CertificateTemplate`) escapes every field; only `chartSVG` is inserted as is,
/// and it escapes what it carries itself. Field names are the template's vocabulary, so
/// renaming one breaks the quality people's templates: add, do not rename.
struct CertificateView {
    var serial = ""
    var partNumber = ""
    var description = ""
    var reportId = ""
    /// PASS, FAIL, ERROR, ABORTED or INTERRUPTED.
    var verdict = ""
    var passed = false
    /// e.g. "24-fiber trunk, OM4, polarity A, 3.0 m".
    var assembly = ""
    var endA = ""
    var endB = ""
    var startedAt = ""
    var finishedAt = ""
    var stationId = ""
    var fixture = 0
    var operatorId = ""
    var limits = ""
    var wavelengths = ""
    /// Why the unit did not pass (empty when it passed), and the diagnoses with their actions.
    var reasons: [String] = []
    var hasReasons = false
    var diagnoses: [Diagnosis] = []
    var hasDiagnoses = false
    var chartSVG = ""
    var tables: [Table] = []
    var polarity = Polarity()
    var instruments: [Instrument] = []
    var references: [ReferenceLine] = []
    var cords: [Cord] = []
    var softwareVersion = ""
    var configHash = ""

    struct Diagnosis {
        var message = ""
        var action = ""
    }

    /// One end and wavelength: a row per fiber.
    struct Table {
        var end = ""
        var wavelengthNm = 0
        var rows: [Row] = []
    }

    struct Row {
        var fiber = 0
        var arrivesAt = ""
        var il = ""
        var ilMax = ""
        var ilMargin = ""
        var rlA = ""
        var rlB = ""
        var rlMinA = ""
        var rlMinB = ""
        var passed = false
        var verdict = ""
        /// The fiber's reasons; nil when it has none.
        var why: String?

        var fields: [String: Any] {
            var f: [String: Any] = [
                "fiber": fiber, "arrivesAt": arrivesAt, "il": il, "ilMax": ilMax, "ilMargin": ilMargin, "rlA": rlA, "rlB": rlB,
                "rlMinA": rlMinA, "rlMinB": rlMinB, "passed": passed, "verdict": verdict
            ]
            if let why { f["why"] = why }
            return f
        }
    }

    struct Polarity {
        var expectedType = ""
        /// "Type B" or "not a standard type".
        var observedType = ""
        /// e.g. "1→12 2→11".
        var observedMap = ""
        var passed = false
        var verdict = ""
        /// Fibers found where they should not be; nil when there are none.
        var mismatches: String?
    }

    struct Instrument {
        var role = ""
        var name = ""
        var driver = ""
        var address = ""
        var identity = ""
        var calibrationDue = ""
    }

    struct ReferenceLine {
        var cord = ""
        var polarity = ""
        var method = ""
        var takenAt = ""
        var validUntil = ""
        var valueCount = 0
        var pairs = ""
    }

    struct Cord {
        var role = ""
        var id = ""
        var matings = 0
        var maxMatings = 0
        var state = ""
    }
}

extension CertificateView {
    /// Every name a template may use, at any depth (sections see the fields of their items).
    static let vocabulary: Set<String> = {
        var sample = CertificateView()
        sample.diagnoses = [Diagnosis()]
        sample.tables = [Table(rows: [Row()])]
        sample.instruments = [Instrument()]
        sample.references = [ReferenceLine()]
        sample.cords = [Cord()]
        var names: Set<String> = []
        func collect(_ value: Any) {
            for child in Mirror(reflecting: value).children {
                guard let label = child.label else { continue }
                names.insert(label)
                if let items = child.value as? [Any] { items.forEach(collect) } else { collect(child.value) }
            }
        }
        collect(sample)
        return names
    }()

    /// The view as nested dictionaries, reflected once. Mustache looks a name up in a dictionary
    /// directly but reflects a struct at every lookup (at every tag, in every row, and again in
    /// each enclosing section for a name the row lacks): that was about a tenth of a unit's
    /// software time. A nil field is left out, as the template's `{{#why}}` expects.
    var plain: [String: Any] { Self.plain(self) as? [String: Any] ?? [:] }

    /// The same, every struct reflected (what `plain` must equal: the tests compare them).
    var reflected: [String: Any] { Self.plain(self, rowsByHand: false) as? [String: Any] ?? [:] }

    private static func plain(_ value: Any, rowsByHand: Bool = true) -> Any? {
        // The rows are most of a certificate (one per fiber, end and wavelength): written out
        // by hand, since reflecting them was a third of the certificate's time.
        if rowsByHand, let row = value as? Row { return row.fields }
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional: return mirror.children.first.flatMap { plain($0.value, rowsByHand: rowsByHand) }
        case .collection: return mirror.children.compactMap { plain($0.value, rowsByHand: rowsByHand) }
        case .struct:
            var fields: [String: Any] = [:]
            for child in mirror.children {
                if let label = child.label, let v = plain(child.value, rowsByHand: rowsByHand) { fields[label] = v }
            }
            return fields
        default: return value
        }
    }

    init(_ r: UnitReport) {
        serial = r.unit.serial
        partNumber = r.unit.partNumber
        description = r.unit.description
        reportId = r.reportId.uuidString.lowercased()
        verdict = r.verdict.rawValue.uppercased()
        passed = r.verdict == .pass
        assembly = Self.assemblyText(r.assembly)
        endA = Self.endText(r.assembly.endA)
        endB = Self.endText(r.assembly.endB)
        startedAt = iso(r.startedAt)
        finishedAt = iso(r.finishedAt)
        stationId = r.station.id
        fixture = r.fixture
        operatorId = r.operator
        limits = Self.limitsText(r)
        wavelengths = r.wavelengthsNm.map { "\($0) nm" }.joined(separator: ", ")
        reasons = r.verdict == .pass ? [] : r.reasons
        hasReasons = !reasons.isEmpty
        diagnoses = reasons.isEmpty ? [] : r.diagnoses.map { Diagnosis(message: $0.message, action: $0.action) }
        hasDiagnoses = !diagnoses.isEmpty
        chartSVG = CertificateChart.svg(r)
        tables = Self.tables(r)
        polarity = Self.polarity(r.polarity)
        instruments = r.instruments.map(Self.instrument)
        references = r.references.map {
            ReferenceLine(
                cord: $0.cord.id, polarity: $0.cord.polarity, method: $0.method.rawValue, takenAt: iso($0.takenAt),
                validUntil: iso($0.validUntil), valueCount: $0.values.count, pairs: $0.pairs)
        }
        cords = r.cords.map {
            Cord(role: $0.role.rawValue, id: $0.id, matings: $0.matings, maxMatings: $0.maxMatings, state: $0.state.rawValue)
        }
        softwareVersion = r.station.softwareVersion
        configHash = r.station.configHash
    }

    /// One table per end and wavelength that has measurements, end A first.
    static func tables(_ r: UnitReport) -> [Table] {
        let groups = Dictionary(grouping: r.measurements) { "\($0.end.rawValue)|\($0.wavelengthNm)" }
        return End.allCases.flatMap { end in
            r.wavelengthsNm.compactMap { wl -> Table? in
                guard let ms = groups["\(end.rawValue)|\(wl)"], !ms.isEmpty else { return nil }
                return Table(end: end.rawValue, wavelengthNm: wl, rows: ms.sorted { $0.fiber < $1.fiber }.map(row))
            }
        }
    }

    static func row(_ m: FerruleCore.Measurement) -> Row {
        Row(
            fiber: m.fiber, arrivesAt: m.receivePosition.map(String.init) ?? "none",
            il: dash(m.ilDb, 3), ilMax: dash(m.ilMaxDb, 2), ilMargin: dash(m.ilMarginDb, 3),
            rlA: dash(m.rlDb, 1), rlB: dash(m.rlBDb, 1), rlMinA: dash(m.rlMinDb, 0), rlMinB: dash(m.rlBMinDb, 0),
            passed: m.verdict == .pass, verdict: m.verdict.rawValue,
            why: m.reasons.isEmpty ? nil : m.reasons.joined(separator: "; "))
    }

    static func polarity(_ p: PolarityResult) -> Polarity {
        Polarity(
            expectedType: p.expectedType,
            observedType: p.observedType.map { "Type \($0.rawValue)" } ?? "not a standard type",
            observedMap: p.observedMap.map { "\($0.fiber)\u{2192}\($0.receivePosition.map(String.init) ?? "none")" }
                .joined(separator: " "),
            passed: p.verdict == .pass, verdict: p.verdict.rawValue,
            mismatches: p.mismatches.isEmpty
                ? nil
                : p.mismatches.map { "fiber \($0.fiber) at \($0.observed.map(String.init) ?? "none"), expected \($0.expected)" }
                    .joined(separator: "; "))
    }

    static func instrument(_ i: UnitReport.Instrument) -> Instrument {
        let identity = i.identity.map { "\($0.manufacturer) \($0.model), s/n \($0.serial), fw \($0.firmware)" }
        return Instrument(
            role: i.role.rawValue, name: i.name, driver: i.driver, address: i.address, identity: identity ?? "not identified",
            calibrationDue: (i.calibrationDue ?? "-") + (i.calibrationOverdue == true ? " (OVERDUE)" : ""))
    }

    static func assemblyText(_ a: UnitReport.Assembly) -> String {
        "\(a.fiberCount)-fiber \(a.kind.rawValue), \(a.fiberType.rawValue), polarity \(a.polarity)"
            + (a.lengthM.map { ", \(num($0, 1)) m" } ?? "") + (a.lengthToleranceM.map { " \u{00B1} \(num($0, 2)) m" } ?? "")
    }

    static func endText(_ end: ConnectorEnd) -> String {
        "\(end.connector) \(end.polish.rawValue)\(end.gender.map { ", \($0.rawValue)" } ?? "")"
    }

    static func limitsText(_ r: UnitReport) -> String {
        var parts = r.limits.il.map { "IL \u{2264} \(num($0.ilMaxDb, 2)) dB at \($0.wavelengthNm) nm" }
        if let m = r.limits.meanIlMaxDb { parts.append("mean IL \u{2264} \(num(m, 2)) dB") }
        if let rl = r.limits.rlMinDb { parts.append("RL at A \u{2265} \(num(rl, 0)) dB") }
        if let rl = r.limits.rlMinDbB { parts.append("RL at B \u{2265} \(num(rl, 0)) dB") }
        if let w = r.limits.rlWindow {
            parts.append("RL gated \(w.method.rawValue), markers \(num(w.aOffsetM, 2)) to \(num(w.bOffsetM, 2)) m around each connector")
        }
        return parts.joined(separator: "; ")
    }

    /// A number to `digits` decimals, or an en dash when there is none.
    static func dash(_ v: Double?, _ digits: Int) -> String { v.map { num($0, digits) } ?? "\u{2013}" }
}
