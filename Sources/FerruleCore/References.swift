import Foundation

/// A reference cord: a short jumper of known polarity, mated to the fixture's test cords only to
/// take a reference. It covers the (launch, receive) position pairs its polarity connects.
public struct ReferenceCord: Sendable, Hashable, Codable {
    public var id: String
    public var polarity: PolaritySpec
    public var fibers: Int
    public var wear: CordWear

    public init(id: String, polarity: PolaritySpec, fibers: Int, wear: CordWear = CordWear()) {
        self.id = id
        self.polarity = polarity
        self.fibers = fibers
        self.wear = wear
    }

    /// `A`, `B`, `C` or `explicit`.
    public var polarityName: String { polarity.standardType?.rawValue ?? "explicit" }

    /// Launch position -> the receive position this cord lands it on.
    public var map: PolarityMap {
        switch polarity {
        case .explicit(let m): return m
        case .standard(let t):
            guard let layout = try? MPOLayout(fiberCount: fibers) else { return PolarityMap([:]) }
            return PolarityMap.standard(t, layout: layout, kind: .trunk)
        }
    }
}

/// How many matings a cord is rated for, and when to warn (MTP connectors: about 1,000).
public struct CordWear: Sendable, Hashable, Codable {
    public var maxMatings: Int
    public var warnMatings: Int

    public init(maxMatings: Int = 1000, warnMatings: Int? = nil) {
        self.maxMatings = maxMatings
        self.warnMatings = warnMatings ?? maxMatings * 9 / 10
    }
}

/// A fixture's launch and receive test cords: they mate with every unit and every reference cord.
public struct TestCords: Sendable, Hashable, Codable {
    /// One test cord, with its matings counted against its rating.
    public struct Cord: Sendable, Hashable, Codable {
        public var id: String
        public var wear: CordWear
        public init(id: String, wear: CordWear = CordWear()) {
            self.id = id
            self.wear = wear
        }
    }
    public var launch: Cord?
    public var receive: Cord?

    public init(launch: Cord? = nil, receive: Cord? = nil) {
        self.launch = launch
        self.receive = receive
    }

    public var all: [Cord] { [launch, receive].compactMap { $0 } }
}

/// A reference taken on one fixture with one reference cord: P_ref per (launch position,
/// receive position, wavelength) pair the cord connects, with how and when it was taken.
public struct Reference: Sendable, Hashable, Codable {
    /// The power read on one referenced path at one wavelength.
    public struct Value: Sendable, Hashable, Codable {
        /// End-A (launch) position the launch channel feeds.
        public var position: Int
        /// The receive position the reference cord landed it on.
        public var receivePosition: Int
        public var launchChannel: Int
        public var receiveChannel: Int
        public var wavelengthNm: Int
        public var powerDbm: Double

        public init(position: Int, receivePosition: Int, launchChannel: Int, receiveChannel: Int, wavelengthNm: Int, powerDbm: Double) {
            self.position = position
            self.receivePosition = receivePosition
            self.launchChannel = launchChannel
            self.receiveChannel = receiveChannel
            self.wavelengthNm = wavelengthNm
            self.powerDbm = powerDbm
        }
    }

    /// The cord a reference was taken with, as the report names it.
    public struct Cord: Sendable, Hashable, Codable {
        public var id: String
        /// `A`, `B`, `C` or `explicit`.
        public var polarity: String
        public init(id: String, polarity: String) {
            self.id = id
            self.polarity = polarity
        }
    }

    public var fixture: Int
    public var cord: Cord
    public var method: ReferenceMethod
    public var takenAt: Date
    public var operatorId: String?
    /// What was referenced, in words: which (launch, receive) pairs and with what cord.
    public var pairs: String
    public var values: [Value]
    /// Set when a unit showed a negative IL beyond the tolerance; a suspect reference is not used again.
    public var suspect: String?
    /// The seal of the file it was read from (`sha256:` of its content without this field).
    public var checksum: String?

    public init(fixture: Int, cord: Cord, method: ReferenceMethod, takenAt: Date, operatorId: String?, pairs: String,
                values: [Value], suspect: String? = nil) {
        self.fixture = fixture
        self.cord = cord
        self.method = method
        self.takenAt = takenAt
        self.operatorId = operatorId
        self.pairs = pairs
        self.values = values
        self.suspect = suspect
    }

}

/// The references a unit may use: every valid reference of its fixture, newest first. IL is only
/// ever computed against the value of the exact (launch, receive, wavelength) path read.
public struct ReferenceBook: Sendable {
    public let references: [Reference]
    private let index: [PathKey: (Reference.Value, cord: String)]
    /// The strongest P_ref of each (launch, wavelength) on any path: read at every search step.
    private let launchIndex: [PathKey: Double]

    struct PathKey: Hashable {
        var launch: Int, receive: Int, wavelengthNm: Int
    }

    public init(_ references: [Reference]) {
        self.references = references.sorted { $0.takenAt > $1.takenAt }
        var index: [PathKey: (Reference.Value, cord: String)] = [:]
        for r in self.references {
            for v in r.values {
                let k = PathKey(launch: v.position, receive: v.receivePosition, wavelengthNm: v.wavelengthNm)
                if index[k] == nil { index[k] = (v, r.cord.id) }  // the newest reference of a path wins
            }
        }
        self.index = index
        var launchIndex: [PathKey: Double] = [:]
        for (k, v) in index {
            let lk = PathKey(launch: k.launch, receive: 0, wavelengthNm: k.wavelengthNm)
            launchIndex[lk] = max(launchIndex[lk] ?? -.infinity, v.0.powerDbm)
        }
        self.launchIndex = launchIndex
    }

    /// P_ref of a path and the cord that covered it; nil when no valid reference covers it.
    public func value(launch: Int, receive: Int, wavelengthNm: Int) -> (value: Reference.Value, cord: String)? {
        index[PathKey(launch: launch, receive: receive, wavelengthNm: wavelengthNm)]
    }

    /// For telling light from noise on a path no reference covers: the launch's P_ref on any path.
    public func anyValue(launch: Int, wavelengthNm: Int) -> Double? {
        launchIndex[PathKey(launch: launch, receive: 0, wavelengthNm: wavelengthNm)]
    }

    /// The paths of `map` at `wavelengths` that no reference covers, as (launch, receive, wavelength).
    public func uncovered(_ map: PolarityMap, wavelengthsNm: [Int]) -> [(launch: Int, receive: Int, wavelengthNm: Int)] {
        map.launchPositions.flatMap { p in
            wavelengthsNm.compactMap { wl in
                let q = map[p]!
                return value(launch: p, receive: q, wavelengthNm: wl) == nil ? (p, q, wl) : nil
            }
        }
    }

    /// The references whose values a unit with this map and these wavelengths used.
    public func used(by map: PolarityMap, wavelengthsNm: [Int]) -> [Reference] {
        let cords = Set(map.launchPositions.flatMap { p in
            wavelengthsNm.compactMap { value(launch: p, receive: map[p]!, wavelengthNm: $0)?.cord }
        })
        return references.filter { cords.contains($0.cord.id) }
    }
}

/// A new reference checked against the last healthy one of the same fixture and cord, path by
/// path: a path whose power fell more than the allowed step lost light somewhere new (a dirty or
/// damaged reference or test cord end face), and a reference taken that way would make every
/// IL measured against it look better than it is.
public enum ReferenceHealth {
    public struct Drop: Sendable, Hashable {
        public var position: Int
        public var receivePosition: Int
        public var wavelengthNm: Int
        public var previousDbm: Double
        public var newDbm: Double
        public var dropDb: Double { previousDbm - newDbm }
    }

    /// The paths of `new` whose power fell more than `maxDropDb` below `previous`'s, worst first.
    public static func drops(_ new: Reference, since previous: Reference, maxDropDb: Double) -> [Drop] {
        var before: [String: Double] = [:]
        for v in previous.values { before["\(v.position)/\(v.receivePosition)/\(v.wavelengthNm)"] = v.powerDbm }
        return new.values.compactMap { v -> Drop? in
            guard let old = before["\(v.position)/\(v.receivePosition)/\(v.wavelengthNm)"], old - v.powerDbm > maxDropDb else { return nil }
            return Drop(position: v.position, receivePosition: v.receivePosition, wavelengthNm: v.wavelengthNm, previousDbm: old,
                        newDbm: v.powerDbm)
        }
        .sorted { ($0.dropDb, $1.position) > ($1.dropDb, $0.position) }
    }

    /// The drops as an operator reads them: the worst three paths and how many in all.
    public static func describe(_ drops: [Drop]) -> String {
        let shown = drops.prefix(3).map {
            String(format: "position %d -> %d at %d nm fell %.2f dB (%.2f dBm, was %.2f dBm)",
                   $0.position, $0.receivePosition, $0.wavelengthNm, $0.dropDb, $0.newDbm, $0.previousDbm)
        }
        return shown.joined(separator: "; ") + (drops.count > 3 ? "; \(drops.count) paths in all" : "")
    }
}
