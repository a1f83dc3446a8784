/// Why the station refused something, in terms each client words for itself (the web app in the
/// operator's language, `ferrulectl` as a command line), and the action that would fix it.
///
/// The English `message` and `fix` of the error travel beside it for any client that does not
/// know a reason; `Refusal` is what lets a screen say it in its own words and offer the fix as
/// a button instead of a command.
public struct Refusal: Codable, Sendable, Hashable {
    public enum Reason: String, Codable, Sendable, CaseIterable {
        /// The fixture has no reference at all (the first unit of a shift).
        case noReference
        /// Its references do not cover the part's paths: expired, suspect, or another cord's.
        case referenceNotValid
        /// A test or reference cord reached its rated matings.
        case cordWorn
        /// Results cannot be stored (disk full, read-only), or the disk is nearly full.
        case storage
        case fixtureBusy
        /// The scanned unit is already being tested on another fixture (`fixture`).
        case alreadyRunning
        /// The fixture is not cabled for the part's fiber count.
        case notCabled
        case lidOpen
        case noUnitSensed
        case shuttingDown
        case unknownPart
        case emptySerial
        case instrumentMissing
        case sourceMayBeOn
        /// An instrument of the fixture is past its calibration and `station.calibration` is `refuse`.
        case calibrationOverdue
        /// The MES refused the serial (on hold, not routed here): its reason is in the message.
        case routeRefused
        /// The MES could not be asked and `mes.routeCheck.onUnavailable` is `refuse`.
        case routeUnavailable
        /// Anything else: the error's message and fix say it.
        case other
    }

    public var reason: Reason
    public var fixture: Int?
    /// The cord the reason is about (the reference cord to connect, the worn cord).
    public var cord: String?
    /// The cord's polarity type, for saying which kind of cord it is ("A", "B", "C").
    public var polarity: String?
    public var partNumber: String?
    public var remedy: Remedy?

    public init(
        _ reason: Reason, fixture: Int? = nil, cord: String? = nil, polarity: String? = nil, partNumber: String? = nil,
        remedy: Remedy? = nil
    ) {
        self.reason = reason
        self.fixture = fixture
        self.cord = cord
        self.polarity = polarity
        self.partNumber = partNumber
        self.remedy = remedy
    }
}

/// An action that fixes a refusal, which a client offers as it can: a button on the web screen
/// (for a role allowed to take it), a command line in `ferrulectl`.
public struct Remedy: Codable, Sendable, Hashable {
    public enum Action: String, Codable, Sendable {
        /// Connect `cord` to `fixture` and take a reference: an operator's start-of-shift task.
        case takeReference
        /// Reset `cord`'s mating count after replacing or cleaning it: a supervisor's.
        case resetCord
    }

    public var action: Action
    public var fixture: Int?
    public var cord: String

    public init(_ action: Action, fixture: Int? = nil, cord: String) {
        self.action = action
        self.fixture = fixture
        self.cord = cord
    }

    /// The same action as a `ferrulectl` command line.
    public var commandLine: String {
        switch action {
        case .takeReference: "ferrulectl reference --fixture \(fixture ?? 1) --cord \(cord)"
        case .resetCord: "ferrulectl cord reset \(cord)"
        }
    }
}
