import Foundation

// What every test target needs and no product does: where the repository is, scratch folders, a
// clock a test moves, running a program, waiting for a condition with a deadline. A library of
// its own (as Hummingbird's HummingbirdTesting) so the fast layer's targets share it with the
// integration suites without linking the daemon.

public enum Repo {
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    public static let simulatedConfig = Repo.root + "/Config/simulated.yaml"
    public static let schema = Repo.root + "/docs/report.schema.json"
    public static let validator = Repo.root + "/scripts/validate-reports.py"
}

/// A new folder under the system's temporary directory, named after the test that asked.
public func temporaryDirectory(_ name: String = #function) -> String {
    let dir = NSTemporaryDirectory() + "ferrule-test-\(name.filter { $0.isLetter || $0.isNumber })-\(UUID().uuidString.prefix(8))"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// A clock a test can move.
public final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var t: Date
    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { t = start }
    public func now() -> Date { lock.withLock { t } }
    public func advance(_ s: TimeInterval) { lock.withLock { t += s } }
}

/// Runs a program to completion. Returns (exit status, stdout and stderr together).
public func runProgram(_ path: String, _ arguments: [String]) throws -> (Int32, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, out)
}

public struct WaitedTooLong: Error, CustomStringConvertible {
    public var what: String
    public init(what: String) { self.what = what }
    public var description: String { "timed out waiting for \(what)" }
}

/// Polls until `condition` holds; throws after `timeout` so that a broken feature fails the test
/// instead of hanging the suite.
public func waitUntil(_ what: String = "the condition", timeout: Duration = .seconds(20),
                      _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw WaitedTooLong(what: what) }
        try await Task.sleep(for: .milliseconds(5))
    }
}
