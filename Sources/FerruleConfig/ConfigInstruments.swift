import FerruleCore
import FerruleDevices
import FerruleSimSpec
import Foundation

// The `instruments:` section. Each check throws a `ConfigIssue` naming the key and the fix.
extension StationConfig {
    /// `instruments:`: every instrument once by name, each with a driver, an address (or `match`
    /// or `simulate`) and the settings its driver takes.
    static func instrumentsSection(_ entries: [InstrumentEntry], _ path: ConfigPath) throws -> [InstrumentSpec] {
        var instruments: [InstrumentSpec] = []
        for (i, e) in entries.enumerated() {
            let p = path.index(i)
            if instruments.contains(where: { $0.name == e.name }) {
                throw ConfigIssue(
                    path: p.key("name"), message: "instrument name '\(e.name)' is used twice",
                    fix: "give every instrument its own name")
            }
            instruments.append(try instrumentSpec(e, p))
        }
        return instruments
    }

    static func instrumentSpec(_ e: InstrumentEntry, _ p: ConfigPath) throws -> InstrumentSpec {
        guard let driver = DriverCatalog.named(e.driver) else {
            throw ConfigIssue(
                path: p.key("driver"), message: "'\(e.driver)' is not a known driver",
                fix: "use one of: \(DriverCatalog.all.map(\.name).joined(separator: ", "))")
        }
        if driver.can(.opticalSwitch) || driver.can(.pathSetMeter) {
            guard let n = e.channels, (1...maxChannels).contains(n) else {
                throw ConfigIssue(
                    path: p.key("channels"), message: "a switch needs its channel count",
                    fix: "add 'channels: N' (the N of the 1xN switch)")
            }
        }
        if driver.name == KeysightN774x.driverName, let n = e.channels, n > 8 {
            throw ConfigIssue(path: p.key("channels"), message: "a Keysight multi-port meter has 4 (N7744C) or 8 (N7745C) ports, not \(n)",
                              fix: "give the meter's port count; a fixture with more receive positions needs a receive switch")
        }
        var spec = InstrumentDraft(
            name: e.name, driver: driver, address: e.address ?? "sim://\(e.name)",
            channels: e.channels, wavelengthsNm: e.wavelengthsNm ?? [], calibrationDue: e.calibrationDue)
        if let t = e.timeout { spec.timeoutSeconds = try duration(t, p.key("timeout")) }
        if let d = e.calibrationDue, CalendarDay.parse(d) == nil {
            throw ConfigIssue(path: p.key("calibrationDue"), message: "'\(Escaped.text(d))' is not a day",
                              fix: "write the day the calibration is due as YYYY-MM-DD, e.g. \"2027-06-30\"")
        }
        if let m = e.calibrationIntervalMonths {
            guard (1...120).contains(m) else {
                throw ConfigIssue(path: p.key("calibrationIntervalMonths"), message: "\(m) months is not in 1...120",
                                  fix: "give the calibration interval in months, e.g. 12")
            }
            spec.calibrationIntervalMonths = m
        }
        try modbusSettings(e, driver: driver, into: &spec, p)
        try meterSettings(e, driver: driver, into: &spec, p)
        if spec.canBeSource && spec.wavelengthsNm.isEmpty {  // after the settings: a Keysight is a source with its laser's slot
            throw ConfigIssue(
                path: p.key("wavelengthsNm"), message: "a source needs its wavelengths",
                fix: "add e.g. 'wavelengthsNm: [1310, 1550]'")
        }
        try whereItIs(e, driver: driver, into: &spec, p)
        try applicationPort(e, driver: driver, into: &spec, p)
        if let se = e.serial { try serialSettings(se, into: &spec.serial, p.key("serial")) }
        return try spec.spec(p)
    }

    /// How the instrument is reached: simulated in-process, simulated on the wire (`simulate`),
    /// found by udev properties (`match`) or at an `address`.
    static func whereItIs(_ e: InstrumentEntry, driver: DriverInfo, into spec: inout InstrumentDraft, _ p: ConfigPath) throws {
        if driver.isSimulated {
            if e.simulate != nil {
                let real = DriverCatalog.all.filter { !$0.isSimulated }.map(\.name).joined(separator: ", ")
                throw ConfigIssue(
                    path: p.key("simulate"), message: "driver \(driver.name) is already simulated in-process",
                    fix: "use a real driver (\(real)) with 'simulate: tcp' or 'pty'")
            }
        } else if let sim = e.simulate {
            if e.match != nil || e.address != nil {
                throw ConfigIssue(
                    path: p.key("simulate"),
                    message: "'simulate' serves the instrument itself; 'address' or 'match' is given too",
                    fix: "remove 'simulate' to use the real instrument, or remove 'address'/'match'")
            }
            spec.simulate = try oneOf(sim, WireTransport.self, p.key("simulate"), what: "simulator transport")
            if let f = e.fault { (spec.fault, spec.faultScope) = try simulatedFault(f, p.key("fault")) }
        } else if let m = e.match {
            try udevMatch(m, address: e.address, into: &spec, p)
        } else {
            guard let a = e.address else {
                throw ConfigIssue(
                    path: p, message: "instrument '\(e.name)' has no address",
                    fix: "add 'address: tcp://HOST:PORT', a serial device path such as /dev/ferrule/\(e.name), "
                        + "'match: {ID_SERIAL_SHORT: ...}' (see `ferruled devices`) or 'simulate: tcp'")
            }
            guard InstrumentAddress.parse(a) != nil else {
                throw ConfigIssue(
                    path: p.key("address"), message: "'\(a)' is not an instrument address",
                    fix: "write tcp://HOST:PORT (e.g. tcp://192.168.1.20:5025) or a device path such as /dev/ttyUSB0")
            }
            if e.fault != nil {
                throw ConfigIssue(
                    path: p.key("fault"), message: "faults are for simulated instruments",
                    fix: "remove 'fault' or add 'simulate: tcp'")
            }
        }
    }

    /// `viavi-map-pct`: where the PCT application listens, from `slot` (8300 + slot on the
    /// chassis's host, guide 1-1) or `pctAddress`; a simulated one is given its port when it starts.
    static func applicationPort(_ e: InstrumentEntry, driver: DriverInfo, into spec: inout InstrumentDraft, _ p: ConfigPath) throws {
        guard driver.name == ViaviMapPCT.driverName else {
            for (key, present) in [("slot", e.slot != nil), ("pctAddress", e.pctAddress != nil)] where present {
                throw ConfigIssue(path: p.key(key), message: "'\(key)' is for viavi-map-pct, not \(driver.name)", fix: "remove it")
            }
            return
        }
        if spec.simulate != nil { return }
        switch (e.slot, e.pctAddress) {
        case (let slot?, nil):
            guard let chassis = InstrumentAddress.parse(spec.address),
                  let a = ViaviMapPCT.applicationAddress(chassis: chassis, slot: slot) else {
                throw ConfigIssue(path: p.key("slot"), message: "slot \(slot) on \(spec.address) gives no PCT port",
                                  fix: "give the mORL's slot 1-16 and the chassis as tcp://HOST:8100")
            }
            spec.pctAddress = a.description
        case (nil, let a?):
            guard case .tcp? = InstrumentAddress.parse(a) else {
                throw ConfigIssue(path: p.key("pctAddress"), message: "'\(Escaped.text(a))' is not tcp://HOST:PORT",
                                  fix: "write the PCT's port, e.g. tcp://192.168.1.30:8301")
            }
            spec.pctAddress = a
        case (nil, nil):
            throw ConfigIssue(path: p, message: "the PCT's port is not given",
                              fix: "add 'slot: N' (the mORL's slot; its port is 8300 + N) or 'pctAddress: tcp://HOST:PORT'")
        case (_?, _?):
            throw ConfigIssue(path: p.key("pctAddress"), message: "both 'slot' and 'pctAddress' are given", fix: "keep one of them")
        }
    }

    static func udevMatch(_ m: [String: String], address: String?, into spec: inout InstrumentDraft, _ p: ConfigPath) throws {
        if address != nil {
            throw ConfigIssue(
                path: p.key("match"), message: "both 'address' and 'match' are given",
                fix: "keep one: 'match' finds the port by its udev properties")
        }
        guard !m.isEmpty else {
            throw ConfigIssue(
                path: p.key("match"), message: "the match is empty",
                fix: "name udev properties such as ID_VENDOR_ID, ID_MODEL_ID, ID_SERIAL_SHORT (see `ferruled devices`)")
        }
        if let bad = m.keys.sorted().first(where: { k in k.isEmpty || !k.allSatisfy { $0.isUppercase || $0.isNumber || $0 == "_" } }) {
            throw ConfigIssue(
                path: p.key("match").key(bad), message: "'\(bad)' is not a udev property name",
                fix: "use udev property names such as ID_VENDOR_ID, ID_MODEL_ID, ID_SERIAL_SHORT, ID_PATH")
        }
        spec.match = m
        spec.address = "udev:" + m.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    static func serialSettings(_ se: SerialEntry, into serial: inout SerialSettings, _ sp: ConfigPath) throws {
        if let b = se.baud { serial.baud = b }
        if let d = se.dataBits {
            guard (5...8).contains(d) else {
                throw ConfigIssue(path: sp.key("dataBits"), message: "\(d) data bits", fix: "use 5, 6, 7 or 8")
            }
            serial.dataBits = d
        }
        if let par = se.parity { serial.parity = try oneOf(par, SerialSettings.Parity.self, sp.key("parity"), what: "parity") }
        if let st = se.stopBits {
            guard st == 1 || st == 2 else { throw ConfigIssue(path: sp.key("stopBits"), message: "\(st) stop bits", fix: "use 1 or 2") }
            serial.stopBits = st
        }
        if let r = se.rtsCts { serial.rtsCts = r }
        guard [9600, 19200, 38400, 57600, 115_200, 230_400].contains(serial.baud) else {
            throw ConfigIssue(
                path: sp.key("baud"), message: "baud \(serial.baud) is not supported",
                fix: "use 9600, 19200, 38400, 57600, 115200 or 230400")
        }
    }

    /// Unit id, retries and the register map of a Modbus instrument; refuses them on others.
    static func modbusSettings(_ e: InstrumentEntry, driver: DriverInfo, into spec: inout InstrumentDraft, _ p: ConfigPath) throws {
        guard driver.bus == .modbus else {
            for (key, present) in [
                ("unitId", e.unitId != nil), ("retries", e.retries != nil), ("registers", e.registers != nil), ("io", e.io != nil)
            ] where present {
                throw ConfigIssue(path: p.key(key), message: "'\(key)' is for Modbus instruments, not \(driver.name)", fix: "remove it")
            }
            return
        }
        if let id = e.unitId {
            guard (1...247).contains(id) else {
                throw ConfigIssue(
                    path: p.key("unitId"), message: "unit id \(id) is outside 1...247", fix: "give the module's Modbus address (1...247)")
            }
            spec.link.unitId = id
        }
        if let r = e.retries {
            guard (0...10).contains(r) else {
                throw ConfigIssue(path: p.key("retries"), message: "\(r) retries is not in 0...10", fix: "use 0...10 (2 is usual)")
            }
            spec.link.retries = r
        }
        let simulated = e.simulate != nil
        switch driver.name {
        case ModbusSwitch.driverName:
            if e.io != nil {
                throw ConfigIssue(path: p.key("io"), message: "'io' is for modbus-io", fix: "a switch's map goes under 'registers'")
            }
            if let r = e.registers {
                let rp = p.key("registers")
                spec.switchMap = ModbusSwitchMap(
                    channel: try requiredPoint(r.channel, rp.key("channel"), output: true, word: true),
                    position: try point(r.position, rp.key("position"), word: true),
                    busy: try point(r.busy, rp.key("busy")))
            } else if simulated {
                spec.switchMap = ModbusSwitchMap()
            } else {
                throw ConfigIssue(
                    path: p, message: "Modbus switch '\(e.name)' has no register map",
                    fix: "add 'registers: {channel: hr:N, position: ir:N, busy: ir:N.B}' from the switch's manual")
            }
        case ModbusFixtureIO.driverName:
            if e.registers != nil {
                throw ConfigIssue(
                    path: p.key("registers"), message: "'registers' is for modbus-switch", fix: "an I/O module's map goes under 'io'")
            }
            if let m = e.io {
                let ip = p.key("io")
                let map = ModbusIOMap(
                    lidClosed: try requiredPoint(m.lidClosed, ip.key("lidClosed")),
                    partPresent: try point(m.partPresent, ip.key("partPresent")),
                    startButton: try point(m.startButton, ip.key("startButton")),
                    red: try point(m.red, ip.key("red"), output: true), amber: try point(m.amber, ip.key("amber"), output: true),
                    green: try point(m.green, ip.key("green"), output: true))
                let inputs: [(String, ModbusPoint?)] = [
                    ("lidClosed", map.lidClosed), ("partPresent", map.partPresent), ("startButton", map.startButton)
                ]
                for case let (key, point?) in inputs where !point.isSignal {
                    throw ConfigIssue(
                        path: ip.key(key), message: "'\(point)' is a whole register, an input signal is a bit",
                        fix: "write di:N, coil:N or REGISTER:N.BIT")
                }
                spec.ioMap = map
            } else if simulated {
                spec.ioMap = ModbusIOMap()
            } else {
                throw ConfigIssue(
                    path: p, message: "I/O module '\(e.name)' has no signal map",
                    fix: "add 'io: {lidClosed: di:N, partPresent: di:N, startButton: di:N, red: coil:N, amber: coil:N, green: coil:N}'")
            }
        default: break
        }
    }

    /// `noLightFloorDbm` for any power meter; `source`/`powerMeter` module slots for a Keysight 816x.
    static func meterSettings(_ e: InstrumentEntry, driver: DriverInfo, into spec: inout InstrumentDraft, _ p: ConfigPath) throws {
        if let floor = e.noLightFloorDbm {
            guard driver.can(.powerMeter) else {
                throw ConfigIssue(
                    path: p.key("noLightFloorDbm"),
                    message: "'noLightFloorDbm' is for power meters, not \(driver.name)", fix: "remove it")
            }
            guard (-120 ... -30).contains(floor) else {
                throw ConfigIssue(
                    path: p.key("noLightFloorDbm"), message: "a no-light floor of \(floor) dBm is not in -120...-30 dBm",
                    fix: "give the meter's lowest trustworthy power, e.g. -80")
            }
            spec.noLightFloorDbm = floor
        }
        guard driver.name == Keysight816x.driverName else {
            for (key, present) in [("source", e.source != nil), ("powerMeter", e.powerMeter != nil)] where present {
                throw ConfigIssue(
                    path: p.key(key), message: "'\(key)' module slots are for keysight-816x, not \(driver.name)",
                    fix: "remove it")
            }
            return
        }
        var slots = Keysight816x.Slots()
        if let s = e.source {
            guard (0...17).contains(s.slot) else {
                throw ConfigIssue(
                    path: p.key("source").key("slot"), message: "slot \(s.slot) is not a mainframe slot",
                    fix: "use 0 (the 8164B's built-in laser) to 17")
            }
            slots.sourceSlot = s.slot
        }
        if let m = e.powerMeter {
            let mp = p.key("powerMeter")
            if let n = m.slot {
                guard (1...17).contains(n) else {
                    throw ConfigIssue(
                        path: mp.key("slot"), message: "slot \(n) is not a module slot",
                        fix: "use 1 to 17")
                }
                slots.meterSlot = n
            }
            if let c = m.channel {
                guard (1...4).contains(c) else {
                    throw ConfigIssue(
                        path: mp.key("channel"),
                        message: "channel \(c) is not a sensor channel", fix: "use 1 or 2")
                }
                slots.meterChannel = c
            }
            if let t = m.averagingTime {
                let s = try duration(t, mp.key("averagingTime"))
                guard s >= 0.0001, s <= 10 else {
                    throw ConfigIssue(
                        path: mp.key("averagingTime"), message: "averaging time \(t) is not in 100us...10s",
                        fix: "use e.g. 100ms")
                }
                slots.averagingTime = s
            }
            if slots.sourceSlot == slots.meterSlot {
                throw ConfigIssue(
                    path: mp.key("slot"), message: "the power meter and the source are both in slot \(slots.meterSlot)",
                    fix: "give each module its own slot")
            }
        }
        spec.keysight = slots
    }

    /// `fault: noReply` or `fault: { kind: noReply, command: "READ:RL?", fiber: 9 }`.
    static func simulatedFault(_ e: FaultEntry, _ p: ConfigPath) throws -> (WireFault, FaultScope) {
        switch e {
        case .kind(let k): return (try oneOf(k, WireFault.self, p, what: "simulated fault"), FaultScope())
        case .scoped(let f):
            let kind = try oneOf(f.kind, WireFault.self, p.key("kind"), what: "simulated fault")
            if let n = f.fiber, !(1...72).contains(n) {
                throw ConfigIssue(path: p.key("fiber"), message: "fiber \(n) is not an MPO position", fix: "give a launch position 1...72")
            }
            if let c = f.command, c.trimmingCharacters(in: .whitespaces).isEmpty {
                throw ConfigIssue(path: p.key("command"), message: "the command is empty", fix: "give the command's header, e.g. READ:RL?")
            }
            return (kind, FaultScope(command: f.command, fiber: f.fiber))
        }
    }
}
