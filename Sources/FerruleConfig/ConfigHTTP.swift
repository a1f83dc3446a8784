import FerruleCore
import Foundation
import Yams

/// What a signed-in user may do on the web app. Each role may do everything the one before may.
public enum StationRole: String, Sendable, Codable, CaseIterable, Comparable {
    /// Test units, answer prompts, stop a unit.
    case `operator`
    /// Also: references, reset a cord's matings, re-send a parked delivery.
    case supervisor
    /// Also: reload the config, inject faults into simulated instruments.
    case engineer

    public static func < (a: StationRole, b: StationRole) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// A person who may sign in: id (what a badge carries), name, role, language, and the PIN only as
/// a bcrypt hash (`ferruled hash-pin` prints one).
public struct StationUser: Sendable, Hashable {
    public var id: String
    public var name: String
    public var role: StationRole
    public var pinHash: String
    /// `en` or `zh`; nil: the browser's.
    public var language: String?
    /// The code on the user's badge: scanned at a fixture's scanner, it signs them in there.
    public var badge: String?
}

/// The `http:` section: where the operator web app listens, with TLS and the idle sign-out.
public struct HTTPSpec: Sendable, Hashable {
    public var host: String
    /// 0: any free port (tests); the bound one is in `status`.
    public var port: Int
    public var tlsCertificate: String?
    public var tlsKey: String?
    public var idleSignOutSeconds: Double = Self.defaultIdleSignOutSeconds
    public static let defaultIdleSignOutSeconds: Double = 15 * 60
    /// Failed sign-ins per user and per address before further tries wait.
    public var maxFailedSignIns = 5

    public var isLoopback: Bool { ["127.0.0.1", "::1", "localhost"].contains(host) || host.hasPrefix("127.") }
}

/// The languages the operator pages ship in.
public let operatorLanguages = ["en", "zh"]

struct HTTPEntry: Codable {
    var listen: String
    var tls: TLSEntry?
    var idleSignOut: String?
    var maxFailedSignIns: Int?
}

struct TLSEntry: Codable {
    var certificate: String
    var key: String
}

struct UserEntry: Codable {
    var id: String
    var name: String
    var role: String
    var pinHash: String
    var language: String?
    var badge: String?
}

extension StationConfig {
    /// `http:`: `listen: host:port`; TLS files relative to the config file; no non-loopback address
    /// without users (anyone on the line's network could otherwise drive the station).
    static func httpSection(_ e: HTTPEntry, users: [StationUser], configFile file: String, _ path: ConfigPath) throws -> HTTPSpec {
        let listen = e.listen.trimmingCharacters(in: .whitespaces)
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port), colon > listen.startIndex
        else {
            throw ConfigIssue(
                path: path.key("listen"), message: "'\(Escaped.text(e.listen))' is not host:port",
                fix: "write e.g. 127.0.0.1:8080 (this machine only) or 0.0.0.0:8080 (the line's network, needs users)")
        }
        let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        var spec = HTTPSpec(host: host, port: port)
        guard spec.isLoopback || !users.isEmpty else {
            throw ConfigIssue(
                path: path.key("listen"), message: "the web app would listen on \(Escaped.text(host)), beyond this machine, with no users",
                fix: "declare users (with PIN hashes from 'ferruled hash-pin') under 'users', or listen on 127.0.0.1")
        }
        if let tls = e.tls {
            let folder = parentDirectory(of: file)
            let (certificate, key) = (resolvedPath(tls.certificate, from: folder), resolvedPath(tls.key, from: folder))
            spec.tlsCertificate = certificate
            spec.tlsKey = key
            for (key, p) in [("certificate", certificate), ("key", key)]
            where !FileManager.default.isReadableFile(atPath: p) {
                throw ConfigIssue(
                    path: path.key("tls").key(key), message: "cannot read '\(Escaped.text(p))'",
                    fix: "give a readable PEM file (relative paths start at the config file's folder)")
            }
        }
        if let t = e.idleSignOut { spec.idleSignOutSeconds = try duration(t, path.key("idleSignOut"), within: 10...86_400) }
        if let n = e.maxFailedSignIns {
            guard (1...100).contains(n) else {
                throw ConfigIssue(path: path.key("maxFailedSignIns"), message: "\(n) is outside 1...100", fix: "use e.g. 5")
            }
            spec.maxFailedSignIns = n
        }
        return spec
    }

    /// `users:` in the config, or `usersFile:` (a YAML list of the same entries, relative to the config).
    static func usersSection(_ entries: [UserEntry]?, file usersFile: String?, configFile: String, _ root: ConfigPath) throws
        -> [StationUser]
    {
        if entries != nil && usersFile != nil {
            throw ConfigIssue(
                path: root.key("usersFile"), message: "both 'users' and 'usersFile' are given",
                fix: "keep the users in one place: the list or the file")
        }
        var list = entries ?? []
        var path = root.key("users")
        if let f = usersFile {
            let full = resolvedPath(f, from: parentDirectory(of: configFile))
            path = root.key("usersFile")
            do {
                list = try YAMLDecoder().decode([UserEntry].self, from: String(contentsOfFile: full, encoding: .utf8))
            } catch {
                throw ConfigIssue(
                    path: path, message: "cannot read the users in '\(Escaped.text(full))': \(error)",
                    fix: "give a YAML list of { id, name, role, pinHash, language } entries")
            }
        }
        var users: [StationUser] = []
        for (i, e) in list.enumerated() {
            users.append(try user(e, users: users, path.index(i)))
        }
        return users
    }

    private static func user(_ e: UserEntry, users: [StationUser], _ p: ConfigPath) throws -> StationUser {
        let id = e.id.trimmingCharacters(in: .whitespaces)
        guard !id.isEmpty, id.count <= 64, id.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw ConfigIssue(
                path: p.key("id"), message: "user id '\(Escaped.text(e.id))' is empty, long or has odd characters",
                fix: "use what the badge carries: letters, digits, '-', '_' or '.', at most 64")
        }
        guard !users.contains(where: { $0.id == id }) else {
            throw ConfigIssue(path: p.key("id"), message: "user id '\(id)' is used twice", fix: "give every user their own id")
        }
        // bcrypt: $2a$/$2b$/$2y$, a two-digit cost, 53 characters of salt and hash.
        let h = e.pinHash
        guard h.count == 60, ["$2a$", "$2b$", "$2y$"].contains(String(h.prefix(4))), Int(h.dropFirst(4).prefix(2)) != nil else {
            throw ConfigIssue(
                path: p.key("pinHash"), message: "the PIN hash of '\(id)' is not a bcrypt hash",
                fix: "run 'ferruled hash-pin' and paste the line it prints (a PIN is never stored as itself)")
        }
        if let l = e.language, !operatorLanguages.contains(l) {
            throw ConfigIssue(
                path: p.key("language"), message: "'\(Escaped.text(l))' is not a language the pages ship in",
                fix: "use one of: \(operatorLanguages.joined(separator: ", ")), or leave it out for the browser's")
        }
        if let b = e.badge {
            let control = b.unicodeScalars.contains { $0.properties.generalCategory == .control }
            guard !b.isEmpty, b.count <= 128, b == b.trimmingCharacters(in: .whitespaces), !control else {
                throw ConfigIssue(
                    path: p.key("badge"), message: "the badge of '\(id)' is empty, over 128 characters or has spaces or control characters",
                    fix: "give the code the badge carries, exactly as the scanner reads it")
            }
            if let other = users.first(where: { $0.badge == b }) {
                throw ConfigIssue(path: p.key("badge"), message: "'\(other.id)' has the same badge", fix: "give every user their own badge")
            }
        }
        return StationUser(
            id: id, name: e.name, role: try oneOf(e.role, StationRole.self, p.key("role"), what: "role"),
            pinHash: h, language: e.language, badge: e.badge)
    }
}
