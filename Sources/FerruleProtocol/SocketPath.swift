import Foundation

/// Where the status socket lives when nobody says: the daemon and ferrulectl agree on this.
///
/// `$FERRULE_SOCKET`; systemd's `$RUNTIME_DIRECTORY/ferruled.sock`; `/run/ferrule/ferruled.sock`
/// when that folder is writable; `$XDG_RUNTIME_DIR/ferrule/ferruled.sock`; else
/// `ferruled.sock` in the data directory.
public enum SocketPath {
    public static let system = "/run/ferrule/ferruled.sock"

    public static func daemonDefault(dataDir: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let s = environment["FERRULE_SOCKET"], !s.isEmpty { return s }
        if let r = environment["RUNTIME_DIRECTORY"], !r.isEmpty { return String(r.split(separator: ":")[0]) + "/ferruled.sock" }
        if access("/run/ferrule", W_OK) == 0 { return system }
        if let x = environment["XDG_RUNTIME_DIR"], !x.isEmpty { return x + "/ferrule/ferruled.sock" }
        return (dataDir as NSString).appendingPathComponent("ferruled.sock")
    }

    /// The first of the daemon's default places that holds a socket.
    public static func clientDefault(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let s = environment["FERRULE_SOCKET"], !s.isEmpty { return s }
        var candidates = [system]
        if let x = environment["XDG_RUNTIME_DIR"], !x.isEmpty { candidates.append(x + "/ferrule/ferruled.sock") }
        let home = environment["HOME"] ?? NSHomeDirectory()
        let state = environment["XDG_STATE_HOME"].map { $0 + "/ferrule" } ?? home + "/.local/state/ferrule"
        candidates.append(state + "/ferruled.sock")
        return candidates.first { FileManager.default.fileExists(atPath: $0) } ?? system
    }
}
