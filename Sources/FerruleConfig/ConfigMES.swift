import FerruleCore
import Foundation

/// `mes.routeCheck`: where the station asks the MES whether a serial may be tested, and what it
/// does when the MES cannot answer.
public struct RouteCheckSpec: Sendable, Hashable {
    public var url: String
    public var timeoutSeconds: Double = 3
    /// A bearer token's file (absolute, or relative to the config file's folder).
    public var tokenFile: String?
    public var onUnavailable: RouteUnavailablePolicy = .refuse
}

extension StationConfig {
    static func routeCheckSection(_ e: RouteCheckEntry?, configFile file: String, _ p: ConfigPath) throws -> RouteCheckSpec? {
        guard let e else { return nil }
        guard let http = e.http else {
            throw ConfigIssue(path: p, message: "the route check names no MES endpoint",
                              fix: "add 'http: { url: https://mes.example/route-check, timeout: 3s }' (a CFX route check is not built yet)")
        }
        guard let u = URL(string: http.url), ["http", "https"].contains(u.scheme ?? ""), u.host != nil else {
            throw ConfigIssue(path: p.key("http").key("url"), message: "'\(Escaped.text(http.url))' is not an http(s) URL",
                              fix: "give the MES's route-check endpoint, e.g. https://mes.example/route-check")
        }
        var spec = RouteCheckSpec(url: http.url)
        if let t = http.timeout { spec.timeoutSeconds = try duration(t, p.key("http").key("timeout"), within: 0.1...60) }
        spec.tokenFile = http.tokenFile.map { resolvedPath($0, from: parentDirectory(of: file)) }
        if let o = e.onUnavailable {
            spec.onUnavailable = try oneOf(o, RouteUnavailablePolicy.self, p.key("onUnavailable"), what: "route-check fallback")
        }
        return spec
    }
}
