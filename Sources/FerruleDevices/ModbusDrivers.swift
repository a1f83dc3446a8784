import FerruleCore
import Foundation

/// Where a Modbus optical switch keeps its state. Every vendor's map differs, so it comes from
/// the config (`registers:`): the channel is written to a holding register (0 parks); the
/// switch's actual position is read back from `position` (0 while moving); an optional `busy`
/// signal is polled until it drops.
public struct ModbusSwitchMap: Sendable, Hashable, Codable {
    public var channel: ModbusPoint
    public var position: ModbusPoint?
    public var busy: ModbusPoint?

    public init(
        channel: ModbusPoint = ModbusPoint(.hr, 0), position: ModbusPoint? = ModbusPoint(.ir, 0),
        busy: ModbusPoint? = ModbusPoint(.ir, 1, bit: 0)
    ) {
        self.channel = channel
        self.position = position
        self.busy = busy
    }
}

/// The signals of a fixture's I/O module (`io:` in the config). `lidClosed` is the safety
/// interlock and is required; the others are optional.
public struct ModbusIOMap: Sendable, Hashable, Codable {
    public var lidClosed: ModbusPoint
    public var partPresent: ModbusPoint?
    public var startButton: ModbusPoint?
    public var red: ModbusPoint?
    public var amber: ModbusPoint?
    public var green: ModbusPoint?

    public init(
        lidClosed: ModbusPoint = ModbusPoint(.di, 0), partPresent: ModbusPoint? = ModbusPoint(.di, 1),
        startButton: ModbusPoint? = ModbusPoint(.di, 2), red: ModbusPoint? = ModbusPoint(.coil, 0),
        amber: ModbusPoint? = ModbusPoint(.coil, 1), green: ModbusPoint? = ModbusPoint(.coil, 2)
    ) {
        self.lidClosed = lidClosed
        self.partPresent = partPresent
        self.startButton = startButton
        self.red = red
        self.amber = amber
        self.green = green
    }
}

/// A 1xN optical switch driven over Modbus RTU or TCP through a register map.
///
/// Exchanges per move: 1 (write the channel register, function 06) and per poll one read each of
/// the busy flag and the position register the map names (they may sit in different tables).
/// None when the switch is already on that channel.
public actor ModbusSwitch: OpticalSwitch {
    public nonisolated let name: String
    public nonisolated let channelCount: Int
    public nonisolated let map: ModbusSwitchMap
    let link: ModbusLink
    let conversation = Conversation()
    public var pollInterval: Duration = .milliseconds(5)
    public var maxPolls = 600
    private var current: Int?

    public init(name: String, link: ModbusLink, channelCount: Int, map: ModbusSwitchMap) {
        self.name = name
        self.link = link
        self.channelCount = channelCount
        self.map = map
    }

    public func identify() async throws -> InstrumentIdentity { try await conversation.run { try await self.locked_identify() } }
    private func locked_identify() async throws -> InstrumentIdentity {
        // Modbus has no *IDN?: reading the channel register proves the unit answers with this map.
        let at = try await link.readWord(map.channel)
        return InstrumentIdentity(
            manufacturer: "Modbus", model: "1x\(channelCount) switch (unit \(link.unitId))",
            serial: "\(link.address)", firmware: "channel register \(map.channel) = \(at)")
    }

    public func select(channel: Int) async throws { try await conversation.run { try await self.locked_select(channel) } }
    private func locked_select(_ channel: Int) async throws {
        guard (1...channelCount).contains(channel) else {
            throw InstrumentError(instrument: name, operation: "select \(channel)", detail: "channel out of range 1...\(channelCount)")
        }
        if current == channel { return }
        current = nil
        try await link.writeRegister(address: map.channel.address, value: UInt16(channel))
        try await waitSettled(channel)
        current = channel
    }

    private func waitSettled(_ channel: Int) async throws {
        var polls = 0
        while true {
            var busy = false
            var at: Int?
            if let b = map.busy { busy = try await link.read(b) }
            if let p = map.position { at = Int(try await link.readWord(p)) }
            if !busy, at == nil || at == channel { return }
            if !busy, let at, at != 0 {
                throw InstrumentError(
                    instrument: name, operation: "select \(channel)",
                    detail: "switch reports channel \(at) (register \(map.position!)) after switching")
            }
            polls += 1
            if polls >= maxPolls {
                throw InstrumentError(
                    instrument: name, operation: "select \(channel)",
                    detail: "still switching after \(maxPolls) polls "
                        + "(busy \(map.busy.map { "\($0)" } ?? "-"), position \(at.map(String.init) ?? "-"))"
                )
            }
            try await Task.sleep(for: pollInterval)
        }
    }

    /// Writes 0 to the channel register: the common port goes dark (the safe state).
    public func park() async throws { try await conversation.run { try await self.locked_park() } }
    private func locked_park() async throws {
        current = nil
        try await link.writeRegister(address: map.channel.address, value: 0)
    }
}

/// A fixture's I/O module (interlock, part sensor, start button, stack light) over Modbus.
///
/// Exchanges: each input read is 1 request; a stack light is one write per lamp the map names.
public actor ModbusFixtureIO: FixtureIO {
    public nonisolated let name: String
    public nonisolated let map: ModbusIOMap
    let link: ModbusLink

    public init(name: String, link: ModbusLink, map: ModbusIOMap) {
        self.name = name
        self.link = link
        self.map = map
    }

    public func identify() async throws -> InstrumentIdentity {
        _ = try await link.read(map.lidClosed)  // answers with this map
        return InstrumentIdentity(
            manufacturer: "Modbus", model: "fixture I/O (unit \(link.unitId))",
            serial: "\(link.address)", firmware: "n/a")
    }

    public nonisolated var hasStartButton: Bool { map.startButton != nil }
    public func lidClosed() async throws -> Bool { try await link.read(map.lidClosed) }
    /// Without a part sensor the part counts as present; without a start button it is never pressed.
    public func partPresent() async throws -> Bool {
        guard let p = map.partPresent else { return true }
        return try await link.read(p)
    }
    public func startPressed() async throws -> Bool {
        guard let p = map.startButton else { return false }
        return try await link.read(p)
    }

    public func setStackLight(_ light: StackLight) async throws {
        // Lamps off before the new one goes on: never two colours at once.
        let lamps: [(StackLight, ModbusPoint?)] = [(.red, map.red), (.amber, map.amber), (.green, map.green)]
        for (l, p) in lamps where l != light { if let p { try await link.write(p, false) } }
        if let p = lamps.first(where: { $0.0 == light })?.1 { try await link.write(p, true) }
    }
}
