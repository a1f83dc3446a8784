import FerruleCore
import FerruleDevices
import FerruleSimSpec
import Foundation

/// The instrument models the wire-level simulator speaks, by driver name.
public enum WireModel: String, Sendable, Codable, CaseIterable {
    case santecRL1 = "santec-rl1"
    case santecOSX = "santec-osx"
    case keysight816x = "keysight-816x"
    case diconMEMS = "dicon-mems"
    case modbusSwitch = "modbus-switch"
    case modbusIO = "modbus-io"
    case barcodeSerial = "barcode-serial"
    /// A MAP-300 chassis with a PCT module: two ports, the chassis's and the PCT application's.
    case viaviPCT = "viavi-map-pct"
    /// A Keysight N7744C/N7745C multi-port power meter (`channels` ports).
    case keysightN774x = "keysight-n774x"

    public var isModbus: Bool { self == .modbusSwitch || self == .modbusIO }
}

/// What a simulated Modbus device is.
public enum ModbusSimKind: Sendable, Hashable {
    /// A 1xN optical switch with the given register map.
    case opticalSwitch(ModbusSwitchMap, channels: Int)
    /// The I/O module of a fixture: its inputs come from the bench, its stack light goes to it.
    case fixtureIO(ModbusIOMap, fixture: Int)
}

/// One instrument simulated on the wire: its model, transport, channels and any fault.
public struct WireInstrument: Sendable, Hashable {
    public var name: String
    public var model: WireModel
    public var transport: WireTransport
    public var channels: Int
    public var wavelengthsNm: [Int]
    public var fault: WireFault
    public var faultScope = FaultScope()
    /// For the Keysight model: where its laser and power meter modules sit.
    public var keysight = KeysightSimSlots()
    /// For Modbus models: the unit id and register map served.
    public var modbus: ModbusSimKind?
    public var unitId: Int

    public init(
        name: String, model: WireModel, transport: WireTransport, channels: Int = 0, wavelengthsNm: [Int] = [], fault: WireFault = .none,
        modbus: ModbusSimKind? = nil, unitId: Int = 1
    ) {
        self.name = name
        self.modbus = modbus
        self.unitId = unitId
        self.model = model
        self.transport = transport
        self.channels = channels
        self.wavelengthsNm = wavelengthsNm
        self.fault = fault
    }
}

/// A whole simulated bench on the wire: one optical model, each instrument served on its own
/// endpoint (TCP port or pty), faults injectable per instrument at run time.
public final class WireBench: Sendable {
    public let bench: SimulatedBench
    public let servers: [String: WireServer]
    public let modbusServers: [String: ModbusWireServer]
    public let scanners: [String: SimulatedScanner]

    /// The chassis of each simulated MAP-300, whose PCT module is in `servers` under the same name.
    public let chassisServers: [String: WireServer]

    public var endpoints: [Endpoint] {
        let plain = servers.values.map { s -> Endpoint in
            guard let chassis = chassisServers[s.endpoint.name] else { return s.endpoint }
            var e = chassis.endpoint
            e.applicationAddress = s.endpoint.address
            return e
        }
        return (plain + modbusServers.values.map(\.endpoint) + scanners.values.map(\.endpoint)).sorted { $0.name < $1.name }
    }

    private init(
        bench: SimulatedBench, servers: [String: WireServer], modbusServers: [String: ModbusWireServer],
        scanners: [String: SimulatedScanner], chassisServers: [String: WireServer]
    ) {
        self.bench = bench
        self.servers = servers
        self.modbusServers = modbusServers
        self.scanners = scanners
        self.chassisServers = chassisServers
    }

    public var instrumentNames: [String] { (Array(servers.keys) + Array(modbusServers.keys) + Array(scanners.keys)).sorted() }

    /// Injects a fault into a simulated instrument at run time (`none` clears it and plugs an
    /// unplugged one back in). False when no simulated instrument has that name.
    @discardableResult
    public func inject(_ fault: WireFault, into name: String, scope: FaultScope = FaultScope()) async -> Bool {
        if let s = servers[name] {
            await s.inject(fault, scope: scope)
            return true
        }
        if let m = modbusServers[name] {
            m.inject(fault)
            return true
        }
        if let s = scanners[name] {
            do { try s.inject(fault) } catch { return false }
            return true
        }
        return false
    }

    /// Starts every instrument. `ptyDirectory` holds the stable symlinks of pty instruments.
    /// Switches settle as the bench's timing says for their model, unless `switchSettle` is given.
    public static func start(
        _ instruments: [WireInstrument], bench: SimulatedBench, ptyDirectory: String,
        switchSettle: Duration? = nil
    ) async throws -> WireBench {

        var servers: [String: WireServer] = [:]
        var modbus: [String: ModbusWireServer] = [:]
        var scanners: [String: SimulatedScanner] = [:]
        var chassisServers: [String: WireServer] = [:]
        do {
            for i in instruments {
                if let kind = i.modbus {
                    let device = ModbusSimDevice(name: i.name, unitId: i.unitId, kind: kind, bench: bench)
                    device.switchSettle = switchSettle
                    device.inject(i.fault)
                    switch i.transport {
                    case .tcp: modbus[i.name] = try ModbusWireServer.serveTCP(device: device, name: i.name)
                    case .pty:
                        modbus[i.name] = try ModbusWireServer.servePTY(device: device, name: i.name, link: ptyDirectory + "/" + i.name)
                    }
                    continue
                }
                if i.model == .viaviPCT {
                    let (chassis, pct) = try await servePCT(i, bench: bench)
                    chassisServers[i.name] = chassis
                    servers[i.name] = pct
                    continue
                }
                let model: any SCPIModel
                switch i.model {
                case .santecRL1: model = RL1Model(name: i.name, wavelengths: i.wavelengthsNm, bench: bench)
                case .santecOSX: model = OSXModel(name: i.name, channels: i.channels, bench: bench)
                case .keysight816x: model = KeysightModel(name: i.name, bench: bench, slots: i.keysight, wavelengths: i.wavelengthsNm)
                case .diconMEMS: model = DiConModel(name: i.name, channels: i.channels, bench: bench)
                case .keysightN774x: model = N774xModel(name: i.name, ports: max(i.channels, 1), bench: bench)
                case .modbusSwitch, .modbusIO, .viaviPCT:
                    throw LinkError(kind: .connect, detail: "\(i.name): a Modbus model needs its register map")
                case .barcodeSerial:  // asked nothing, so not an SCPI device: a port it writes its scans to
                    guard i.transport == .pty else {
                        throw LinkError(kind: .connect, detail: "\(i.name): a barcode scanner is simulated on a pty (a USB-serial port)")
                    }
                    scanners[i.name] = try SimulatedScanner(name: i.name, link: ptyDirectory + "/" + i.name)
                    continue
                }
                let device = SCPIDevice(name: i.name, model: model, bench: bench)
                await device.configure(
                    fault: i.fault, scope: i.faultScope, switchSettle: switchSettle, onSerialLine: i.transport == .pty)
                switch i.transport {
                case .tcp: servers[i.name] = try await WireServer.serveTCP(device: device, name: i.name)
                case .pty: servers[i.name] = try await WireServer.servePTY(device: device, name: i.name, link: ptyDirectory + "/" + i.name)
                }
            }
        } catch {
            for s in servers.values { s.close() }
            for s in modbus.values { s.close() }
            for s in scanners.values { s.close() }
            for s in chassisServers.values { s.close() }
            throw error
        }
        return WireBench(bench: bench, servers: servers, modbusServers: modbus, scanners: scanners, chassisServers: chassisServers)
    }

    /// A MAP-300: the chassis on one port and the PCT module on another that takes connections
    /// only once the chassis has launched the application (faults are injected into the PCT).
    static func servePCT(_ i: WireInstrument, bench: SimulatedBench) async throws -> (chassis: WireServer, pct: WireServer) {
        let app = PCTApplication()
        let model = PCTModel(name: i.name, wavelengths: i.wavelengthsNm, channels: max(i.channels, 1), bench: bench)
        let device = SCPIDevice(name: i.name, model: model, bench: bench)
        await device.configure(fault: i.fault, scope: i.faultScope, switchSettle: nil, onSerialLine: false)
        let pct = try await WireServer.serveTCP(device: device, name: i.name, admit: { app.isUp })
        guard case .tcp(_, let port)? = InstrumentAddress.parse(pct.endpoint.address) else { preconditionFailure("a TCP endpoint") }
        let chassisModel = MapChassisModel(name: i.name, application: app, applicationPort: port, bench: bench)
        do {
            let chassis = try await WireServer.serveTCP(device: SCPIDevice(name: i.name + "/chassis", model: chassisModel, bench: bench),
                                                        name: i.name)
            return (chassis, pct)
        } catch {
            pct.close()
            throw error
        }
    }

    public func server(_ name: String) -> WireServer? { servers[name] }

    /// Exchanges (lines or Modbus requests) each instrument has received so far.
    public func exchanges() async -> [String: Int] {
        var n: [String: Int] = [:]
        for (name, s) in servers { n[name] = await s.device.linesHandled }
        for (name, m) in modbusServers { n[name] = m.device.requestsHandled }
        return n
    }

    /// Writes the endpoints file: JSON, one entry per instrument (name, protocol, transport, address).
    public func writeEndpoints(to path: String) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try e.encode(endpoints).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    public func close() {
        for s in servers.values { s.close() }
        for s in modbusServers.values { s.close() }
        for s in scanners.values { s.close() }
        for s in chassisServers.values { s.close() }
    }
}

extension SCPIDevice {
    func configure(fault: WireFault, scope: FaultScope, switchSettle: Duration?, onSerialLine: Bool) {
        self.fault = fault
        self.scope = scope
        self.switchSettle = switchSettle
        self.onSerialLine = onSerialLine
    }
}
