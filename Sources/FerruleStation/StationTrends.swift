import FerruleCore
import FerruleProtocol
import Foundation

extension Station {
    /// Feeds a stored unit's IL readings (end A, one per position and wavelength) to the trend
    /// monitor; a series that rises beyond chance is told as a `trendAlarm` event (and so as a
    /// metric), to the line (CFX LogEntryRecorded) and in the log. Units that ended in an error or were stopped say nothing about the
    /// process, and are left out.
    func watchTrends(_ report: UnitReport) async {
        guard report.verdict == .pass || report.verdict == .fail else { return }
        for m in report.measurements where m.end == .a {
            guard let il = m.ilDb else { continue }
            let series = TrendMonitor.Series(partNumber: report.unit.partNumber, position: m.fiber, wavelengthNm: m.wavelengthNm)
            guard let alarm = trend.add(series, ilDb: il) else { continue }
            logger.warning("\(alarm.description)")
            await events.publish(.trendAlarm(
                partNumber: series.partNumber, position: series.position, wavelengthNm: series.wavelengthNm, detail: alarm.description))
            let moment = LineMessage.Moment.qualityAlarm(
                partNumber: series.partNumber, position: series.position, wavelengthNm: series.wavelengthNm, detail: alarm.description)
            await delivery.post(LineMessage(at: now(), moment), logger: logger)
        }
    }
}
