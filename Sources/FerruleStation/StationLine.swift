import FerruleCore
import Foundation

extension Station {
    /// An operator signed in here (`via`: the web app, a badge at a fixture): the line is told
    /// (CFX OperatorActivated), so its dashboards know who is responsible for the station.
    public func operatorActivated(_ operatorId: String, via: String, at: Date? = nil) async {
        await delivery.post(LineMessage(at: at ?? now(), .operatorActivated(operatorId: operatorId, via: via)), logger: logger)
    }

    /// The operator signed out, or was signed out when idle (`at`: when; CFX OperatorDeactivated).
    public func operatorDeactivated(_ operatorId: String, via: String, at: Date? = nil) async {
        await delivery.post(LineMessage(at: at ?? now(), .operatorDeactivated(operatorId: operatorId, via: via)), logger: logger)
    }
}

extension Station {
    /// The station's state for the line: working while a unit holds a fixture, setting up while
    /// a reference runs, down while a fault stops it (an instrument's, a source that may be on, a
    /// worn cord, a store that refuses writes), else waiting for units.
    var currentResourceState: LineMessage.ResourceState {
        if busy.values.contains(where: { if case .unit = $0 { true } else { false } }) { return .regularWork }
        if busy.values.contains(.reference) { return .setup }
        return faulted ? .unscheduledDowntime : .noProduct
    }

    /// Tells the line when the state changed (CFX StationStateChanged), with how long the old one lasted.
    func noteResourceState() {
        let new = currentResourceState
        guard new != resourceState?.state else { return }
        let at = now()
        let old = resourceState
        resourceState = (new, at)
        let lasted = old.map { at.timeIntervalSince($0.since) }
        let change = LineMessage.Moment.stationStateChanged(old: old?.state, new: new, oldDurationSeconds: lasted)
        delivery.postInOrder(LineMessage(at: at, change), logger: logger)
    }

    func faultsChanged(_ any: Bool) {
        faulted = any
        noteResourceState()
    }
}
