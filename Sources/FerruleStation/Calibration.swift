import FerruleConfig
import FerruleCore
import FerruleDevices
import FerruleProtocol
import Foundation

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
