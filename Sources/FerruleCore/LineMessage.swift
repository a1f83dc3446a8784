import Foundation

/// A moment the line's systems (the MES, its dashboards) are told of as it happens rather than
/// with a unit's report: a unit started, a reference taken, an instrument's fault raised and
/// cleared, an operator signed in or out. Kept in the store's message outbox and delivered in
/// order, at least once, by the sinks that carry such messages (CFX over AMQP). `id` is the
/// message's identity at every attempt (CFX's UniqueID).
public struct LineMessage: Sendable, Codable, Hashable {
    public var id: UUID
    public var at: Date
    public var moment: Moment

    public init(id: UUID = UUID(), at: Date, _ moment: Moment) {
        self.id = id
        self.at = at
        self.moment = moment
    }

    public enum Moment: Sendable, Codable, Hashable {
        /// A unit was started, before any light.
        case workStarted(reportId: UUID, serial: String, fixture: Int)
        /// A reference was taken on a fixture's paths and kept.
        case calibrationPerformed(CalibrationDone)
        /// Something stops the station testing: an instrument stopped answering or answered
        /// wrongly (`cause` nil, as older versions stored it), or the `cause` says what else;
        /// `instrument` names what the fault is about (the instrument, the light source, the
        /// cord, the store), and `fault` ties the clearing to it.
        case faultOccurred(fault: UUID, instrument: String, detail: String, cause: FaultCause? = nil)
        /// The fault is over: the instrument answers again, the source confirmed off, the cord
        /// was replaced, the store takes writes.
        case faultCleared(fault: UUID, instrument: String)
        case operatorActivated(operatorId: String, via: String)
        case operatorDeactivated(operatorId: String, via: String)
        /// The station as a resource moved from one state to another (`old` nil: the first since start).
        case stationStateChanged(old: ResourceState?, new: ResourceState, oldDurationSeconds: Double?)
        /// A part's IL at one fiber position and wavelength is rising beyond chance (the trend
        /// alarm): the units still pass, the process is drifting.
        case qualityAlarm(partNumber: String, position: Int, wavelengthNm: Int, detail: String)
        /// A fixture fails more units than the station's others beyond chance (`FixtureYieldWatch`).
        case fixtureAlarm(fixture: Int, detail: String)
    }

    /// What kind of fault stops the station (each is said to the line as CFX says it).
    public enum FaultCause: String, Sendable, Codable, Hashable, CaseIterable {
        /// An instrument does not answer, or answers wrongly.
        case instrument
        /// A light source did not confirm off: units and references are refused until it does.
        case sourceMayBeOn
        /// A test cord reached its rated matings: its fixture refuses units until it is replaced.
        case cordWorn
        /// The results store refuses writes: units are refused until it takes them again.
        case storeRefuses
    }

    /// The station's state as the line's dashboards count time (SEMI E10, as IPC-CFX's
    /// ResourceState codes it).
    public enum ResourceState: Int, Sendable, Codable, Hashable {
        /// A unit is loading, waiting for its start or being measured on some fixture.
        case regularWork = 1100
        /// Nothing to test and nothing wrong: waiting for units.
        case noProduct = 2200
        /// A reference is being taken (and no unit is measured).
        case setup = 4500
        /// An instrument shows a fault or is unplugged, or a light source may be on, and no unit
        /// or reference runs: the station cannot test until someone acts.
        case unscheduledDowntime = 5000
    }

    /// A reference, as the line is told of it: which fixture and cord, over how many paths and
    /// wavelengths (how long it is trusted depends on each recipe, so it is not said here).
    public struct CalibrationDone: Sendable, Codable, Hashable {
        public var fixture: Int
        public var cord: String
        public var method: String
        public var paths: Int
        public var wavelengthsNm: [Int]

        public init(fixture: Int, cord: String, method: String, paths: Int, wavelengthsNm: [Int]) {
            self.fixture = fixture
            self.cord = cord
            self.method = method
            self.paths = paths
            self.wavelengthsNm = wavelengthsNm
        }
    }
}
