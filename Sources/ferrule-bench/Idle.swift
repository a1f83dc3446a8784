import FerruleProtocol
import FerruleSetup
import Foundation

/// How often an idle ferruled wakes: the daemon (next to this program) on the config's simulated
/// bench, its web app on a free port, left alone for `seconds` after it answered its socket.
enum IdleWakes {
    static func run(configPath: String, seconds: Int) async throws {
        let dir = NSTemporaryDirectory() + "ferrule-bench-idle-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try String(contentsOfFile: configPath, encoding: .utf8)
            .replacingOccurrences(of: "listen: 127.0.0.1:8080", with: "listen: 127.0.0.1:0")
        try config.write(toFile: dir + "/station.yaml", atomically: true, encoding: .utf8)
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("ferruled")
        daemon.arguments = ["--config", dir + "/station.yaml", "--data-dir", dir + "/data", "--socket", dir + "/d.sock"]
        FileManager.default.createFile(atPath: dir + "/ferruled.log", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/ferruled.log"))
        daemon.standardOutput = log
        daemon.standardError = log
        do { try daemon.run() } catch { throw BenchError("cannot start \(daemon.executableURL!.path) (build it first): \(error)") }
        defer {
            daemon.terminate()
            daemon.waitUntilExit()
        }
        while (try? await ControlSession.with(path: dir + "/d.sock", { try await $0.call(ControlRequest(.status)) })) == nil {
            guard daemon.isRunning else {
                throw BenchError(
                    "ferruled exited at start: " + ((try? String(contentsOfFile: dir + "/ferruled.log", encoding: .utf8)) ?? ""))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .seconds(1))  // the status client's goodbye and the probe's tail
        let before = ThreadActivity(pid: daemon.processIdentifier)
        try await Task.sleep(for: .seconds(seconds))
        let woke = ThreadActivity(pid: daemon.processIdentifier).since(before)
        let total = woke.reduce(0) { $0 + $1.wakes }
        print(
            String(
                format: "idle ferruled (simulated bench, web app, %d threads): %d wakes in %d s = %.1f per second",
                woke.count, total, seconds, Double(total) / Double(seconds)))
        for t in woke where t.wakes > 0 {
            print(String(format: "    %-24@ %5d  (%.1f/s)", t.name as NSString, t.wakes, Double(t.wakes) / Double(seconds)))
        }
    }
}
