import Foundation
import GRDB

extension Store {
    /// Bytes each table and index takes in the database file (SQLite's `dbstat`), largest first:
    /// where a year's store goes, for the scale benchmark.
    public func tableSizes() async throws(StoreError) -> [(name: String, bytes: Int)] {
        try await readOnly("measure the tables") { db in
            try Row.fetchAll(db, sql: "SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC").map {
                (name: $0["name"] as String, bytes: $0["bytes"] as Int)
            }
        }
    }
}
