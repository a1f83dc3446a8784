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
