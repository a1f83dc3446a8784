/// Why a unit's measurement ended: one value, set where the unit stopped and read by the judge,
/// the station (instrument state, stack light) and nobody else.
public enum UnitStop: Sendable, Equatable {
    /// Every used fiber was measured at every wavelength.
    case completed
    /// Stopped on purpose (an operator's abort, a shutdown): verdict `aborted`.
    case aborted(reason: String)
    /// The fixture's lid opened and the light was switched off: verdict `aborted`.
    case interlock(fixture: Int, reason: String)
    /// An instrument failed (no reply, an error, unplugged): verdict `error`, never `fail`.
    /// `instrument` is nil for an error no instrument raised; `message` is the text reports show.
    case fault(instrument: String?, command: String?, fiber: Int?, message: String)
    /// The first `fibers` were dark at every receive position with none lit before them: the rest
    /// were not scanned (`DiagnosisRules.allDarkAfterFibers`). Verdict `fail`, diagnosed all dark.
    case allDark(fibers: Int)
    /// ferruled itself stopped during the unit (crash, power loss), found at the next start.
    case interrupted(reason: String)

    /// The fault's text, when the unit ended on one.
    public var faultMessage: String? {
        if case .fault(_, _, _, let message) = self { return message }
        return nil
    }

    /// The instrument that failed, when one did.
    public var faultInstrument: String? {
        if case .fault(let instrument, _, _, _) = self { return instrument }
        return nil
    }

    /// The fiber being measured when the fault struck, when the stop names one.
    public var faultFiber: Int? {
        if case .fault(_, _, let fiber, _) = self { return fiber }
        return nil
    }

    /// Why an aborted unit stopped (operator, shutdown or the lid), nil when it was not aborted.
    public var abortReason: String? {
        switch self {
        case .aborted(let reason), .interlock(_, let reason): return reason
        default: return nil
        }
    }
}
