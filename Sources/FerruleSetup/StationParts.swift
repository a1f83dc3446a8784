import FerruleAMQP
import FerruleCore
import FerruleRecords
import FerruleConfig
import FerruleStation
import Foundation
import Logging

/// What the composition root builds from a config besides the instruments: the sinks every
/// report goes to, and the MES's route check. The engine receives them through their protocols.
public enum StationParts {
    /// One sink per `sinks:` entry. A sink that cannot run (an unreadable secret, a template that
    /// no longer parses) is built as one that fails visibly with the reason, its reports kept.
    public static func sinks(for config: StationConfig, logger: Logger) -> [any Sink] {
        config.sinks.map { sink($0, config: config, logger: logger) }
    }

    /// `mes.routeCheck`, when the config has one.
    public static func routeCheck(for config: StationConfig) -> (any RouteCheck)? {
        guard let spec = config.routeCheck else { return nil }
        let timeout = Duration.milliseconds(Int64(spec.timeoutSeconds * 1000))
        switch spec.endpoint {
        case .http(let url, let tokenFile):
            return HTTPRouteCheck(url: url, timeout: timeout, tokenFile: tokenFile)
        case .cfx(let c):
            return CFXRouteCheck(
                broker: account(c.broker), address: c.address, replyAddress: c.replyAddress,
                handle: c.handle ?? "ferrule.\(config.stationId)", timeout: timeout)
        }
    }

    static func account(_ b: BrokerSpec) -> BrokerAccount {
        BrokerAccount(
            host: b.host, port: b.port, user: b.user, passwordFile: b.passwordFile,
            tls: b.tls.map { AMQPTLS(caFile: $0.caFile, certFile: $0.certFile, keyFile: $0.keyFile) })
    }

    static func sink(_ s: SinkSpec, config: StationConfig, logger: Logger) -> any Sink {
        let timeout = Duration.milliseconds(Int64(s.timeoutSeconds * 1000))
        switch s.destination {
        case .directory(let d):
            return DirectorySink(
                name: s.name, path: d.path, formats: d.formats, stationId: config.stationId, certificate: config.certificate)
        case .http(let h):
            return HTTPSink(
                name: s.name, url: h.url, format: h.format, tokenFile: h.tokenFile, timeout: timeout, certificate: config.certificate)
        case .cfxAMQP(let c):
            return CFXAMQPSink(
                name: s.name, broker: account(c.broker), address: c.address, handle: c.handle ?? "ferrule.\(config.stationId)",
                timeout: timeout)
        case .zplLabel(let l):
            var templates: [String: LabelTemplate] = [:]
            for (part, text) in l.templates {
                guard let t = try? LabelTemplate(text: text, source: "label template of \(part)") else {
                    return UnavailableSink(name: s.name, kind: .zplLabel, why: "the label template of \(part) does not parse")
                }
                templates[part] = t
            }
            return LabelSink(name: s.name, printer: l.printer, printOn: Set(l.printOn), templates: templates, timeout: timeout)
        case .postgres(let pg):
            var password: String?
            if let f = pg.passwordFile {
                guard let p = try? String(contentsOfFile: f, encoding: .utf8) else {
                    return UnavailableSink(name: s.name, kind: .postgres, why: "cannot read the password file \(f)")
                }
                password = p.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            do {
                return try PostgresSink(
                    name: s.name, url: pg.url, password: password, requireTLS: pg.requireTLS, timeout: timeout, logger: logger)
            } catch {
                return UnavailableSink(name: s.name, kind: .postgres, why: "\(error)")
            }
        }
    }
}

/// A configured sink that cannot run (its secret is unreadable): it keeps failing with the
/// reason, visibly, and its reports stay in the outbox until it is fixed and ferruled restarted.
struct UnavailableSink: Sink {
    let name: String
    let kind: SinkKind
    let why: String
    func deliver(_ report: UnitReport) async -> DeliveryOutcome { .retry(why) }
}
