import Foundation

/// A grade a customer buys to, as IEC 61753-1 / 61755 state one for random mating: the mean
/// and the 97th percentile of IL over many connections (`recipes[].grade`).
public struct GradeSpec: Sendable, Hashable, Codable {
    public var meanIlMaxDb: Double
    public var p97IlMaxDb: Double

    public init(meanIlMaxDb: Double, p97IlMaxDb: Double) {
        self.meanIlMaxDb = meanIlMaxDb
        self.p97IlMaxDb = p97IlMaxDb
    }
}

/// IL statistics over a set of readings: how many, the mean, the 97th percentile and the worst.
public struct ILStatistics: Sendable, Hashable, Codable {
    public var n: Int
    public var meanDb: Double
    public var p97Db: Double
    public var maxDb: Double

    /// Nil for no readings.
    public static func of(_ il: [Double]) -> ILStatistics? {
        guard let worst = il.max() else { return nil }
        return ILStatistics(n: il.count, meanDb: Statistics.mean(il), p97Db: Statistics.percentile(il, 0.97), maxDb: worst)
    }
}

/// A lot's IL (a part number's shipped units over a window): per wavelength, per position, and
/// whether each wavelength meets the recipe's grade, with the method written out.
public struct LotReport: Sendable, Hashable, Codable {
    public struct Wavelength: Sendable, Hashable, Codable {
        public var wavelengthNm: Int
        public var il: ILStatistics
        /// Whether it meets the grade; nil without a grade.
        public var meetsGrade: Bool?
    }
    public struct Position: Sendable, Hashable, Codable {
        public var position: ChartPosition
        public var il: ILStatistics
    }

    public var partNumber: String
    public var since: Date?
    public var until: Date?
    /// Serials in the lot: each one's latest test, if it passed.
    public var units: Int
    public var grade: GradeSpec?
    /// True when every wavelength meets the grade; nil without a grade or without readings.
    public var meetsGrade: Bool?
    public var wavelengths: [Wavelength]
    public var positions: [Position]
    public var method: String

    public static let methodText = """
        The lot is every serial of the part number first tested in the window whose latest test passed (the units that ship). \
        Each IL reading of those tests counts once, per wavelength and per fiber position and end. The mean is the arithmetic \
        mean; the 97th percentile is interpolated linearly between order statistics (Hyndman and Fan type 7). A wavelength \
        meets the grade when its mean is at most the grade's mean and its 97th percentile at most the grade's; the lot meets \
        it when every wavelength does (IEC 61753-1 states grades this way for random mating).
        """

    /// `units`: each unit's IL by position.
    public static func make(
        partNumber: String, since: Date?, until: Date?, grade: GradeSpec?, units: [[ChartPosition: Double]]
    ) -> LotReport {
        var builder = PartSeriesBuilder()
        for (i, unit) in units.enumerated() {
            builder.startUnit(ChartUnit(serial: "\(i)", at: Date(timeIntervalSince1970: 0)))
            for (p, il) in unit { builder.add(p, ilDb: il) }
        }
        return make(partNumber: partNumber, since: since, until: until, grade: grade, units: builder.units.count, series: builder.series)
    }

    /// The same from readings arranged by position (PartSeriesBuilder): what a month's lot of a
    /// year's store reads, without a dictionary per unit.
    public static func make(
        partNumber: String, since: Date?, until: Date?, grade: GradeSpec?, units: Int, series: [PositionSeries]
    ) -> LotReport {
        var byWavelength: [Int: [Double]] = [:]
        for s in series { byWavelength[s.position.wavelengthNm, default: []].append(contentsOf: s.ilDb) }
        let wavelengths = byWavelength.keys.sorted().compactMap { wl -> Wavelength? in
            guard let s = ILStatistics.of(byWavelength[wl] ?? []) else { return nil }
            return Wavelength(wavelengthNm: wl, il: s, meetsGrade: grade.map { s.meanDb <= $0.meanIlMaxDb && s.p97Db <= $0.p97IlMaxDb })
        }
        let positions = series.sorted { $0.position < $1.position }.compactMap { s in
            ILStatistics.of(s.ilDb).map { Position(position: s.position, il: $0) }
        }
        let meets: Bool? = grade == nil || wavelengths.isEmpty ? nil : wavelengths.allSatisfy { $0.meetsGrade == true }
        return LotReport(
            partNumber: partNumber, since: since, until: until, units: units, grade: grade, meetsGrade: meets,
            wavelengths: wavelengths, positions: positions, method: methodText)
    }
}
