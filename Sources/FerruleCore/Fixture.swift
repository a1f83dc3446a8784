/// How one fixture is cabled: which launch-switch channel feeds each end-A position, which
/// receive-switch channel each end-B position (or fan-out leg) lands on, and which instruments
/// serve it. Several fixtures may share switches (different channel ranges) and meters.
public struct FixtureWiring: Sendable, Hashable, Codable {
    public var id: Int
    public var launchSwitch: String
    /// End-A position -> launch switch channel.
    public var launchChannels: [Int: Int]
    public var receiveSwitch: String
    /// Receive position (end-B position or leg) -> receive switch channel.
    public var receiveChannels: [Int: Int]
    public var source: String
    public var powerMeter: String
    public var rlMeter: String?
    /// The fixture's I/O module (lid interlock, part sensor, start button, stack light), if any.
    public var io: String?
    /// The launch and receive test cords that mate with every unit, if they are tracked.
    public var testCords: TestCords
    /// An instrument that measures the fixture's paths itself (the MAP-300 PCT): then the
    /// channels are its own switches' (SW1 launch, SW2 receive) and it is also the fixture's
    /// switches, source and meter.
    public var sequencer: String?
    /// The sequencer's source output (the PCT's J1 or J2); nil: 1.
    public var launchPort: Int?

    public init(id: Int, launchSwitch: String, launchChannels: [Int: Int], receiveSwitch: String,
                receiveChannels: [Int: Int], source: String, powerMeter: String, rlMeter: String?, io: String? = nil,
                testCords: TestCords = TestCords()) {
        self.id = id
        self.launchSwitch = launchSwitch
        self.launchChannels = launchChannels
        self.receiveSwitch = receiveSwitch
        self.receiveChannels = receiveChannels
        self.source = source
        self.powerMeter = powerMeter
        self.rlMeter = rlMeter
        self.io = io
        self.testCords = testCords
    }

    /// A fixture served by one self-sequencing instrument: the switches, source and meter are it.
    public static func sequenced(
        id: Int, instrument: String, launchPort: Int, launchChannels: [Int: Int], receiveChannels: [Int: Int], io: String? = nil,
        testCords: TestCords = TestCords()
    ) -> FixtureWiring {
        var w = FixtureWiring(
            id: id, launchSwitch: instrument, launchChannels: launchChannels, receiveSwitch: instrument,
            receiveChannels: receiveChannels, source: instrument, powerMeter: instrument, rlMeter: nil, io: io, testCords: testCords)
        w.sequencer = instrument
        w.launchPort = launchPort
        return w
    }

    /// The largest launch position the fixture is cabled for.
    public var launchCapacity: Int { launchChannels.keys.max() ?? 0 }
    public var receiveCapacity: Int { receiveChannels.keys.max() ?? 0 }

    /// Every instrument a measuring step on this fixture touches (held together while it measures).
    public var instruments: Set<String> {
        var s: Set<String> = [launchSwitch, receiveSwitch, source, powerMeter]
        if let rlMeter { s.insert(rlMeter) }
        return s
    }

    /// The (launch, receive) pairs of `map` this fixture is cabled for.
    public func cabled(_ map: PolarityMap) -> [Int: Int] {
        map.pairs.filter { launchChannels[$0.key] != nil && receiveChannels[$0.value] != nil }
    }

    /// Whether this fixture can test the recipe's assembly; the reason if not.
    public func cannotTest(_ spec: AssemblySpec) -> String? {
        if let p = spec.layout.usedPositions.first(where: { launchChannels[$0] == nil }) {
            return "fixture \(id) has no launch channel for end-A position \(p)"
        }
        if let q = spec.receivePositions.first(where: { receiveChannels[$0] == nil }) {
            return "fixture \(id) has no receive channel for receive position \(q)"
        }
        return nil
    }
}
