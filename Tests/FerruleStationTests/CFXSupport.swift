import FerruleAMQP
import Foundation
import FerruleTesting
import Testing

/// The line's broker in the tests: the RabbitMQ that `.ci/run` installs and starts on
/// 127.0.0.1:5672 with its AMQP 1.0 plugin and a `ferrule` user (password `ferrule`).
enum Broker {
    static let host = "127.0.0.1"
    static let port = 5672
    static let url = "amqp://\(host):\(port)"
    static let user = "ferrule"
    static let password = "ferrule"

    /// A queue of a test's own, so that tests never read each other's messages.
    static func freshQueue(_ name: String = #function) -> String {
        "/queue/ferrule-test-\(name.prefix(while: { $0 != "(" }))-\(UUID().uuidString.prefix(8).lowercased())"
    }

    static func passwordFile(_ password: String = password) throws -> String {
        let path = temporaryDirectory() + "/amqp.password"
        try (password + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `rabbitmqctl stop_app` / `start_app`: the broker goes away (connections dropped, the port
    /// refused) and comes back with what it had stored.
    static func ctl(_ args: String...) async throws {
        let (status, out) = try await offPool { try runProgram("/usr/sbin/rabbitmqctl", args) }
        guard status == 0 else { throw DaemonError(description: "rabbitmqctl \(args.joined(separator: " ")): \(out)") }
    }

    static func sink(name: String = "line-cfx", address: String, passwordFile: String, timeout: Duration = .seconds(5)) -> CFXAMQPSink {
        CFXAMQPSink(
            name: name, broker: BrokerAccount(host: host, port: port, user: user, passwordFile: passwordFile), address: address,
            handle: "ferrule.test.station07", timeout: timeout)
    }
}

/// A consumer of the broker that no one here wrote: Qpid Proton's Python binding (Debian's
/// python3-qpid-proton, under Debian's own python3), writing each message it accepts as a JSON line.
final class CFXConsumer: @unchecked Sendable {
    let process: Process
    let file: String

    /// Starts the consumer and returns once it is connected to the broker.
    static func start(address: String) async throws -> CFXConsumer {
        let file = temporaryDirectory() + "/received.jsonl"
        _ = FileManager.default.createFile(atPath: file, contents: nil)
        let process = try await ReadyPeer.start(
            "cfx-consumer.py",
            ["--url", Broker.url, "--address", address, "--user", Broker.user, "--password", Broker.password, "--out", file])
        return CFXConsumer(process: process, file: file)
    }

    private init(process: Process, file: String) {
        self.process = process
        self.file = file
    }

    /// Every message received so far: subject, message id and the CFX envelope as JSON.
    func messages() throws -> [(subject: String, id: String, envelope: [String: Any])] {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        var lines = text.split(separator: "\n")
        // The consumer may be writing its last line as it is read: only whole lines count.
        if !text.hasSuffix("\n"), !lines.isEmpty { lines.removeLast() }
        return try lines.map { line in
            let row = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let body = try #require(row["body"] as? String)
            let envelope = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
            return (row["subject"] as? String ?? "", row["id"] as? String ?? "", envelope)
        }
    }

    func waitFor(_ count: Int, timeout: Duration = .seconds(60)) async throws -> [(subject: String, id: String, envelope: [String: Any])] {
        var got: [(subject: String, id: String, envelope: [String: Any])] = []
        try await waitUntil("\(count) CFX messages at the consumer", timeout: timeout) {
            got = try messages()
            return got.count >= count
        }
        return got
    }

    /// Waits until `count` messages about the units `transactions` (by TransactionID) are in; returns those.
    func waitFor(_ count: Int, about transactions: Set<String>, timeout: Duration = .seconds(60)) async throws
        -> [(subject: String, id: String, envelope: [String: Any])]
    {
        var got: [(subject: String, id: String, envelope: [String: Any])] = []
        try await waitUntil("\(count) CFX messages about \(transactions.count) units", timeout: timeout) {
            got = try messages().filter { transactions.contains(CFXConsumer.transaction(of: $0.envelope) ?? "") }
            return got.count >= count
        }
        return got
    }

    static func transaction(of envelope: [String: Any]) -> String? {
        let body = envelope["MessageBody"] as? [String: Any]
        return body?["TransactionID"] as? String ?? body?["TransactionId"] as? String  // ToolsUsed.cs spells it so
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// A Python peer of the broker (Proton's binding under Debian's python3) that prints "ready"
/// once it is attached to its address.
enum ReadyPeer {
    static func start(_ script: String, _ arguments: [String]) async throws -> Process {
        let process = Process()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Repo.root + "/scripts/" + script] + arguments
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let fd = output.fileHandleForReading.fileDescriptor
        let line = try await offPool { try LineReader(fd).line(seconds: 60) }
        guard line.hasPrefix("ready") else {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            throw DaemonError(description: "\(script) did not start (got '\(line)'): is RabbitMQ running with rabbitmq_amqp1_0?")
        }
        return process
    }
}
