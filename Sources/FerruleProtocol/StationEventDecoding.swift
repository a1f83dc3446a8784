import FerruleCore
import Foundation

/// Reading an event back from its flat wire form (clients, and the golden files in the tests).
extension StationEvent {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        func v<T: Decodable>(_ key: Key) throws -> T { try c.decode(T.self, forKey: key) }
        func o<T: Decodable>(_ key: Key) throws -> T? { try c.decodeIfPresent(T.self, forKey: key) }
        switch try c.decode(Kind.self, forKey: .kind) {
        case .unitStarted:
            self = .unitStarted(
                fixture: try v(.fixture), serial: try v(.serial), partNumber: try v(.partNumber), reportId: try v(.reportId))
        case .step:
            self = .step(
                fixture: try v(.fixture), serial: try v(.serial), fiber: try v(.fiber), wavelengthNm: try v(.wavelengthNm),
                receivePosition: try o(.receivePosition), ilDb: try o(.ilDb), rlDb: try o(.rlDb), rlBDb: try o(.rlBDb),
                verdict: try v(.verdict))
        case .unitFinished:
            self = .unitFinished(
                fixture: try v(.fixture), serial: try v(.serial), reportId: try v(.reportId), verdict: try v(.verdict),
                reportPath: try v(.reportPath), warnings: try o(.warnings))
        case .unitHeld:
            self = .unitHeld(
                fixture: try v(.fixture), serial: try v(.serial), reportId: try v(.reportId), verdict: try o(.verdict),
                reason: try v(.reason))
        case .unitNotStarted: self = .unitNotStarted(fixture: try v(.fixture), serial: try v(.serial), reason: try v(.reason))
        case .prompt: self = .prompt(try v(.prompt))
        case .promptClosed: self = .promptClosed(id: try v(.id), answer: try o(.answer))
        case .configReloaded: self = .configReloaded(path: try v(.path), hash: try v(.hash), applied: try v(.applied))
        case .configRejected: self = .configRejected(path: try v(.path), reason: try v(.reason))
        case .referenceTaken: self = .referenceTaken(fixture: try v(.fixture), takenAt: try v(.takenAt))
        case .referenceNeeded: self = .referenceNeeded(fixture: try v(.fixture), reason: try v(.reason))
        case .sourceMayBeOn: self = .sourceMayBeOn(fixture: try v(.fixture), detail: try o(.detail))
        case .cordWear: self = .cordWear(cord: try v(.cord), matings: try v(.matings), maxMatings: try v(.maxMatings), state: try v(.state))
        case .instrumentFault: self = .instrumentFault(instrument: try v(.instrument), detail: try v(.detail))
        case .instrumentReconnected: self = .instrumentReconnected(instrument: try v(.instrument), address: try v(.address))
        case .storageProblem: self = .storageProblem(detail: try o(.detail))
        case .unitStored: self = .unitStored(serial: try v(.serial), reportId: try v(.reportId))
        case .scan:
            self = .scan(
                fixture: try v(.fixture), scanner: try v(.scanner), text: try v(.text), accepted: try v(.accepted), detail: try v(.detail),
                refusal: try o(.refusal))
        case .routeChecked:
            self = .routeChecked(fixture: try v(.fixture), serial: try v(.serial), outcome: try v(.outcome), detail: try o(.detail))
        case .trendAlarm:
            self = .trendAlarm(
                partNumber: try v(.partNumber), position: try v(.position), wavelengthNm: try v(.wavelengthNm), detail: try v(.detail))
        case .fixtureYieldAlarm: self = .fixtureYieldAlarm(fixture: try v(.fixture), detail: try v(.detail))
        case .delivery: self = .delivery(sink: try v(.sink), pending: try v(.pending), parked: try v(.parked), failing: try o(.failing))
        }
    }

    /// The event's wire form: `{"kind": "<case>", ...its fields}`.
    public func wireValue() throws -> JSONValue { try JSONValue.from(self) }
}
