import Foundation
import FerruleTesting
import Testing

@testable import FerruleConfig

/// The line broker's keys (cfx-amqp sinks and the CFX route check): amqps needs a CA, TLS files
/// belong only to amqps, and each refusal names the key and the fix.
@Suite struct ConfigBrokerTests {
    static func text(_ mes: String) throws -> String {
        try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8) + "\nmes:\n  routeCheck:\n" + mes
    }

    static func config(_ mes: String) throws -> StationConfig {
        try StationConfig.parse(try text(mes), file: "/etc/ferrule/station.yaml")
    }

    static func refusal(_ mes: String) throws -> ConfigError {
        let text = try text(mes)
        do {
            _ = try StationConfig.parse(text, file: "/etc/ferrule/station.yaml")
        } catch {
            return error
        }
        Issue.record("accepted: \(mes)")
        throw CancellationError()
    }

    @Test func aCFXRouteCheckOverTLS() throws {
        let ca = temporaryDirectory() + "/line-ca.pem"
        try "not checked here\n".write(toFile: ca, atomically: true, encoding: .utf8)
        let c = try Self.config("""
                cfx: { broker: "amqps://mes-broker.line3", address: /queue/mes.validate, timeout: 2s,
                       user: ferrule, passwordFile: mes.password, caFile: "\(ca)" }
                onUnavailable: allow

            """)
        let spec = try #require(c.routeCheck)
        #expect(spec.timeoutSeconds == 2 && spec.onUnavailable == .allow)
        guard case .cfx(let cfx) = spec.endpoint else {
            Issue.record("not a CFX route check: \(spec)")
            return
        }
        #expect(cfx.broker.host == "mes-broker.line3" && cfx.broker.port == 5671, "amqps's own port by default")
        #expect(cfx.broker.tls == BrokerTLSSpec(caFile: ca) && cfx.broker.passwordFile == "/etc/ferrule/mes.password")
        #expect(cfx.address == "/queue/mes.validate" && cfx.replyAddress == nil)
    }

    @Test func amqpsWithoutACAIsRefused() throws {
        let e = try Self.refusal("    cfx: { broker: \"amqps://mes-broker:5671\", address: /queue/mes.validate }\n")
        #expect(e.path.description == "mes.routeCheck.cfx.caFile" && e.message.contains("needs the CA"), "\(e)")
    }

    @Test func aCAForPlainAMQPIsRefused() throws {
        let e = try Self.refusal("    cfx: { broker: \"amqp://mes-broker\", address: /q, caFile: /etc/ssl/ca.pem }\n")
        #expect(e.path.description == "mes.routeCheck.cfx.caFile" && e.fix.contains("amqps://"), "\(e)")
    }

    @Test func aCAFileThatCannotBeReadIsRefused() throws {
        let e = try Self.refusal("    cfx: { broker: \"amqps://mes-broker\", address: /q, caFile: /nonexistent/ca.pem }\n")
        #expect(e.path.description == "mes.routeCheck.cfx.caFile" && e.message.contains("/nonexistent/ca.pem"), "\(e)")
    }

    @Test func bothEndpointsAreRefused() throws {
        let e = try Self.refusal("""
                http: { url: "https://mes.example/route-check" }
                cfx: { broker: "amqp://mes-broker", address: /q }

            """)
        #expect(e.path.description == "mes.routeCheck.cfx" && e.message.contains("both"), "\(e)")
    }

    @Test func tlsFilesOnAnotherKindOfSinkAreRefused() throws {
        let text = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8).replacingOccurrences(
            of: "diagnosis:\n",
            with: "sinks:\n  - { name: db, kind: postgres, url: \"postgres://f@db/r\", caFile: /etc/ca.pem }\ndiagnosis:\n")
        do {
            _ = try StationConfig.parse(text, file: "s.yaml")
            Issue.record("a postgres sink with a caFile was accepted")
        } catch {
            #expect(error.path.description == "sinks[0].caFile" && error.fix.contains("tls: require"), "\(error)")
        }
    }

    @Test func aSinkOverTLSNeedsItsCA() throws {
        let text = try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8).replacingOccurrences(
            of: "diagnosis:\n",
            with: "sinks:\n  - { name: line, kind: cfx-amqp, url: \"amqps://broker\", address: /queue/cfx }\ndiagnosis:\n")
        do {
            _ = try StationConfig.parse(text, file: "s.yaml")
            Issue.record("an amqps sink without a CA was accepted")
        } catch {
            #expect(error.path.description == "sinks[0].caFile", "\(error)")
        }
    }
}
