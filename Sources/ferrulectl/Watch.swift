import ArgumentParser
import FerruleProtocol
import Foundation

/// A live view per fixture: on a terminal, a grid of fibers filled in as they are measured
/// (green pass, red fail, worst IL); otherwise one plain line per event.
struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Follow the station live (Ctrl-C to stop).")
    @OptionGroup var connection: Connection
    @Flag(help: "Plain lines even on a terminal.") var plain = false

    struct FixtureView {
        var serial = ""
        var part = ""
        var state = "idle"
        var fibers: [Int: (il: Double?, pass: Bool)] = [:]
        var total = 0
        var verdict: String?
    }

    func run() async throws {
        let tty = isatty(STDOUT_FILENO) == 1 && !plain && !connection.json
        try await connection.session { s in
            let status = try await connection.call(&s, request(.status))
            let recipes = try await connection.call(&s, request(.recipes))
            var fiberCount: [String: Int] = [:]
            for r in recipes.array ?? [] { if let pn = r["partNumber"]?.string { fiberCount[pn] = r["fibers"]?.int ?? 0 } }
            var views: [Int: FixtureView] = [:]
            for f in status["fixtures"]?.array ?? [] {
                var v = FixtureView()
                v.state = f["state"]?.string ?? "idle"
                if let u = f["unit"] {
                    v.serial = u["serial"]?.text ?? ""
                    v.part = u["partNumber"]?.text ?? ""
                    v.total = u["fibersTotal"]?.int ?? 0
                }
                views[f["id"]?.int ?? 0] = v
            }
            _ = try await connection.call(&s, request(.subscribe))
            let station = status["stationId"]?.string ?? "?"
            if tty { draw(station, views) }
            while let m = try await s.next() {
                if m.type == .bye {
                    stderr("ferrulectl: dropped by the station: \(m.reason ?? "")")
                    throw ExitCode(2)
                }
                guard m.type == .event, let e = m.event else { continue }
                if connection.json {
                    printJSON(e)
                    continue
                }
                let fx = e["fixture"]?.int ?? 0
                switch e["kind"]?.string {
                case "unitStarted"?:
                    let part = e["partNumber"]?.string ?? ""
                    views[fx] = FixtureView(serial: e["serial"]?.text ?? "", part: part, state: "testing", total: fiberCount[part] ?? 0)
                case "step"?:
                    let fiber = e["fiber"]?.int ?? 0
                    let pass = e["verdict"]?.string == "pass"
                    let il = e["ilDb"]?.number
                    let old = views[fx]?.fibers[fiber]
                    views[fx]?.fibers[fiber] = ([il, old?.il].compactMap { $0 }.max(), pass && (old?.pass ?? true))
                    if !tty {
                        print(
                            "fixture \(fx) \(e["serial"]?.text ?? "") fiber \(fiber) \(e["wavelengthNm"]?.int ?? 0) nm IL "
                                + "\(fmt(e["ilDb"])) dB RL \(fmt(e["rlDb"], 1)) dB -> "
                                + "\(e["receivePosition"]?.int.map(String.init) ?? "dark") \(e["verdict"]?.text ?? "")")
                    }
                case "unitFinished"?:
                    views[fx]?.state = "done"
                    views[fx]?.verdict = e["verdict"]?.string
                    if !tty {
                        print(
                            "fixture \(fx) \(e["serial"]?.text ?? ""): \(e["verdict"]?.text?.uppercased() ?? "") report "
                                + "\(e["reportPath"]?.text ?? "")")
                    }
                case let kind?:
                    if !tty { print("\(kind): \(e)") }
                case nil: break
                }
                if tty { draw(station, views) }
            }
        }
    }

    private func draw(_ station: String, _ views: [Int: FixtureView]) {
        var out = "\u{1B}[H\u{1B}[2J Ferrule \(station)   \(Date().formatted(date: .omitted, time: .standard))\n"
        for (id, v) in views.sorted(by: { $0.key < $1.key }) {
            out +=
                "\n fixture \(id)  \(v.serial)  \(v.part)  \(v.verdict.map { $0.uppercased() } ?? v.state)  \(v.fibers.count)/\(v.total)\n"
            let fibers = v.fibers.keys.sorted()
            for row in stride(from: 0, to: fibers.count, by: 12) {
                out += "  "
                for f in fibers[row..<min(row + 12, fibers.count)] {
                    let c = v.fibers[f]!
                    let color = c.pass ? "\u{1B}[32m" : "\u{1B}[31m"
                    out += "\(color)\(String(format: "%2d:%@", f, c.il.map { String(format: "%.2f", $0) } ?? "dark"))\u{1B}[0m "
                }
                out += "\n"
            }
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
