import FerruleCore
import Foundation

/// `mes.routeCheck`: where the station asks the MES whether a serial may be tested, how long it
/// waits, and what it does when the MES cannot answer.
public struct RouteCheckSpec: Sendable, Hashable {
    public var endpoint: RouteCheckEndpoint
    public var timeoutSeconds: Double = 3
    public var onUnavailable: RouteUnavailablePolicy = .refuse
}

/// The MES's side of the route check.
public enum RouteCheckEndpoint: Sendable, Hashable {
    /// `POST url` with the query as JSON (docs/integration.md has the contract); a bearer token's
    /// file (absolute, or relative to the config file's folder).
    case http(url: String, tokenFile: String?)
    /// A CFX `ValidateUnitsRequest` through the line's broker.
    case cfx(CFXRouteCheckSpec)
}

/// `mes.routeCheck.cfx`: the broker, the MES's request address, the queue its answers come to
/// (nil: `/queue/<handle>.route-answers`) and the station's CFX handle (nil: `ferrule.<station id>`).
public struct CFXRouteCheckSpec: Sendable, Hashable {
    public var broker: BrokerSpec
    public var address: String
    public var replyAddress: String?
    public var handle: String?
}

/// `routeCheck: { http: { url, timeout, tokenFile } or cfx: { broker, address, ... }, onUnavailable: refuse | allow }`.
struct RouteCheckEntry: Codable {
    var http: HTTPRouteCheckEntry?
    var cfx: CFXRouteCheckEntry?
    var onUnavailable: String?
}

struct CFXRouteCheckEntry: Codable {
    var broker: String
    var address: String?
    var replyAddress: String?
    var handle: String?
    var timeout: String?
    var user: String?
    var passwordFile: String?
    var caFile: String?
    var certFile: String?
    var keyFile: String?
}

struct HTTPRouteCheckEntry: Codable {
    var url: String
    var timeout: String?
    var tokenFile: String?
}

extension StationConfig {
    static func routeCheckSection(_ e: RouteCheckEntry?, configFile file: String, _ p: ConfigPath) throws -> RouteCheckSpec? {
        guard let e else { return nil }
        let folder = parentDirectory(of: file)
        var spec: RouteCheckSpec
        switch (e.http, e.cfx) {
        case (let http?, nil):
            let at = p.key("http")
            guard let u = URL(string: http.url), ["http", "https"].contains(u.scheme ?? ""), u.host != nil else {
                throw ConfigIssue(path: at.key("url"), message: "'\(Escaped.text(http.url))' is not an http(s) URL",
                                  fix: "give the MES's route-check endpoint, e.g. https://mes.example/route-check")
            }
            spec = RouteCheckSpec(endpoint: .http(url: http.url, tokenFile: http.tokenFile.map { resolvedPath($0, from: folder) }))
            if let t = http.timeout { spec.timeoutSeconds = try duration(t, at.key("timeout"), within: 0.1...60) }
        case (nil, let cfx?):
            let at = p.key("cfx")
            let broker = try broker(
                BrokerKeys(url: cfx.broker, user: cfx.user, passwordFile: cfx.passwordFile, caFile: cfx.caFile, certFile: cfx.certFile,
                           keyFile: cfx.keyFile),
                folder: folder, at, urlKey: "broker")
            guard let address = cfx.address, !address.isEmpty else {
                throw ConfigIssue(path: at.key("address"), message: "the CFX route check names no MES address",
                                  fix: "add the address the MES reads ValidateUnitsRequest from, e.g. 'address: /queue/mes.validate'")
            }
            spec = RouteCheckSpec(endpoint: .cfx(CFXRouteCheckSpec(
                broker: broker, address: address, replyAddress: cfx.replyAddress, handle: cfx.handle)))
            if let t = cfx.timeout { spec.timeoutSeconds = try duration(t, at.key("timeout"), within: 0.1...60) }
        case (nil, nil):
            throw ConfigIssue(path: p, message: "the route check names no MES endpoint",
                              fix: "add 'http: { url: https://mes.example/route-check, timeout: 3s }' or "
                                  + "'cfx: { broker: amqps://mes-broker:5671, address: /queue/mes.validate, caFile: ... }'")
        case (_?, _?):
            throw ConfigIssue(path: p.key("cfx"), message: "the route check names both an http and a cfx endpoint",
                              fix: "keep the one the MES answers on")
        }
        if let o = e.onUnavailable {
            spec.onUnavailable = try oneOf(o, RouteUnavailablePolicy.self, p.key("onUnavailable"), what: "route-check fallback")
        }
        return spec
    }
}
