import Crypto
import FerruleCore
import Foundation
import Synchronization

/// Where a measured unit waits, durably, while the store refuses its record (disk full,
/// read-only, a broken database): the station keeps every verdict it has shown across a stop.
///
/// The file's space is reserved when the station starts (`posix_fallocate`), so writing a unit
/// into it needs no new blocks from a disk that has just filled up. Each unit is one record,
/// synced before the unit is said to be kept:
///
///     "FSP1" | payload length (UInt32, little-endian) | first 8 bytes of SHA-256(payload) | payload (the report's JSON)
///
/// followed by four zero bytes, which the next record overwrites. Reading stops at the first
/// record that does not check out (the end, or a write torn by a power cut). `clear()` zeroes
/// the first record's magic once every unit in the file is in the store. Storing a unit from it
/// twice is harmless: the store takes a unit's final record only while the unit is running.
/// The file is opened for each operation, not held: a station keeps no descriptor for it.
public final class SpillFile: Sendable {
    public let path: String
    private let state: Mutex<State>

    private struct State {
        /// Where the next record goes (the end of the last good one).
        var end: Int
        var count: Int
    }

    private static let magic: [UInt8] = Array("FSP1".utf8)
    private static let headerBytes = 16

    /// Opens (creating) the file and reserves `reserveBytes` for it. A reservation the disk
    /// cannot give is not fatal (the records are written anyway, and may then fail): `reserved`
    /// says whether it held.
    public init(path: String, reserveBytes: Int) throws(SpillError) {
        self.path = path
        let fd = try Self.open(path)
        defer { close(fd) }
        let (records, end) = Self.scan(fd: fd)
        state = Mutex(State(end: end, count: records.count))
        reserved = reserveBytes <= 0 || posix_fallocate(fd, 0, off_t(reserveBytes)) == 0
    }

    private static func open(_ path: String) throws(SpillError) -> Int32 {
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw SpillError(path: path, what: "open a file", errno: errno) }
        return fd
    }

    /// Whether the file's space was reserved at start.
    public let reserved: Bool

    /// Units in the file now.
    public var count: Int { state.withLock { $0.count } }

    /// Writes `report` and syncs it; once this returns the unit survives a stop or a power cut.
    public func append(_ report: UnitReport) throws(SpillError) {
        let payload: Data
        do { payload = try UnitReport.encoder().encode(report) } catch {
            throw SpillError(path: path, what: "encode the report of \(report.unit.serial)", detail: "\(error)")
        }
        var record = Self.magic
        withUnsafeBytes(of: UInt32(payload.count).littleEndian) { record += $0 }
        record += SHA256.hash(data: payload).prefix(8)
        record += payload
        record += [0, 0, 0, 0]
        try state.withLock { (s: inout State) throws(SpillError) in
            let fd = try Self.open(path)
            defer { close(fd) }
            let written = record.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(s.end)) }
            guard written == record.count else {
                throw SpillError(path: path, what: "write a unit", errno: written < 0 ? errno : ENOSPC)
            }
            guard fdatasync(fd) == 0 else { throw SpillError(path: path, what: "sync a unit", errno: errno) }
            s.end += record.count - 4  // the terminator is overwritten by the next record
            s.count += 1
        }
    }

    /// Every unit in the file, oldest first.
    public func units() -> [UnitReport] {
        state.withLock { _ in
            guard let fd = try? Self.open(path) else { return [] }
            defer { close(fd) }
            return Self.scan(fd: fd).records
        }
    }

    /// Empties the file (its reserved space stays): call once every unit in it is stored.
    public func clear() throws(SpillError) {
        try state.withLock { (s: inout State) throws(SpillError) in
            guard s.count > 0 else { return }
            let fd = try Self.open(path)
            defer { close(fd) }
            let zeros = [UInt8](repeating: 0, count: 4)
            guard zeros.withUnsafeBytes({ pwrite(fd, $0.baseAddress, 4, 0) }) == 4 else {
                throw SpillError(path: path, what: "clear", errno: errno)
            }
            guard fdatasync(fd) == 0 else { throw SpillError(path: path, what: "sync", errno: errno) }
            s.end = 0
            s.count = 0
        }
    }

    /// The records that check out, and where the next one goes.
    private static func scan(fd: Int32) -> (records: [UnitReport], end: Int) {
        var records: [UnitReport] = []
        var offset = 0
        let decoder = UnitReport.decoder()
        while true {
            var header = [UInt8](repeating: 0, count: headerBytes)
            guard header.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, headerBytes, off_t(offset)) }) == headerBytes,
                Array(header[0..<4]) == magic
            else { break }
            let length = header[4..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
            var payload = Data(count: length)
            let read = payload.withUnsafeMutableBytes { pread(fd, $0.baseAddress, length, off_t(offset + headerBytes)) }
            guard read == length, Array(SHA256.hash(data: payload).prefix(8)) == Array(header[8..<16]),
                let report = try? decoder.decode(UnitReport.self, from: payload)
            else { break }
            records.append(report)
            offset += headerBytes + length
        }
        return (records, offset)
    }
}

/// The spill file could not be opened, written or synced.
public struct SpillError: Error, CustomStringConvertible {
    public var path: String
    public var what: String
    public var detail: String

    init(path: String, what: String, detail: String) {
        self.path = path
        self.what = what
        self.detail = detail
    }

    init(path: String, what: String, errno code: Int32) {
        self.init(path: path, what: what, detail: String(cString: strerror(code)))
    }

    public var description: String {
        "cannot \(what) in the spill file \(path): \(detail) (station.spillFile chooses where it is; give it a writable disk)"
    }
}
