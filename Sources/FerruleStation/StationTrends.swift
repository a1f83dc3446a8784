import FerruleCore
import FerruleProtocol
import Foundation

extension Station {
    /// Feeds a stored unit's verdict to the fixtures' yield watch and its IL readings (end A, one
    /// per position and wavelength) to the trend monitor; a series that rises beyond chance is told as a `trendAlarm` event (and so as a
    /// metric), to the line (CFX LogEntryRecorded) and in the log. Units that ended in an error or
    /// were stopped say nothing about the process, and are left out.
    func watchTrends(_ report: UnitReport) async {
        guard report.verdict == .pass || report.verdict == .fail else { return }
        if let alarm = fixtureYield.add(fixture: report.fixture, failed: report.verdict == .fail) {
            logger.warning("\(alarm.description)")
            await events.publish(.fixtureYieldAlarm(fixture: alarm.fixture, detail: alarm.description))
            await delivery.post(LineMessage(at: now(), .fixtureAlarm(fixture: alarm.fixture, detail: alarm.description)), logger: logger)
        }
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

    /// How many of the newest units a start feeds the trend monitor again (some hours of a shift).
    static let trendReplayUnits = 1_000

    /// Takes the trend monitor and the fixtures' yield watch up where the last run left them: the
    /// newest finished units fed again, oldest first and without a word. Without this a restart
    /// took a new baseline from whatever came next, a cord already wearing included, and forgot
    /// an alarm that stood.
    func resumeTrends() async {
        do {
            for (part, fixture, failed, unit) in try await records.store.recentReadings(limit: Self.trendReplayUnits) {
                _ = fixtureYield.add(fixture: fixture, failed: failed)
                for r in unit.readings where r.end == .a {
                    guard let il = r.ilDb else { continue }
                    _ = trend.add(TrendMonitor.Series(partNumber: part, position: r.fiber, wavelengthNm: r.wavelengthNm), ilDb: il)
                }
            }
        } catch {
            logger.warning("trend baselines were not restored from the store (\(error)); they start again from the next units")
        }
    }
}
