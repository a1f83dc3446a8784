import FerruleDevices
import FerruleProtocol
import Foundation

/// What the station does with an instrument past its calibration (`station.calibration`).
public enum CalibrationPolicy: String, Sendable, CaseIterable {
    /// Units run, and every screen, status and report says the instrument is overdue.
    case warn
    /// Units on a fixture with an overdue instrument are refused until it is calibrated.
    case refuse
}

/// When an instrument is due for calibration, and who says so.
public struct InstrumentCalibration: Sendable, Hashable {
    public enum Source: String, Sendable { case instrument, config }
    /// `yyyy-MM-dd`; nil when nothing says (an instrument that says it is not calibrated is overdue).
    public var due: String?
    public var source: Source
    public var notCalibrated = false

    /// Whether `today` (`yyyy-MM-dd`) is past it.
    public func overdue(today: String) -> Bool { notCalibrated || due.map { $0 < today } ?? false }

    public var text: String {
        if notCalibrated { return "not calibrated (the instrument says so)" }
        return due.map { "calibration due \($0) (\(source == .instrument ? "from the instrument" : "from the config"))" }
            ?? "no calibration date"
    }

    /// An instrument's record and the config's: the instrument's own date plus the interval wins.
    static func of(_ spec: InstrumentSpec, record: CalibrationRecord?) -> InstrumentCalibration {
        switch record {
        case .calibrated(let on)?:
            return InstrumentCalibration(due: CalendarDay.adding(months: spec.calibrationIntervalMonths, to: on) ?? spec.calibrationDue,
                                         source: .instrument)
        case .notCalibrated?: return InstrumentCalibration(due: nil, source: .instrument, notCalibrated: true)
        case nil: return InstrumentCalibration(due: spec.calibrationDue, source: .config)
        }
    }
}

/// Days as `yyyy-MM-dd` in the station's time zone: they compare as text.
enum CalendarDay {
    static func of(_ date: Date, timeZone: TimeZone = .current) -> String {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = timeZone
        let d = c.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", d.year ?? 0, d.month ?? 0, d.day ?? 0)
    }

    /// `day` as a date at noon UTC (clear of any time zone's edge); nil when it is not a real day.
    static func parse(_ day: String) -> Date? {
        let parts = day.split(separator: "-").map { Int($0) }
        guard day.count == 10, parts.count == 3, let y = parts[0], let m = parts[1], let d = parts[2] else { return nil }
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        guard let date = c.date(from: DateComponents(year: y, month: m, day: d, hour: 12)),
              c.component(.day, from: date) == d, c.component(.month, from: date) == m else { return nil }
        return date
    }

    static func adding(months: Int, to day: String) -> String? {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return parse(day).flatMap { c.date(byAdding: .month, value: months, to: $0) }.map { of($0, timeZone: c.timeZone) }
    }
}

extension InstrumentAvailability {
    /// When each instrument is due, from what it said at the last probe or from the config.
    public func calibration(of name: String) -> InstrumentCalibration? {
        guard let spec = specs.first(where: { $0.name == name }) else { return nil }
        return InstrumentCalibration.of(spec, record: calibrationRecords[name])
    }

    /// The instruments among `names` past their calibration on `today`, with what says so.
    func overdue(among names: Set<String>, today: String) -> [(name: String, calibration: InstrumentCalibration)] {
        names.sorted().compactMap { n in calibration(of: n).flatMap { $0.overdue(today: today) ? (n, $0) : nil } }
    }

    /// Reads the calibration of every instrument that reports its own (at each probe).
    func readCalibrations() async {
        for (name, ins) in instruments.all.sorted(by: { $0.key < $1.key }) {
            guard let reporting = ins as? any ReportsCalibration else { continue }
            do {
                calibrationRecords[name] = try await reporting.calibration()
            } catch {
                logger.warning("\(name): its calibration date could not be read: \(error); the config's is used")
            }
        }
    }
}
