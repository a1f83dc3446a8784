import FerruleCore
import Foundation

/// How the MAP-300 PCT writes its answers (VIAVI MAP-PCT Programming Guide 22112369-346 R002).
/// Pure: every rule of its reply formats in one place, tested on its own.
public enum ViaviPCTReplies {
    /// A value field as the PCT writes it: `-------` is too little light and `+++++++` too much
    /// (5-23 `:MEASure:POWer?`), an empty field no result (5-8 `:MEASure:ALL?`, "1625,,,").
    public enum Field: Sendable, Hashable {
        case value(Double)
        case tooLittleLight
        case tooMuchLight
        case empty
    }

    public static func field(_ text: Substring) -> Field? {
        let t = text.filter { !$0.isWhitespace }
        if t.isEmpty { return .empty }
        if t.allSatisfy({ $0 == "-" }) { return .tooLittleLight }
        if t.allSatisfy({ $0 == "+" }) { return .tooMuchLight }
        guard let v = Double(t), v.isFinite else { return nil }
        return .value(v)
    }

    /// One wavelength's group of a `:MEASure:ALL?` reply.
    public struct Group: Sendable, Hashable {
        public var wavelengthNm: Int
        public var fields: [Field]
    }

    /// `:MEASure:ALL? <launch>,<receive>` (5-8): `<wavelength>,<values>` per wavelength, in the
    /// order of `:SOURce:LIST`; DUT mode has 4 values (IL dB, length m, ORL zone 1 dB, ORL zone 2
    /// dB), reference mode 3 (power dBm, IL offset dB, length m). Nil with the reason when the
    /// reply is not that shape or names other wavelengths than asked.
    public static func groups(_ reply: String, valuesPerGroup: Int, wavelengthsNm: [Int]) -> Result<[Group], Problem> {
        let parts = reply.split(separator: ",", omittingEmptySubsequences: false)
        let size = valuesPerGroup + 1
        guard parts.count == size * wavelengthsNm.count else {
            return .failure(Problem(
                "has \(parts.count) fields, expected \(size) per wavelength for \(wavelengthsNm.count) wavelength(s)"))
        }
        var out: [Group] = []
        for (i, wl) in wavelengthsNm.enumerated() {
            let slice = parts[(i * size)..<((i + 1) * size)]
            guard let named = Int(slice.first!.trimmingCharacters(in: .whitespaces)), named == wl else {
                return .failure(Problem("group \(i + 1) is for \"\(slice.first!.prefix(12))\", expected \(wl) nm"))
            }
            var fields: [Field] = []
            for (j, f) in slice.dropFirst().enumerated() {
                guard let parsed = field(f) else {
                    return .failure(Problem("value \(j + 1) at \(wl) nm, \"\(f.prefix(16))\", is not a number, '-------' or '+++++++'"))
                }
                fields.append(parsed)
            }
            out.append(Group(wavelengthNm: wl, fields: fields))
        }
        return .success(out)
    }

    /// Why a reply could not be read.
    public struct Problem: Error, Sendable, Equatable {
        public var detail: String
        init(_ detail: String) { self.detail = detail }
    }

    /// A group's first value: a number, or too little or too much light; nil when it is empty.
    enum FirstValue { case value(Double), noLight, overRange }
    static func light(_ f: Field) -> FirstValue? {
        switch f {
        case .value(let v): .value(v)
        case .tooLittleLight: .noLight
        case .tooMuchLight: .overRange
        case .empty: nil
        }
    }

    /// A DUT-mode group as a reading: IL (too little light is no light, too much over range, no
    /// result an error), RL at end A (ORL zone 1, at the DUT start) and end B (zone 2, at its
    /// end), and length. A value that is not a number is no value, never a number.
    public static func dutReading(_ g: Group, path: InstrumentPath) -> Result<PathReading, Problem> {
        guard g.fields.count == 4 else { return .failure(Problem("DUT group has \(g.fields.count) values, expected 4")) }
        guard let first = light(g.fields[0]) else { return .failure(Problem("no IL result for path \(path) at \(g.wavelengthNm) nm")) }
        let loss: LossReading = switch first {
        case .value(let v): .dB(v)
        case .noLight: .noLight
        case .overRange: .overRange
        }
        func number(_ f: Field) -> Double? { if case .value(let v) = f { return v } else { return nil } }
        let lit = if case .dB = loss { true } else { false }
        return .success(PathReading(
            path: path, wavelengthNm: g.wavelengthNm, loss: loss,
            returnLoss: ReturnLossReading(endA: lit ? number(g.fields[2]) : nil, endB: lit ? number(g.fields[3]) : nil),
            lengthM: lit ? number(g.fields[1]) : nil))
    }

    /// A reference-mode group: the power through the reference cord and the jumpers' length.
    public static func referenceReading(_ g: Group, path: InstrumentPath) -> Result<PathReference, Problem> {
        guard g.fields.count == 3 else { return .failure(Problem("reference group has \(g.fields.count) values, expected 3")) }
        guard let first = light(g.fields[0]) else {
            return .failure(Problem("no reference power for path \(path) at \(g.wavelengthNm) nm"))
        }
        let power: PowerReading = switch first {
        case .value(let v): .dBm(v)
        case .noLight: .noLight
        case .overRange: .overRange
        }
        let length: Double? = if case .value(let v) = g.fields[2] { v } else { nil }
        return .success(PathReference(path: path, wavelengthNm: g.wavelengthNm, power: power, lengthM: length))
    }

    /// `:PMAP:SETup:INIT:LIST` channel selection (5-76): a bit-field, channel 1 the most
    /// significant bit of the first hex digit, four channels a digit ("1,3,5,7" is "AA").
    public static func channelBits(_ channels: [Int]) -> String {
        guard let top = channels.max(), top > 0 else { return "0" }
        var digits = [Int](repeating: 0, count: (top + 3) / 4)
        for c in channels where c > 0 { digits[(c - 1) / 4] |= 8 >> ((c - 1) % 4) }
        return digits.map { String($0, radix: 16, uppercase: true) }.joined()
    }

    /// The inverse of `channelBits`.
    public static func channels(fromBits hex: String) -> [Int]? {
        var out: [Int] = []
        for (i, ch) in hex.enumerated() {
            guard let d = Int(String(ch), radix: 16) else { return nil }
            for bit in 0..<4 where d & (8 >> bit) != 0 { out.append(i * 4 + bit + 1) }
        }
        return out
    }

    /// `:PMAP:PATH:LINK? <path>` (5-71): `<channelSW1>[,<channelSW2>]`; no SW2 channel (or 0)
    /// means the port map found no light for that launch.
    public static func link(_ reply: String) -> (launch: Int, receive: Int?)? {
        let parts = reply.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = parts.first, let launch = Int(first), parts.count <= 2 else { return nil }
        guard parts.count == 2, !parts[1].isEmpty else { return (launch, nil) }
        guard let receive = Int(parts[1]) else { return nil }
        return (launch, receive > 0 ? receive : nil)
    }

    /// `:FACTory:CALibration:DATe?` (4-4): `yyyy.mm.dd` the day it was calibrated, or `NO`.
    public static func calibration(_ reply: String) -> CalibrationRecord? {
        let t = reply.trimmingCharacters(in: .whitespaces)
        if t.uppercased() == "NO" { return .notCalibrated }
        let parts = t.split(separator: ".").map { Int($0) }
        guard parts.count == 3, let y = parts[0], let m = parts[1], let d = parts[2], (1990...2200).contains(y), (1...12).contains(m),
              (1...31).contains(d) else { return nil }
        return .calibrated(on: String(format: "%04d-%02d-%02d", y, m, d))
    }

    /// `:SYSTem:ERRor?` and `:SYSTem:WARNing?` (3-8, 5-108): `<code>,"<text>"`, 0 when empty.
    public static func queueEntry(_ reply: String) -> (code: Int, text: String)? { SCPI.parseError(reply) }
}
