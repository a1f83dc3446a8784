import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file that could not be written whole, naming the path and the system's reason.
public struct FileWriteError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var errno: Int32

    public var description: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }
}

/// Whole-or-nothing file writes: a temporary file in the same folder, fsync, rename, fsync of
/// the folder. A reader (or the MES) sees the old file or the complete new one, never a part,
/// and a power loss after `write` returns cannot lose the file.
public enum AtomicFile {
    /// Temporary files are named `.tmp-<tag>-<uuid>`, so that a writer can clear the ones a
    /// crash left behind without touching another station's in a shared folder.
    /// Files are 0640 unless asked otherwise: results are read by the station's group, not by all.
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o640, tag: String = "ferrule") throws(FileWriteError) {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let tmp = (dir as NSString).appendingPathComponent(".tmp-\(tag)-\(UUID().uuidString)")
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileWriteError(path: tmp, operation: "create", errno: errno) }
        var failure: FileWriteError?
        data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = FileWriteError(path: tmp, operation: "write", errno: errno)
                    return
                }
                off += n
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = FileWriteError(path: tmp, operation: "fsync", errno: errno) }
        if close(fd) != 0 && failure == nil { failure = FileWriteError(path: tmp, operation: "close", errno: errno) }
        if let failure {
            unlink(tmp)
            throw failure
        }
        guard rename(tmp, path) == 0 else {
            let e = errno
            unlink(tmp)
            throw FileWriteError(path: path, operation: "rename into", errno: e)
        }
        try syncDirectory(dir)
    }

    public static func syncDirectory(_ dir: String) throws(FileWriteError) {
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw FileWriteError(path: dir, operation: "open folder", errno: errno) }
        defer { close(dfd) }
        guard fsync(dfd) == 0 else { throw FileWriteError(path: dir, operation: "fsync folder", errno: errno) }
    }

    /// Removes the temporary files a crash left in `dir` (only those with this `tag`).
    public static func removeLeftovers(in dir: String, tag: String = "ferrule") {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix(".tmp-\(tag)-") {
            unlink((dir as NSString).appendingPathComponent(name))
        }
    }

    /// `mkdir -p` that reports the real errno ("Not a directory", "Read-only file system").
    public static func makeDirectory(_ path: String) throws(FileWriteError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o750) != 0 && errno != EEXIST {
                throw FileWriteError(path: prefix, operation: "create folder", errno: errno)
            }
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw FileWriteError(path: path, operation: "create folder", errno: ENOTDIR)
        }
    }
}
