import FerruleCore
import FerruleDevices

/// A fixture asked for a position it is not cabled for. The config check keeps recipes within
/// their fixtures' cabling, so this means a config reloaded under a running unit or a bug: the
/// unit or reference ends as an error naming the position, and the daemon goes on.
struct UncabledPosition: Error, CustomStringConvertible {
    enum Side: String { case launch, receive }
    let fixture: Int
    let side: Side
    let position: Int

    var description: String {
        "fixture \(fixture) has no \(side.rawValue) channel for position \(position); "
            + "check the fixture's \(side.rawValue)Channels in the config against the recipe's fiber count"
    }
}

extension FixtureWiring {
    /// The launch switch channel that feeds end-A position `position`.
    func launchChannel(_ position: Int) throws(UncabledPosition) -> Int {
        guard let c = launchChannels[position] else { throw UncabledPosition(fixture: id, side: .launch, position: position) }
        return c
    }

    /// The receive switch channel that receive position `position` lands on.
    func receiveChannel(_ position: Int) throws(UncabledPosition) -> Int {
        guard let c = receiveChannels[position] else { throw UncabledPosition(fixture: id, side: .receive, position: position) }
        return c
    }

    /// The instrument path from end-A position `launch` to receive position `receive`.
    func path(_ launch: Int, _ receive: Int) throws(UncabledPosition) -> InstrumentPath {
        InstrumentPath(launchChannel: try launchChannel(launch), receiveChannel: try receiveChannel(receive))
    }
}
