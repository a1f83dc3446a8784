import Foundation
import FerruleTesting
import Testing

/// The operator web app in a real headless Chromium (Debian's chromium and chromium-driver,
/// Python's selenium), against the built ferruled: `Tests/Browser/test_station.py`. A machine
/// without them fails here, loudly: a skipped browser test is not a pass.
@Suite(.shutsDownStations) struct BrowserTests {
    @Test func theOperatorPagesInARealBrowser() throws {
        let script = Repo.root + "/Tests/Browser/test_station.py"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script]
        process.currentDirectoryURL = URL(fileURLWithPath: Repo.root)
        process.environment = ProcessInfo.processInfo.environment.merging(["FERRULED": Daemon.executable, "PYTHONUNBUFFERED": "1"]) {
            _, b in b
        }
        let log = temporaryDirectory() + "/browser.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let summary = output.split(separator: "\n").filter { $0.hasSuffix(" ... ok") || $0.contains("ERROR") || $0.contains("FAIL") }
        print("browser tests:\n" + summary.joined(separator: "\n"))
        #expect(process.terminationStatus == 0, "the browser tests failed:\n\(output.suffix(12_000))")
        #expect(output.contains("\nOK"), "no 'OK' from unittest:\n\(output.suffix(4000))")
    }
}
