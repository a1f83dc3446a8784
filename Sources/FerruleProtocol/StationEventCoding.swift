import FerruleCore
import Foundation

/// An event on the wire is one flat object, `{"kind": "<case>", ...its fields}`, with the field
/// names docs/control-protocol.md gives; written out here so that renaming a case's label in the
/// code cannot change what clients read.
extension StationEvent {
    enum Key: String, CodingKey {
        case kind, fixture, serial, partNumber, reportId, fiber, wavelengthNm, receivePosition, ilDb, rlDb, rlBDb, verdict
        case reportPath, reason, prompt, id, answer, path, hash, applied, takenAt, detail, cord, matings, maxMatings, state
        case instrument, address, scanner, text, accepted, refusal, outcome, sink, pending, parked, failing, warnings, position
    }

    /// The case names, as `kind` carries them.
    enum Kind: String, Codable, CaseIterable {
        case unitStarted, step, unitFinished, unitHeld, unitNotStarted, prompt, promptClosed, configReloaded, configRejected
        case referenceTaken, referenceNeeded, sourceMayBeOn, cordWear, instrumentFault, instrumentReconnected, storageProblem
        case unitStored, scan, routeChecked, delivery, trendAlarm, fixtureYieldAlarm
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        switch self {
        case .unitStarted(let fixture, let serial, let partNumber, let reportId):
            try c.encode(Kind.unitStarted, forKey: .kind)
            try c.encode(fixture, forKey: .fixture)
            try c.encode(serial, forKey: .serial)
            try c.encode(partNumber, forKey: .partNumber)
            try c.encode(reportId, forKey: .reportId)
        case .step(let fixture, let serial, let fiber, let wavelengthNm, let receivePosition, let ilDb, let rlDb, let rlBDb, let verdict):
            try c.encode(Kind.step, forKey: .kind)
            try c.encode(fixture, forKey: .fixture)
            try c.encode(serial, forKey: .serial)
            try c.encode(fiber, forKey: .fiber)
            try c.encode(wavelengthNm, forKey: .wavelengthNm)
            try c.encodeIfPresent(receivePosition, forKey: .receivePosition)
            try c.encodeIfPresent(ilDb, forKey: .ilDb)
            try c.encodeIfPresent(rlDb, forKey: .rlDb)
            try c.encodeIfPresent(rlBDb, forKey: .rlBDb)
            try c.encode(verdict, forKey: .verdict)
        case .unitFinished(let fixture, let serial, let reportId, let verdict, let reportPath, let warnings):
            try c.encode(Kind.unitFinished, forKey: .kind)
            try c.encode(fixture, forKey: .fixture)
            try c.encode(serial, forKey: .serial)
            try c.encode(reportId, forKey: .reportId)
            try c.encode(verdict, forKey: .verdict)
            try c.encode(reportPath, forKey: .reportPath)
            try c.encodeIfPresent(warnings, forKey: .warnings)
        case .unitHeld(let fixture, let serial, let reportId, let verdict, let reason):
            try c.encode(Kind.unitHeld, forKey: .kind)
            try c.encode(fixture, forKey: .fixture)
            try c.encode(serial, forKey: .serial)
            try c.encode(reportId, forKey: .reportId)
            try c.encodeIfPresent(verdict, forKey: .verdict)
            try c.encode(reason, forKey: .reason)
        case .unitNotStarted(let fixture, let serial, let reason):
            try c.encode(Kind.unitNotStarted, forKey: .kind)
            try c.encode(fixture, forKey: .fixture)
            try c.encode(serial, forKey: .serial)
            try c.encode(reason, forKey: .reason)
        default:
            try encodeOthers(&c)
        }
    }

    /// The events beside a unit's own.
    private func encodeOthers(_ c: inout KeyedEncodingContainer<Key>) throws {
        switch self {
        case .prompt(let prompt):
            try c.encode(Kind.prompt, forKey: .kind)
            try c.encode(prompt, forKey: .prompt)
        case .promptClosed(let id, let answer):
            try c.encode(Kind.promptClosed, forKey: .kind)
            try c.encode(id, forKey: .id)
            try c.encodeIfPresent(answer, forKey: .answer)
        case .configReloaded(let path, let hash, let applied):
            try c.encode(Kind.configReloaded, forKey: .kind)
            try c.encode(path, forKey: .path)
            try c.encode(hash, forKey: .hash)
            try c.encode(applied, forKey: .applied)
        case .configRejected(let path, let reason):
            try c.encode(Kind.configRejected, forKey: .kind)
            try c.encode(path, forKey: .path)
            try c.encode(reason, forKey: .reason)
        case .referenceTaken(let fixture, let takenAt):
            try c.encode(Kind.referenceTaken, forKey: .kind)
            try c.encode(fixture, forKey: .fixture)
            try c.encode(takenAt, forKey: .takenAt)
        case .referenceNeeded(let fixture, let reason):
            try c.encode(Kind.referenceNeeded, forKey: .kind)
            try c.encode(fixture, forKey: .fixture)
            try c.encode(reason, forKey: .reason)
        case .sourceMayBeOn(let fixture, let detail):
            try c.encode(Kind.sourceMayBeOn, forKey: .kind)
            try c.encode(fixture, forKey: .fixture)
            try c.encodeIfPresent(detail, forKey: .detail)
        case .cordWear(let cord, let matings, let maxMatings, let state):
            try c.encode(Kind.cordWear, forKey: .kind)
            try c.encode(cord, forKey: .cord)
            try c.encode(matings, forKey: .matings)
            try c.encode(maxMatings, forKey: .maxMatings)
            try c.encode(state, forKey: .state)
        default:
            try encodeFaultsAndDelivery(&c)
        }
    }

    private func encodeFaultsAndDelivery(_ c: inout KeyedEncodingContainer<Key>) throws {
        switch self {
        case .instrumentFault(let instrument, let detail):
            try c.encode(Kind.instrumentFault, forKey: .kind)
            try c.encode(instrument, forKey: .instrument)
            try c.encode(detail, forKey: .detail)
        case .instrumentReconnected(let instrument, let address):
            try c.encode(Kind.instrumentReconnected, forKey: .kind)
            try c.encode(instrument, forKey: .instrument)
            try c.encode(address, forKey: .address)
        case .storageProblem(let detail):
            try c.encode(Kind.storageProblem, forKey: .kind)
            try c.encodeIfPresent(detail, forKey: .detail)
        case .unitStored(let serial, let reportId):
            try c.encode(Kind.unitStored, forKey: .kind)
            try c.encode(serial, forKey: .serial)
            try c.encode(reportId, forKey: .reportId)
        case .scan(let fixture, let scanner, let text, let accepted, let detail, let refusal):
            try c.encode(Kind.scan, forKey: .kind)
            try c.encode(fixture, forKey: .fixture)
            try c.encode(scanner, forKey: .scanner)
            try c.encode(text, forKey: .text)
            try c.encode(accepted, forKey: .accepted)
            try c.encode(detail, forKey: .detail)
            try c.encodeIfPresent(refusal, forKey: .refusal)
        case .routeChecked(let fixture, let serial, let outcome, let detail):
            try c.encode(Kind.routeChecked, forKey: .kind)
            try c.encode(fixture, forKey: .fixture)
            try c.encode(serial, forKey: .serial)
            try c.encode(outcome, forKey: .outcome)
            try c.encodeIfPresent(detail, forKey: .detail)
        case .trendAlarm(let partNumber, let position, let wavelengthNm, let detail):
            try c.encode(Kind.trendAlarm, forKey: .kind)
            try c.encode(partNumber, forKey: .partNumber)
            try c.encode(position, forKey: .position)
            try c.encode(wavelengthNm, forKey: .wavelengthNm)
            try c.encode(detail, forKey: .detail)
        case .fixtureYieldAlarm(let fixture, let detail):
            try c.encode(Kind.fixtureYieldAlarm, forKey: .kind)
            try c.encode(fixture, forKey: .fixture)
            try c.encode(detail, forKey: .detail)
        case .delivery(let sink, let pending, let parked, let failing):
            try c.encode(Kind.delivery, forKey: .kind)
            try c.encode(sink, forKey: .sink)
            try c.encode(pending, forKey: .pending)
            try c.encode(parked, forKey: .parked)
            try c.encodeIfPresent(failing, forKey: .failing)
        default:
            throw EncodingError.invalidValue(self, .init(codingPath: [], debugDescription: "an event with no wire form"))
        }
    }
}
