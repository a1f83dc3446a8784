import Foundation

/// Days as `yyyy-MM-dd` in the station's time zone: they compare as text.
public enum CalendarDay {
    public static func of(_ date: Date, timeZone: TimeZone = .current) -> String {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = timeZone
        let d = c.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", d.year ?? 0, d.month ?? 0, d.day ?? 0)
    }

    /// `day` as a date at noon UTC (clear of any time zone's edge); nil when it is not a real day.
    public static func parse(_ day: String) -> Date? {
        let parts = day.split(separator: "-").map { Int($0) }
        guard day.count == 10, parts.count == 3, let y = parts[0], let m = parts[1], let d = parts[2] else { return nil }
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        guard let date = c.date(from: DateComponents(year: y, month: m, day: d, hour: 12)),
              c.component(.day, from: date) == d, c.component(.month, from: date) == m else { return nil }
        return date
    }

    public static func adding(months: Int, to day: String) -> String? {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return parse(day).flatMap { c.date(byAdding: .month, value: months, to: $0) }.map { of($0, timeZone: c.timeZone) }
    }
}
