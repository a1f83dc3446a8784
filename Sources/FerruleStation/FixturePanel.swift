import FerruleConfig
import FerruleCore
import FerruleProtocol
import FerruleDevices
import Foundation
import Logging

/// A fixture's I/O module as a unit sees it: the part sensor, the start button and the lid
/// before anything is measured, the lid watched while measuring, the stack light after. It holds
/// no state; the module is an actor (one conversation at a time).
struct FixturePanel: Sendable {
    let fixture: Int
    let io: any FixtureIO
    let logger: Logger

    /// Before anything is measured: a part in the fixture, the start button (for units started
    /// from the socket) and the lid closed. Throws `UnitRefused` (or the module's fault).
    /// `waiting` is told when the fixture starts and stops waiting for its start button.
    func ready(
        serial: String, waitForStart: Bool, timeout: Duration, waiting: @Sendable (Bool) async -> Void
    ) async throws {
        let id = fixture
        guard try await io.partPresent() else {
            throw UnitRefused(
                message: "the part sensor of fixture \(id) sees no unit",
                fix: "load \(Escaped.text(serial)) into fixture \(id) and start again", Refusal(.noUnitSensed, fixture: id))
        }
        if waitForStart && io.hasStartButton {
            await waiting(true)
            let deadline = ContinuousClock.now + timeout
            while try await !io.startPressed() {
                guard ContinuousClock.now < deadline else {
                    throw UnitRefused(
                        message: "the start button of fixture \(id) was not pressed within \(timeout.components.seconds) s",
                        fix: "start the unit again and press the fixture's start button")
                }
                try await Task.sleep(for: .milliseconds(50))  // polling the module: its inputs have no events
            }
            await waiting(false)
        }
        guard try await io.lidClosed() else {
            throw UnitRefused(
                message: "the lid of fixture \(id) is open", fix: "close the lid and start the unit again", Refusal(.lidOpen, fixture: id))
        }
    }

    /// Measures while watching the lid: if it opens, the unit stops (aborted, source off); if the
    /// I/O module stops answering, the unit ends `error` naming it.
    func measureWatchingLid(_ run: UnitRun) async -> UnitRun.Result {
        enum Child: Sendable {
            case measured(UnitRun.Result)
            case lidOpened
            case ioFault(InstrumentError)
            case stopped
        }
        let (measured, trip) = await withTaskGroup(of: Child.self) { g -> (UnitRun.Result?, Child?) in
            g.addTask { .measured(await run.measure()) }
            g.addTask { [io] in
                while !Task.isCancelled {
                    do {
                        if try await !io.lidClosed() { return .lidOpened }
                    } catch let e as InstrumentError {
                        return .ioFault(e)
                    } catch { return .stopped }
                    try? await Task.sleep(for: .milliseconds(50))  // polling the module: its inputs have no events
                }
                return .stopped
            }
            var measured: UnitRun.Result?
            var trip: Child?
            while let c = await g.next() {
                switch c {
                case .measured(let r): measured = r
                case .lidOpened, .ioFault: if measured == nil && trip == nil { trip = c }
                case .stopped: break
                }
                g.cancelAll()
            }
            return (measured, trip)
        }
        var result = measured!
        switch trip {
        case .lidOpened where result.stop.faultMessage == nil:
            result.stop = .interlock(
                fixture: fixture, reason: "the lid of fixture \(fixture) was opened during the unit; the light source was switched off")
            logger.warning("lid of fixture \(fixture) opened during a unit: stopped safely")
        case .ioFault(let e) where result.stop.faultMessage == nil:
            result.stop = .fault(instrument: e.instrument, command: e.operation, fiber: nil, message: e.description)
        default: break
        }
        return result
    }

    /// Best effort: a stack light that does not answer must not change a verdict.
    func setStackLight(_ light: StackLight) async {
        do { try await io.setStackLight(light) } catch { logger.warning("stack light: \(error)") }
    }
}
