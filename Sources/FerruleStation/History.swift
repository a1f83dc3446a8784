import FerruleCore
import Foundation

/// Past units, read from the reports folder (newest first). The SQLite store of issue #5 will
/// replace the folder scan; the query and its answer stay the same.
public struct History: Sendable {
    public struct Entry: Sendable, Codable, Hashable {
        public var reportId: UUID
        public var serial: String
        public var partNumber: String
        public var fixture: Int
        public var `operator`: String
        public var verdict: Verdict
        public var finishedAt: Date
        public var worstIlDb: Double?
        public var diagnoses: [DiagnosisCode]
        public var reportPath: String
    }

    public let data: DataDirectory
    public init(data: DataDirectory) { self.data = data }

    public func query(serial: String? = nil, partNumber: String? = nil, verdict: String? = nil, limit: Int = 50) throws -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: data.reports)) ?? []
        let decoder = UnitReport.decoder()
        var out: [Entry] = []
        for name in names where name.hasSuffix(".json") && !name.hasPrefix(".") {
            let path = (data.reports as NSString).appendingPathComponent(name)
            guard let bytes = FileManager.default.contents(atPath: path), let r = try? decoder.decode(UnitReport.self, from: bytes) else { continue }
            if let serial, r.unit.serial != serial { continue }
            if let partNumber, r.unit.partNumber != partNumber { continue }
            if let verdict, r.verdict.rawValue != verdict { continue }
            out.append(Entry(reportId: r.reportId, serial: r.unit.serial, partNumber: r.unit.partNumber, fixture: r.fixture,
                             operator: r.operator, verdict: r.verdict, finishedAt: r.finishedAt, worstIlDb: r.summary.worstIlDb,
                             diagnoses: r.diagnoses.map(\.code), reportPath: path))
        }
        return Array(out.sorted { $0.finishedAt > $1.finishedAt }.prefix(max(0, limit)))
    }
}
