import FerruleCore
import Foundation

/// What a client asks of the station: one case per request type, each with exactly its
/// parameters, checked when the line is read (a missing or malformed field is answered with an
/// error that names it, before any handler runs). On the wire the parameters sit flat beside
/// `type`, as docs/control-protocol.md documents.
public enum StationRequest: Sendable, Hashable {
    case status, subscribe, unsubscribe, recipes, prompts
    case test(UnitToTest)
    case abort(fixture: Int)
    /// No cord: every reference cord that fits the fixture, one after the other.
    case reference(fixture: Int, cord: String?)
    case cordReset(cord: String)
    case history(HistoryQuery)
    case yield(TimeWindow)
    case pareto(partNumber: String?, TimeWindow)
    /// A part number's control charts and capability over a window of its units.
    case spc(partNumber: String, TimeWindow)
    /// A lot's IL statistics and whether it meets the recipe's grade.
    case lot(partNumber: String, TimeWindow)
    case report(serial: String)
    /// Every sink's queue, or one sink's.
    case sinks(sink: String?)
    case resend(sink: String, ResendTarget)
    case answer(prompt: String, answer: String)
    case fault(FaultToInject)

    public var kind: ControlRequest.Kind {
        switch self {
        case .status: .status
        case .subscribe: .subscribe
        case .unsubscribe: .unsubscribe
        case .recipes: .recipes
        case .prompts: .prompts
        case .test: .test
        case .abort: .abort
        case .reference: .reference
        case .cordReset: .cordReset
        case .history: .history
        case .yield: .yield
        case .pareto: .pareto
        case .spc: .spc
        case .lot: .lot
        case .report: .report
        case .sinks: .sinks
        case .resend: .resend
        case .answer: .answer
        case .fault: .fault
        }
    }
}

/// `test`: the unit, and the fixture (nil: the first idle one cabled for the part).
public struct UnitToTest: Sendable, Hashable {
    public var serial: String
    public var partNumber: String
    public var fixture: Int?

    public init(serial: String, partNumber: String, fixture: Int? = nil) {
        self.serial = serial
        self.partNumber = partNumber
        self.fixture = fixture
    }
}

/// `history`: which units, newest first, one page of them.
public struct HistoryQuery: Sendable, Hashable {
    public var serial: String?
    public var partNumber: String?
    public var verdict: Verdict?
    public var window = TimeWindow()
    /// 1 to `ControlProtocol.maxHistoryPage`.
    public var limit = 50
    /// Rows to skip: the next page.
    public var offset = 0

    public init(
        serial: String? = nil, partNumber: String? = nil, verdict: Verdict? = nil, window: TimeWindow = TimeWindow(),
        limit: Int = 50, offset: Int = 0
    ) {
        self.serial = serial
        self.partNumber = partNumber
        self.verdict = verdict
        self.window = window
        self.limit = limit
        self.offset = offset
    }
}

/// `since` and `until` (ISO 8601 on the wire), each optional.
public struct TimeWindow: Sendable, Hashable {
    public var since: Date?
    public var until: Date?

    public init(since: Date? = nil, until: Date? = nil) {
        self.since = since
        self.until = until
    }
}

/// `resend`: one report (its id, or a serial: its latest finished test), or every parked one.
public enum ResendTarget: Sendable, Hashable {
    case report(String)
    case parked
}

/// `fault`: a simulated fault (its name as the simulator knows it), optionally only on lines
/// with one command and while one launch position is lit.
public struct FaultToInject: Sendable, Hashable {
    public var instrument: String
    public var fault: String
    public var command: String?
    public var fiber: Int?

    public init(instrument: String, fault: String, command: String? = nil, fiber: Int? = nil) {
        self.instrument = instrument
        self.fault = fault
        self.command = command
        self.fiber = fiber
    }
}
