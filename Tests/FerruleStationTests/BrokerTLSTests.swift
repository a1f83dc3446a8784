import FerruleAMQP
import FerruleCore
import FerruleRecords
import Foundation
import FerruleTesting
import Testing

/// The broker's TLS listener as `.ci/run` sets it up: port 5671, a certificate for the name
/// `localhost` only, signed by the CA in `caFile`.
enum BrokerTLS {
    static let caFile = ProcessInfo.processInfo.environment["FERRULE_TEST_BROKER_CA"] ?? "/etc/rabbitmq/ferrule-ci/ca.pem"
    static let port = 5671

    /// A CA of the test's own, which signed nothing the broker holds.
    static func wrongCA() throws -> String {
        let folder = temporaryDirectory()
        let (status, out) = try runProgram("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Not the line's CA",
            "-keyout", folder + "/wrong.key", "-out", folder + "/wrong-ca.pem",
        ])
        guard status == 0 else { throw DaemonError(description: "openssl could not make a CA: \(out)") }
        return folder + "/wrong-ca.pem"
    }

    static func sink(host: String, caFile: String, address: String) throws -> CFXAMQPSink {
        CFXAMQPSink(
            name: "line-cfx",
            broker: BrokerAccount(
                host: host, port: port, user: Broker.user, passwordFile: try Broker.passwordFile(), tls: AMQPTLS(caFile: caFile)),
            address: address, handle: "ferrule.test.station07", timeout: .seconds(20))
    }
}

/// `amqps://` to the line's broker (#30 item 3): delivered with the right CA and host name;
/// refused, naming the broker, the check that failed and the fix, with a wrong CA or a name
/// the broker's certificate does not hold.
@Suite(.shutsDownStations) struct BrokerTLSTests {
    func message() -> LineMessage {
        LineMessage(at: Date(), .operatorActivated(operatorId: "op-tls", via: "web"))
    }

    @Test(.timeLimit(.minutes(3))) func amqpsDeliversWhenTheCertificateChecksOut() async throws {
        let address = Broker.freshQueue()
        let consumer = try await CFXConsumer.start(address: address)
        defer { consumer.stop() }
        let sink = try BrokerTLS.sink(host: "localhost", caFile: BrokerTLS.caFile, address: address)
        #expect(await sink.deliver(message()) == .delivered)
        await sink.shutdown()
        let got = try await consumer.waitFor(1)
        #expect(got.first?.subject == "CFX.Production.OperatorActivated")
    }

    @Test(.timeLimit(.minutes(3))) func aWrongCAIsRefusedNamingTheCheck() async throws {
        let wrong = try BrokerTLS.wrongCA()
        let sink = try BrokerTLS.sink(host: "localhost", caFile: wrong, address: Broker.freshQueue())
        let outcome = await sink.deliver(message())
        await sink.shutdown()
        guard case .retry(let why) = outcome else {
            Issue.record("a broker whose certificate the CA did not sign took the message: \(outcome)")
            return
        }
        #expect(why.contains("amqps://localhost:5671") && why.contains("failed the certificate check"), "\(why)")
        #expect(why.contains(wrong) && why.contains("give caFile the CA that signed the broker's certificate"), "\(why)")
    }

    @Test(.timeLimit(.minutes(3))) func aHostTheCertificateDoesNotNameIsRefusedNamingTheCheck() async throws {
        let sink = try BrokerTLS.sink(host: "127.0.0.1", caFile: BrokerTLS.caFile, address: Broker.freshQueue())
        let outcome = await sink.deliver(message())
        await sink.shutdown()
        guard case .retry(let why) = outcome else {
            Issue.record("a certificate for localhost was taken for 127.0.0.1: \(outcome)")
            return
        }
        #expect(why.contains("amqps://127.0.0.1:5671") && why.contains("failed the host-name check"), "\(why)")
        #expect(why.contains("does not name '127.0.0.1'"), "\(why)")
    }
}
