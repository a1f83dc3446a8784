import FerruleCore
import Foundation

/// A line broker (AMQP 1.0): where, as whom (SASL PLAIN with a password file, ANONYMOUS
/// without), and with TLS when the URL is `amqps://`. Used by the cfx-amqp sink and the CFX
/// route check.
public struct BrokerSpec: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var user: String?
    public var passwordFile: String?
    /// nil: plain AMQP (`amqp://`).
    public var tls: BrokerTLSSpec?
}

/// TLS to the broker: the CA its certificate must chain to, and the station's own certificate
/// (with its key) for a broker that asks for one.
public struct BrokerTLSSpec: Sendable, Hashable {
    public var caFile: String
    public var certFile: String?
    public var keyFile: String?
}

/// The broker's keys as a config entry has them.
struct BrokerKeys {
    var url: String?
    var user: String?
    var passwordFile: String?
    var caFile: String?
    var certFile: String?
    var keyFile: String?
}

extension StationConfig {
    /// Reads `url` (amqp:// or amqps://), the credentials and the TLS files; `p` is the entry's
    /// path and `urlKey` the name its URL has there.
    static func broker(_ k: BrokerKeys, folder: String, _ p: ConfigPath, urlKey: String) throws -> BrokerSpec {
        guard let url = k.url, let u = URLComponents(string: url), let scheme = u.scheme, ["amqp", "amqps"].contains(scheme),
              let host = u.host, !host.isEmpty
        else {
            throw ConfigIssue(
                path: p.key(urlKey), message: "'\(Escaped.text(k.url ?? ""))' is not an amqp or amqps URL",
                fix: "give the line's broker, e.g. '\(urlKey): amqps://broker.line3:5671' (TLS) or 'amqp://broker.line3:5672'")
        }
        if let user = k.user, k.passwordFile == nil {
            throw ConfigIssue(
                path: p.key("passwordFile"), message: "user '\(Escaped.text(user))' has no password",
                fix: "add 'passwordFile: /etc/ferrule/amqp.password' (a file holding only the password)")
        }
        var spec = BrokerSpec(
            host: host, port: u.port ?? (scheme == "amqps" ? 5671 : 5672), user: k.user,
            passwordFile: k.passwordFile.map { resolvedPath($0, from: folder) })
        spec.tls = try brokerTLS(k, tlsWanted: scheme == "amqps", folder: folder, p, urlKey: urlKey)
        return spec
    }

    private static func brokerTLS(_ k: BrokerKeys, tlsWanted: Bool, folder: String, _ p: ConfigPath, urlKey: String) throws
        -> BrokerTLSSpec?
    {
        guard tlsWanted else {
            for (key, set) in [("caFile", k.caFile != nil), ("certFile", k.certFile != nil), ("keyFile", k.keyFile != nil)] where set {
                throw ConfigIssue(
                    path: p.key(key), message: "'\(key)' is for TLS, and the broker's URL is plain amqp://",
                    fix: "use '\(urlKey): amqps://HOST:5671' for TLS, or remove '\(key)'")
            }
            return nil
        }
        guard let ca = k.caFile else {
            throw ConfigIssue(
                path: p.key("caFile"), message: "an amqps broker needs the CA that signed its certificate",
                fix: "add 'caFile: /etc/ferrule/line-ca.pem' (PEM); the broker's certificate must also name its host")
        }
        if k.keyFile != nil, k.certFile == nil {
            throw ConfigIssue(path: p.key("keyFile"), message: "a key without a certificate", fix: "add 'certFile' or remove 'keyFile'")
        }
        let tls = BrokerTLSSpec(
            caFile: resolvedPath(ca, from: folder), certFile: k.certFile.map { resolvedPath($0, from: folder) },
            keyFile: k.keyFile.map { resolvedPath($0, from: folder) })
        for (key, file) in [("caFile", tls.caFile), ("certFile", tls.certFile), ("keyFile", tls.keyFile)] {
            guard let file, !FileManager.default.isReadableFile(atPath: file) else { continue }
            throw ConfigIssue(
                path: p.key(key), message: "cannot read '\(Escaped.text(file))'",
                fix: "give the path of a readable PEM file (relative paths are from the config file's folder)")
        }
        return tls
    }
}
