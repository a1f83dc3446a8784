import FerruleCore
import Foundation

/// Keysight N7744C (4 ports) / N7745C (8 ports) multi-port optical power meter, after Keysight's
/// N774xC Series Multiport Power Meter Programming Guide: SCPI like the 816x's power meters with
/// the port as the index (`:SENSe<n>:POWer:UNIT`, `:SENSe<n>:POWer:ATIMe`, `:INITiate<n>:CONTinuous`),
/// `:SENSe1:POWer:WAVelength:ALL` for every port's wavelength and `:FETCh:POWer:ALL:CSV?` for every
/// port's latest value in one reply (watts, comma separated).
///
/// Every port measures all the time (`:INITiate<n>:CONTinuous 1`, sent at connect); a reading waits
/// one averaging time, so that the value fetched was integrated after the light changed, then
/// fetches all ports. A fixture names the meter as its receive "switch" and its power meter: a
/// receive position is a port, and choosing one sends nothing (`select`), so that a polarity search
/// or an all-dark unit reads every candidate in one exchange (the engine asks `readAll`).
///
/// Readings: like the 816x's, a dark port reads its detector's noise (tiny or negative watts):
/// below `noLightFloorDbm` (default -80) it is no light; +9.91E37 / +9.9E37 are over range, -9.9E37
/// no light. Exchanges: a reading 1 (the wavelength joined to it when it changes).
public actor KeysightN774x: MultiPortMeter, OpticalSwitch {
    public nonisolated let name: String
    public nonisolated let portCount: Int
    public nonisolated var channelCount: Int { portCount }
    public nonisolated let session: SCPISession
    public nonisolated let conversation = Conversation()
    public let noLightFloorDbm: Double
    public let averagingTime: Duration
    private var wavelength = SentSetting<Int>()
    /// The port `readPower` answers for (a receive position chosen by `select`).
    private var port = 1

    public init(name: String, address: InstrumentAddress, ports: Int, averagingTime: Double = 0.1, noLightFloorDbm: Double? = nil,
                timeout: Duration = .seconds(3)) {
        self.name = name
        self.portCount = ports
        self.noLightFloorDbm = noLightFloorDbm ?? -80
        self.averagingTime = .milliseconds(Int64(averagingTime * 1000))
        session = SCPISession(name: name, address: address, timeout: timeout)
        session.setup = (1...max(ports, 1)).flatMap {
            [":SENS\($0):POW:UNIT 1", ":SENS\($0):POW:ATIM \(averagingTime)S", ":INIT\($0):CONT 1"]
        }
    }

    public func identify() async throws -> InstrumentIdentity {
        try await conversation.run {
            let id = try await self.session.identify()
            guard id.model.uppercased().contains("N774") else { return id }
            // N7744C has 4 ports, N7745C 8: the config may not ask for more than the model has.
            let has = id.model.uppercased().contains("N7744") ? 4 : 8
            if self.portCount > has {
                throw InstrumentError(instrument: self.name, operation: "*IDN?",
                                      detail: "\(id.model) has \(has) ports, the config says \(self.portCount)")
            }
            return id
        }
    }

    /// Chooses the port `readPower` reads: nothing is sent, nothing moves.
    public func select(channel: Int) async throws {
        guard (1...portCount).contains(channel) else {
            throw InstrumentError(instrument: name, operation: "port \(channel)", detail: "port out of range 1...\(portCount)")
        }
        port = channel
    }

    public func park() async throws {}

    public func readPower(wavelengthNm: Int) async throws -> PowerReading {
        let all = try await readAll(wavelengthNm: wavelengthNm)
        return all[port - 1]
    }

    public func readAll(wavelengthNm: Int) async throws -> [PowerReading] {
        try await conversation.run { try await self.locked_readAll(wavelengthNm) }
    }

    private func locked_readAll(_ wl: Int) async throws -> [PowerReading] {
        var q = ":FETC:POW:ALL:CSV?"
        if !wavelength.holds(wl, on: session) {
            wavelength.forget()
            q = ":SENS1:POW:WAV:ALL \(wl)NM;" + q
        }
        try await Task.sleep(for: averagingTime)  // a value integrated after the light came
        let reply = try await session.query(q)
        wavelength.record(wl, on: session)
        let fields = reply.split(separator: ",").map(String.init)
        guard fields.count >= portCount else {
            throw InstrumentError(instrument: name, operation: q, detail: "reply has \(fields.count) values for \(portCount) ports")
        }
        return try fields.prefix(portCount).map { f in
            guard let r = SCPI.wattsReading(f, noLightFloorDbm: noLightFloorDbm) else {
                throw InstrumentError(instrument: name, operation: q, detail: "value \"\(f.prefix(24))\" is not a number")
            }
            return r
        }
    }
}

extension KeysightN774x: SCPIBacked, Replugging {}

extension KeysightN774x: RegisteredDriver {
    public static let driverName = "keysight-n774x"
    public static let summary = "Keysight N7744C/N7745C multi-port power meter (SCPI): every receive position read at once"
    public static let bus = DriverBus.scpi
}
