import CompressNIO
import Foundation
import GRDB
import NIOCore

/// A record's JSON as the store keeps it: zlib-deflated into a BLOB, a seventh of the text for a
/// unit's report (30 kB of JSON, mostly repeated keys, become about 4 kB), so a year of units
/// fits the disk a station has. Rows written before are TEXT and are read as they are.
enum StoredJSON {
    static func pack(_ json: Data) throws -> Data {
        var buffer = ByteBuffer(bytes: json)
        let packed = try buffer.compress(with: .zlib())
        return Data(packed.readableBytesView)
    }

    /// The JSON of a stored value: a BLOB is inflated, TEXT (an older row) taken as it is.
    static func unpack(_ value: DatabaseValue) throws -> Data? {
        switch value.storage {
        case .null: return nil
        case .string(let text): return Data(text.utf8)
        case .blob(let data):
            var buffer = ByteBuffer(bytes: data)
            return Data(try buffer.decompress(with: .zlib()).readableBytesView)
        case .int64, .double:
            throw DatabaseError(message: "a stored record holds a number, not JSON; run 'ferruled store check'")
        }
    }
}
