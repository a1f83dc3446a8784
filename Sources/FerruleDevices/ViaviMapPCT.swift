import FerruleCore
import Foundation

/// VIAVI MAP-300 PCT (an mORL IL/RL meter and mOSW switches in a MAP-300 chassis), from VIAVI's
/// MAP-PCT Programming Guide 22112369-346 R002 and VIAVI's example `PCT_12_Channel_Test.py`.
///
/// Connecting (guide 1-1): the PCT application's port (8300 + the mORL's slot) accepts a
/// connection only once the chassis (port 8100) has launched it with `:SUPer:LAUNch PCT`, which
/// takes about 7 s. The driver tries the PCT port first; if it is not there it launches the
/// application and tries again every half second for at most `launchTimeout`, then sends `*REM`,
/// checks `*ACTive?` and waits while `:MEASure:STATe?` reads 0 (initializing).
///
/// Lines: one command a line, as VIAVI's example sends them (the guide promises nothing about
/// joining commands with ';'); commands have no reply, so the error queue (`:SYSTem:ERRor?`) is
/// read after each configuration step and names it. A measurement (`:MEASure:STARt`) is polled
/// with `:MEASure:STATe?` every 100 ms (1 idle, 2 busy, 3 fault) for at most its timeout; `*OPC?`
/// does not wait for it. State 3 is an instrument error naming the command and the warning the
/// PCT queued (`:SYSTem:WARNing?`: no reference, too little power...).
///
/// Paths: dual-MTJ Port Map (5-64 ff.): the launch (SW1) and receive (SW2) channels are set with
/// `:PMAP:SETup:INIT:LIST` in variable-SW2 mode; the station links each launch to the receive
/// channel it wants read (`:PMAP:SETup:LINK`), or has the PCT find them (`:PMAP:MEASure:ALL`,
/// then `:PMAP:PATH:LINK?`). Results: `:MEASure:ALL? <launch>,<receive>` per path, parsed by
/// `ViaviPCTReplies`.
public actor ViaviMapPCT: PathSetMeter, ReportsCalibration {
    public nonisolated let name: String
    public nonisolated let wavelengthsNm: [Int]
    public nonisolated let chassisAddress: InstrumentAddress
    public nonisolated let applicationAddress: InstrumentAddress
    public let timeout: Duration
    /// How long the application may take to come up after `:SUPer:LAUNch PCT` (about 7 s, guide 1-1).
    public let launchTimeout: Duration
    /// VIAVI's example polls every 100 ms; half that leaves less of the instrument's time unused.
    public var pollInterval: Duration = .milliseconds(50)
    /// A measurement's bound: this plus `perPathTimeout` for each path and wavelength.
    public var measurementTimeout: Duration = .seconds(30)
    public var perPathTimeout: Duration = .seconds(3)
    let conversation = Conversation()
    private var link: LineLink?
    /// Settings as sent on the current connection (the source list, RL zones, Port Map, mode):
    /// a unit like the last one sends none of them again.
    private var sent: [String: String] = [:]

    public init(name: String, chassis: InstrumentAddress, application: InstrumentAddress, wavelengthsNm: [Int],
                timeout: Duration = .seconds(3), launchTimeout: Duration = .seconds(30)) {
        self.name = name
        self.launchTimeout = launchTimeout
        self.chassisAddress = chassis
        self.applicationAddress = application
        self.wavelengthsNm = wavelengthsNm
        self.timeout = timeout
    }

    /// The PCT's port on a chassis: 8300 plus the mORL's slot (guide 1-1, step 2).
    public static func applicationAddress(chassis: InstrumentAddress, slot: Int) -> InstrumentAddress? {
        guard case .tcp(let host, _) = chassis, (1...16).contains(slot) else { return nil }
        return .tcp(host: host, port: 8300 + slot)
    }

    public func identify() async throws -> InstrumentIdentity {
        try await conversation.run {
            let reply = try await self.query("*IDN?")
            guard let id = SCPI.parseIdentity(reply) else {
                throw self.failure("*IDN?", "reply \"\(reply.prefix(80))\" is not maker,model,serial,firmware")
            }
            return id
        }
    }

    /// The mORL's factory calibration date (guide 4-4, `:FACTory:CALibration:DATe?`).
    public func calibration() async throws -> CalibrationRecord {
        try await conversation.run {
            let reply = try await self.query(":FACT:CAL:DAT?")
            guard let record = ViaviPCTReplies.calibration(reply) else {
                throw self.failure(":FACT:CAL:DAT?", "reply \"\(reply.prefix(40))\" is not yyyy.mm.dd or NO")
            }
            return record
        }
    }

    public func enable(wavelengthNm: Int) async throws {
        guard wavelengthsNm.contains(wavelengthNm) else {
            throw failure(":SOURce:LIST", "no laser at \(wavelengthNm) nm (has \(wavelengthsNm))")
        }
    }

    /// Stops a measurement that is running (its laser goes off with it); nothing when idle, as
    /// `:MEASure:STOP` outside a measurement is -205 "Command not valid in current state".
    /// Never launches the application for it: a PCT whose application is not up measures nothing.
    public func disable() async throws {
        try await conversation.run {
            guard await self.linkWithoutLaunching() else { return }
            if try await self.state() == 2 { try await self.command(":MEAS:STOP") }
        }
    }

    /// The open line, or the PCT port if the application is up; false when it is not.
    private func linkWithoutLaunching() async -> Bool {
        if let link, link.isOpen { return true }
        return (try? await application()) != nil
    }

    public func reference(_ plan: PathSetPlan) async throws -> [PathReference] {
        try await conversation.run {
            try await self.setUp(plan, links: plan.paths)
            for ch in Set(plan.paths.map(\.launchChannel)).sorted() {
                try await self.command(":PATH:JUMP:IL:AUTO 1,\(ch),1", check: false)  // the measured value, no override
                try await self.command(":PATH:JUMP:LENG:AUTO 1,\(ch),1", check: false)
            }
            try await self.checkErrors(after: ":PATH:JUMP:IL:AUTO/:LENG:AUTO 1,<channel>,1")
            try await self.run(mode: 0, plan)
            return try await self.readOut(plan, valuesPerGroup: 3, ViaviPCTReplies.referenceReading)
        }
    }

    public func measure(_ plan: PathSetPlan) async throws -> [PathReading] {
        try await conversation.run {
            try await self.setUp(plan, links: plan.paths)
            try await self.run(mode: 1, plan)
            return try await self.readOut(plan, valuesPerGroup: 4, ViaviPCTReplies.dutReading)
        }
    }

    public func locate(launchChannels: [Int], receiveChannels: [Int], launchPort: Int) async throws -> [Int: Int?] {
        try await conversation.run {
            let plan = PathSetPlan(
                launchPort: launchPort, paths: launchChannels.map { InstrumentPath(launchChannel: $0, receiveChannel: 0) },
                wavelengthsNm: [self.wavelengthsNm.first ?? 1310])
            await self.forget("portMap")  // the search below fills the table with links of its own
            try await self.portMap(launch: launchChannels, receive: receiveChannels, plan: plan, links: [])
            try await self.command(":PMAP:MEAS:ALL")
            try await self.waitForMeasurement(":PMAP:MEAS:ALL", bound: self.bound(paths: launchChannels.count * receiveChannels.count, 1))
            let size = try await self.integer(":PMAP:PATH:SIZE?")
            var found: [Int: Int?] = Dictionary(uniqueKeysWithValues: launchChannels.map { ($0, nil) })
            for p in 1..<(size + 1) {  // paths are numbered from 1; none when the table is empty
                let reply = try await self.query(":PMAP:PATH:LINK? \(p)")
                guard let link = ViaviPCTReplies.link(reply) else {
                    throw self.failure(":PMAP:PATH:LINK? \(p)", "reply \"\(reply.prefix(40))\" is not <SW1 channel>[,<SW2 channel>]")
                }
                if found.keys.contains(link.launch) { found[link.launch] = .some(link.receive) }
            }
            try await self.drainWarnings()  // -31 "Could not find output port for input channel N" for each dark one
            return found
        }
    }

    // MARK: - Setting up and running

    /// Wavelengths, launch port, RL zones and the Port Map with the plan's links.
    private func setUp(_ plan: PathSetPlan, links: [InstrumentPath]) async throws {
        _ = try await connected(":SOUR:LIST")  // a new connection forgets what was sent on the last
        let list = plan.wavelengthsNm.map(String.init).joined(separator: ",")
        try await once("source", list) { try await self.command(":SOUR:LIST \(list)") }
        if let w = plan.rlWindow {
            let method = w.method == .integration ? 1 : 2
            // Zone 1 anchored at the DUT start is connector A's reflection, zone 2 at its end connector B's.
            try await once("orl", "\(method),\(w.aOffsetM),\(w.bOffsetM)") {
                try await self.command(":MEAS:ORL:SET 1,\(method),1,\(w.aOffsetM),\(w.bOffsetM)")
                try await self.command(":MEAS:ORL:SET 2,\(method),2,\(w.aOffsetM),\(w.bOffsetM)")
            }
        }
        let table = "\(plan.launchPort)|" + links.map(\.description).joined(separator: ",")
        try await once("portMap", table) {
            try await self.portMap(
                launch: plan.paths.map(\.launchChannel), receive: plan.paths.map(\.receiveChannel), plan: plan, links: links)
        }
    }

    private func forget(_ key: String) { sent[key] = nil }

    /// Sends a setting unless this connection already has it; forgotten if sending it fails.
    private func once(_ key: String, _ value: String, _ send: () async throws -> Void) async throws {
        if sent[key] == value { return }
        sent[key] = nil
        try await send()
        sent[key] = value
    }

    private func portMap(launch: [Int], receive: [Int], plan: PathSetPlan, links: [InstrumentPath]) async throws {
        try await command(":PATH:LAUN \(plan.launchPort)")
        try await command(":PMAP:ENAB 1")
        let sw1 = ViaviPCTReplies.channelBits(launch), sw2 = ViaviPCTReplies.channelBits(receive)
        try await command(":PMAP:SET:INIT:LIST \(sw1),\(sw2),2")
        for l in links { try await command(":PMAP:SET:LINK \(l.launchChannel),\(l.receiveChannel)", check: false) }
        if !links.isEmpty { try await checkErrors(after: ":PMAP:SET:LINK <launch>,<receive>") }
    }

    /// Runs one measurement cycle in `mode` (0 reference, 1 DUT) and waits for its end.
    private func run(mode: Int, _ plan: PathSetPlan) async throws {
        try await once("function", String(mode)) { try await self.command(":SENS:FUNC \(mode)") }
        try await command(":MEAS:STAR")
        try await waitForMeasurement(":MEAS:STAR (\(mode == 0 ? "reference" : "DUT"))", bound: bound(paths: plan.paths.count,
            plan.wavelengthsNm.count))
    }

    private func bound(paths: Int, _ wavelengths: Int) -> Duration {
        measurementTimeout + perPathTimeout * (paths * max(wavelengths, 1))
    }

    /// Polls `:MEASure:STATe?` until the cycle ends: 1 done, 3 a fault (why, from the warning queue).
    private func waitForMeasurement(_ operation: String, bound: Duration) async throws {
        let deadline = ContinuousClock.now + bound
        while true {
            switch try await state() {
            case 1: return
            case 3:
                let warning = try await query(":SYST:WARN?")
                throw failure(operation, "the measurement ended in state 3 (fault): warning \(warning.prefix(120))")
            case 4: throw failure(operation, "the PCT is busy with a system function (state 4)")
            default:
                guard ContinuousClock.now < deadline else {
                    _ = try? await command(":MEAS:STOP", check: false)
                    throw failure(operation, "still measuring after \(bound); stopped it")
                }
                do {
                    try await Task.sleep(for: pollInterval)
                } catch {
                    _ = try? await command(":MEAS:STOP", check: false)  // an aborted unit leaves no laser measuring
                    throw error
                }
            }
        }
    }

    /// Every path's `:MEAS:ALL?` after a cycle, each wavelength's group read by `parse`.
    private func readOut<T>(
        _ plan: PathSetPlan, valuesPerGroup: Int,
        _ parse: (ViaviPCTReplies.Group, InstrumentPath) -> Result<T, ViaviPCTReplies.Problem>
    ) async throws -> [T] {
        var out: [T] = []
        for path in plan.paths {
            let q = ":MEAS:ALL? \(path.launchChannel),\(path.receiveChannel)"
            let reply = try await query(q)
            let groups: [ViaviPCTReplies.Group]
            switch ViaviPCTReplies.groups(reply, valuesPerGroup: valuesPerGroup, wavelengthsNm: plan.wavelengthsNm) {
            case .success(let g): groups = g
            case .failure(let p): throw failure(q, "reply \"\(reply.prefix(80))\" \(p.detail)")
            }
            for g in groups {
                switch parse(g, path) {
                case .success(let v): out.append(v)
                case .failure(let p): throw failure(q, p.detail)
                }
            }
        }
        return out
    }

    private func state() async throws -> Int { try await integer(":MEAS:STAT?") }

    private func integer(_ q: String) async throws -> Int {
        let reply = try await query(q)
        guard let v = Int(reply.trimmingCharacters(in: .whitespaces)) else {
            throw failure(q, "reply \"\(reply.prefix(40))\" is not a whole number")
        }
        return v
    }

    private func drainWarnings() async throws {
        for _ in 0..<64 {
            guard let (code, _) = ViaviPCTReplies.queueEntry(try await query(":SYST:WARN?")), code != 0 else { return }
        }
    }

    // MARK: - The line

    /// Sends a command (no reply) and, with `check`, reads the error queue for it.
    private func command(_ cmd: String, check: Bool = true) async throws {
        let l = try await connected(cmd)
        do { try await l.send(cmd, timeout: timeout) } catch let e as LinkError { throw dropped(cmd, e) }
        if check { try await checkErrors(after: cmd) }
    }

    private func query(_ q: String) async throws -> String {
        let l = try await connected(q)
        do {
            return String(try await l.query(q, timeout: timeout).trimmingBlanks())
        } catch let e as LinkError { throw dropped(q, e) }
    }

    /// Reads `:SYSTem:ERRor?` until it says 0, and throws what it held.
    private func checkErrors(after cmd: String) async throws {
        var errors: [String] = []
        for _ in 0..<32 {
            let reply = try await query(":SYST:ERR?")
            guard let (code, text) = ViaviPCTReplies.queueEntry(reply) else {
                throw failure("\(cmd) (:SYST:ERR?)", "reply \"\(reply.prefix(60))\" is not code,\"text\"")
            }
            if code == 0 { break }
            errors.append("\(code),\"\(text)\"")
        }
        if !errors.isEmpty { throw failure(cmd, "instrument error \(errors.joined(separator: "; "))") }
    }

    private func dropped(_ operation: String, _ e: LinkError) -> InstrumentError {
        link?.close()
        link = nil
        return failure(operation, e.kind == .timeout ? "no reply within \(timeout)" : e.detail)
    }

    nonisolated func failure(_ operation: String, _ detail: String) -> InstrumentError {
        InstrumentError(instrument: name, operation: operation, detail: detail)
    }

    /// The PCT application's line, launching the application from the chassis when it is not up.
    private func connected(_ operation: String) async throws -> LineLink {
        if let link, link.isOpen { return link }
        link = nil
        if let l = try await application() { return l }
        try await launchApplication(operation)
        let deadline = ContinuousClock.now + launchTimeout
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(500))
            if let l = try await application() { return l }
        }
        throw failure(operation, "the PCT application did not answer at \(applicationAddress) within \(launchTimeout) of "
            + ":SUPer:LAUNch PCT on the chassis at \(chassisAddress); check the mORL's slot ('slot' or 'pctAddress')")
    }

    /// Connects to the PCT port: nil while the application is not up (refused, or closed at once).
    private func application() async throws -> LineLink? {
        guard let l = try? await LineLink.open(applicationAddress, connectTimeout: timeout) else { return nil }
        do {
            try await l.send("*REM", timeout: timeout)
            let active = try await l.query("*ACT?", timeout: timeout).trimmingBlanks()
            guard active == "1" else {
                l.close()
                throw failure("*ACT?", "the PCT module at \(applicationAddress) is not the active one (answered \"\(active.prefix(20))\")")
            }
            link = l
            sent = [:]  // a new connection has been sent nothing
            // 0: the application is still initializing (5-32).
            let deadline = ContinuousClock.now + launchTimeout
            while try await state() == 0 {
                guard ContinuousClock.now < deadline else { throw failure(":MEAS:STAT?", "still initializing after \(launchTimeout)") }
                try await Task.sleep(for: pollInterval)
            }
            return l
        } catch is LinkError {
            l.close()
            link = nil
            return nil
        }
    }

    /// `:SUPer:LAUNch PCT` on the chassis (guide 1-1, step 3), its error queue read after it.
    private func launchApplication(_ operation: String) async throws {
        let chassis: LineLink
        do {
            chassis = try await LineLink.open(chassisAddress, connectTimeout: timeout)
        } catch let e as LinkError {
            throw failure(":SUP:LAUN PCT", "neither the PCT at \(applicationAddress) nor the chassis at \(chassisAddress) answers: "
                + e.detail)
        }
        defer { chassis.close() }
        do {
            try await chassis.send(":SUP:LAUN PCT", timeout: timeout)
            let reply = try await chassis.query(":SYST:ERR?", timeout: timeout)
            if let (code, text) = ViaviPCTReplies.queueEntry(reply), code != 0 {
                throw failure(":SUP:LAUN PCT", "chassis error \(code),\"\(text)\"")
            }
        } catch let e as LinkError {
            throw failure(":SUP:LAUN PCT", "chassis at \(chassisAddress): \(e.detail)")
        }
    }
}
