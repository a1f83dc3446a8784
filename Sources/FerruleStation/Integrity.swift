import Crypto
import FerruleConfig
import FerruleCore
import FerruleRecords
import Foundation

/// Why a station will not start on its data directory: what was found and what to do.
public struct DataDirectoryDamaged: Error, CustomStringConvertible {
    public var message: String
    public var fix: String
    public var description: String { "\(message); \(fix)" }
}

extension DataDirectory {
    /// The reports of finished units (`reports/*.json`), oldest name first.
    public func reportFiles() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: reports)) ?? []
        return names.filter { !$0.hasPrefix(".") && $0.hasSuffix(".json") }.sorted()
            .map { (reports as NSString).appendingPathComponent($0) }
    }

    /// Before the store is opened for writing: a damaged store, or an empty one while `reports/`
    /// shows earlier units (truncated, replaced, deleted), is never used silently.
    @discardableResult
    /// Checks the store before it is opened for writing: `full` reads every page (`ferruled store
    /// check`); a start reads only what it needs (`Store.quickLook`), in bounded time whatever the
    /// store's size, and the full check follows in the background.
    public func verifyStore(full: Bool = true) throws(DataDirectoryDamaged) -> StoreHealth {
        let health = full ? Store.check(path: storePath) : Store.quickLook(path: storePath)
        let recover = "stop and run 'ferruled store recover --data-dir \(root)': it moves the damaged file aside (never deletes it) "
            + "and rebuilds every unit from its report in \(reports)"
        switch health.state {
        case .damaged(let why):
            throw DataDirectoryDamaged(message: "the results store \(storePath) is damaged (\(why))", fix: recover)
        case .absent, .ok:
            guard health.units == 0 else { return health }
            let earlier = reportFiles().count
            guard earlier > 0 else { return health }
            let what = health.state == .absent ? "is missing" : "holds no units"
            throw DataDirectoryDamaged(message: "the results store \(storePath) \(what) but \(reports) holds \(earlier) unit report(s): "
                                           + "it was deleted, truncated or replaced", fix: recover)
        }
    }

    /// The store and references are the station's own: group-readable at most (0640), whatever
    /// umask or an older version left.
    func tightenModes() {
        var files = [storePath, storePath + "-wal", storePath + "-shm"]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: references)) ?? []
        files += names.map { (references as NSString).appendingPathComponent($0) }
        for f in files where FileManager.default.fileExists(atPath: f) { _ = chmod(f, 0o640) }
    }

    /// Moves a reference file that cannot be trusted out of the way (never deletes it); returns
    /// where it went.
    func setAside(_ path: String, at date: Date) -> String {
        let stamp = Int(date.timeIntervalSince1970)
        let aside = "\(path).refused-\(stamp)"
        return (try? FileManager.default.moveItem(atPath: path, toPath: aside)) != nil ? aside : path
    }
}

/// A reference file carries a SHA-256 of its own content, so a file edited by hand (a value
/// changed by +3 dB) or damaged on disk is refused instead of skewing every IL after it.
enum ReferenceSeal {
    static let encoder: JSONEncoder = {
        let e = UnitReport.encoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    static func digest(_ r: Reference) throws -> String {
        var bare = r
        bare.checksum = nil
        return "sha256:" + SHA256.hash(data: try encoder.encode(bare)).map { String(format: "%02x", $0) }.joined()
    }

    /// The file's bytes: the reference as it decodes again (times to the millisecond) with its seal.
    static func sealed(_ r: Reference) throws -> Data {
        var canonical = try UnitReport.decoder().decode(Reference.self, from: encoder.encode(r))
        canonical.checksum = try digest(canonical)
        return try encoder.encode(canonical)
    }

    /// The reference in `data`, or why it is refused.
    static func open(_ data: Data, fixture: Int) -> Result<Reference, ReferenceRefused> {
        guard let r = try? UnitReport.decoder().decode(Reference.self, from: data) else {
            return .failure(ReferenceRefused(why: "not a readable reference (damaged, or written before references by cord)"))
        }
        guard r.fixture == fixture else { return .failure(ReferenceRefused(why: "it is fixture \(r.fixture)'s reference")) }
        guard let seal = r.checksum else {
            return .failure(ReferenceRefused(why: "it has no checksum (written by an older ferruled, or edited)"))
        }
        guard (try? digest(r)) == seal else {
            return .failure(ReferenceRefused(why: "its checksum does not match its values (edited or damaged)"))
        }
        return .success(r)
    }
}

struct ReferenceRefused: Error {
    var why: String
}
