import FerruleCore
import Foundation

/// What the station tells its clients as it happens.
public enum StationEvent: Sendable, Codable, Hashable {
    case unitStarted(fixture: Int, serial: String, partNumber: String, reportId: UUID)
    /// One fiber at one wavelength, as soon as it is measured.
    case step(fixture: Int, serial: String, fiber: Int, wavelengthNm: Int, receivePosition: Int?, ilDb: Double?,
              rlDb: Double?, rlBDb: Double?, verdict: MeasurementVerdict)
    /// Sent once the unit's record is committed, never before. `warnings`: a passing unit's
    /// readings in the recipe's warning band, said per kind (nil: none).
    case unitFinished(fixture: Int, serial: String, reportId: UUID, verdict: Verdict, reportPath: String, warnings: [String]? = nil)
    /// Measured, but its record could not be committed (`reason`): kept in the spill file and in
    /// memory and retried; `unitStored` and then `unitFinished` follow once it is stored. `verdict`
    /// is nil when the spill file refused it too: a verdict a stop could take back is not shown.
    case unitHeld(fixture: Int, serial: String, reportId: UUID, verdict: Verdict?, reason: String)
    /// A unit that was accepted but never measured (not loaded, prompt unanswered).
    case unitNotStarted(fixture: Int, serial: String, reason: String)
    case prompt(Prompt)
    case promptClosed(id: String, answer: String?)
    /// `applied`: what changed, in words ("recipe FT-X changed", "control.promptTimeout").
    case configReloaded(path: String, hash: String, applied: [String])
    case configRejected(path: String, reason: String)
    case referenceTaken(fixture: Int, takenAt: Date)
    case referenceNeeded(fixture: Int, reason: String)
    /// A fixture's light source did not confirm off (`detail` says why), or did again (`detail` nil).
    case sourceMayBeOn(fixture: Int, detail: String?)
    /// A cord reached its warning count or its rated matings (`state` `warning` or `limit`).
    case cordWear(cord: String, matings: Int, maxMatings: Int, state: CordState)
    case instrumentFault(instrument: String, detail: String)
    /// An unplugged instrument's port is back (hot-plug) and the driver follows it there.
    case instrumentReconnected(instrument: String, address: String)
    /// Results cannot be stored (disk full, read-only); `detail` nil: they can again.
    case storageProblem(detail: String?)
    /// A unit kept in memory while the store failed is now stored.
    case unitStored(serial: String, reportId: UUID)
    /// A fixed scanner read `text` at a fixture: `accepted` with what it did (a unit started, a part
    /// chosen), or refused with why and what to do; nothing starts on a refused scan.
    case scan(fixture: Int, scanner: String, text: String, accepted: Bool, detail: String, refusal: Refusal?)
    /// The MES's route check of a unit before any light (`mes.routeCheck`): its outcome and, for
    /// all but `allowed`, why (the MES's reason, escaped, or why it could not be asked).
    case routeChecked(fixture: Int, serial: String, outcome: RouteOutcome, detail: String?)
    /// IL on one part number's fiber position at one wavelength is rising beyond chance (a worn
    /// test cord, a dirty end face, a creeping switch channel), before units fail its limit.
    case trendAlarm(partNumber: String, position: Int, wavelengthNm: Int, detail: String)
    /// A fixture fails more of its units than the station's other fixtures beyond chance (a dirty
    /// or worn adapter, a misaligned fixture): `FixtureYieldWatch`.
    case fixtureYieldAlarm(fixture: Int, detail: String)
    /// A sink started or stopped failing, or parked a report the receiver refused.
    case delivery(sink: String, pending: Int, parked: Int, failing: String?)
}

/// A question the engine puts to whoever is at the bench ("connect the reference cord to
/// fixture 1"). Any client may answer; the engine waits with a timeout.
public struct Prompt: Sendable, Codable, Hashable {
    public var id: String
    public var fixture: Int?
    public var text: String
    public var choices: [String]
    public var expiresAt: Date

    public init(id: String, fixture: Int? = nil, text: String, choices: [String], expiresAt: Date) {
        self.id = id
        self.fixture = fixture
        self.text = text
        self.choices = choices
        self.expiresAt = expiresAt
    }
}
