/// What the station asks the MES before any light enters a unit: may this serial be tested here,
/// now? (An MES "check-in", IPC-CFX `ValidateUnitsRequest`.)
public struct RouteQuery: Sendable, Hashable, Codable {
    public var serial: String
    public var partNumber: String
    public var station: String
    public var fixture: Int
    public var `operator`: String

    public init(serial: String, partNumber: String, station: String, fixture: Int, operator: String) {
        self.serial = serial
        self.partNumber = partNumber
        self.station = station
        self.fixture = fixture
        self.operator = `operator`
    }
}

/// The MES's answer, or why there was none.
public enum RouteDecision: Sendable, Hashable {
    case allowed
    /// The MES said no (on hold, not routed here, already shipped), with its reason.
    case refused(reason: String)
    /// No answer that means anything: a timeout, an unreachable MES, an answer that is not one.
    case unavailable(why: String)
}

/// A route check: answers every query, never throws (what went wrong is `unavailable`).
public protocol RouteCheck: Sendable {
    /// Where the checks go, for messages ("the MES at https://...").
    var destination: String { get }
    func check(_ query: RouteQuery) async -> RouteDecision
    func shutdown() async
}

/// What a unit does when the MES cannot be asked (`mes.routeCheck.onUnavailable`).
public enum RouteUnavailablePolicy: String, Sendable, Hashable, CaseIterable {
    /// The unit is refused until the MES answers.
    case refuse
    /// The unit runs, and its report says the route was not checked.
    case allow
}

/// What came of a unit's route check, as events and metrics count it.
public enum RouteOutcome: String, Sendable, Hashable, Codable, CaseIterable {
    case allowed, refused
    /// The MES could not be asked and the unit was refused (`onUnavailable: refuse`).
    case unavailableRefused
    /// The MES could not be asked and the unit ran (`onUnavailable: allow`).
    case notChecked
}
