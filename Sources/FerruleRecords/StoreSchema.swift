import FerruleCore
import Foundation
import GRDB

/// The store's tables, one migration per schema change (never edited once released).
extension Store {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE unit (
                    reportId TEXT PRIMARY KEY,
                    serial TEXT NOT NULL,
                    partNumber TEXT NOT NULL,
                    fixture INTEGER NOT NULL,
                    operator TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('running', 'done', 'interrupted')),
                    verdict TEXT,
                    startedAt REAL NOT NULL,
                    finishedAt REAL,
                    worstIlDb REAL,
                    attempt INTEGER NOT NULL,
                    previousReportId TEXT,
                    start TEXT NOT NULL,
                    report TEXT,
                    filesWritten INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX unit_serial ON unit(serial, startedAt);
                CREATE INDEX unit_part ON unit(partNumber, startedAt);
                CREATE INDEX unit_state ON unit(state);
                CREATE TABLE measurement (
                    reportId TEXT NOT NULL REFERENCES unit(reportId),
                    seq INTEGER NOT NULL,
                    fiber INTEGER NOT NULL,
                    wavelengthNm INTEGER NOT NULL,
                    expectedReceivePosition INTEGER NOT NULL,
                    receivePosition INTEGER NOT NULL,
                    arrival INTEGER,
                    referenceDbm REAL NOT NULL,
                    referencedPair INTEGER NOT NULL,
                    powerStatus TEXT,
                    powerDbm REAL,
                    rlDb REAL,
                    fault TEXT,
                    PRIMARY KEY (reportId, seq)
                );
                CREATE TABLE failureReason (
                    reportId TEXT NOT NULL REFERENCES unit(reportId),
                    code TEXT NOT NULL
                );
                CREATE INDEX failureReason_code ON failureReason(code);
                CREATE TABLE reference (
                    fixture INTEGER NOT NULL,
                    takenAt REAL NOT NULL,
                    data TEXT NOT NULL,
                    PRIMARY KEY (fixture, takenAt)
                );
                CREATE TABLE instrument (
                    name TEXT NOT NULL,
                    manufacturer TEXT NOT NULL,
                    model TEXT NOT NULL,
                    serial TEXT NOT NULL,
                    firmware TEXT NOT NULL,
                    firstSeen REAL NOT NULL,
                    lastSeen REAL NOT NULL,
                    PRIMARY KEY (name, manufacturer, model, serial, firmware)
                );
                CREATE TABLE outbox (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    reportId TEXT NOT NULL UNIQUE REFERENCES unit(reportId)
                );
                CREATE TABLE sinkCursor (
                    sink TEXT PRIMARY KEY,
                    seq INTEGER NOT NULL
                );
                CREATE TABLE meta (
                    key TEXT PRIMARY KEY,
                    value TEXT NOT NULL
                );
                CREATE TABLE delivery (
                    sink TEXT NOT NULL,
                    reportId TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('delivered', 'parked')),
                    attempts INTEGER NOT NULL,
                    detail TEXT,
                    at REAL NOT NULL,
                    PRIMARY KEY (sink, reportId)
                );
                """)
        }
        // References by path and cord: P_ref may be missing (a path no reference covers), RL is
        // kept at both ends, and every cord's matings are counted.
        m.registerMigration("v2") { db in
            try db.execute(sql: """
                CREATE TABLE measurement2 (
                    reportId TEXT NOT NULL REFERENCES unit(reportId),
                    seq INTEGER NOT NULL,
                    fiber INTEGER NOT NULL,
                    wavelengthNm INTEGER NOT NULL,
                    expectedReceivePosition INTEGER NOT NULL,
                    receivePosition INTEGER NOT NULL,
                    arrival INTEGER,
                    referenceDbm REAL,
                    referenceCord TEXT,
                    powerStatus TEXT,
                    powerDbm REAL,
                    rlDb REAL,
                    rlBDb REAL,
                    fault TEXT,
                    PRIMARY KEY (reportId, seq)
                );
                INSERT INTO measurement2 (reportId, seq, fiber, wavelengthNm, expectedReceivePosition, receivePosition, arrival,
                                          referenceDbm, powerStatus, powerDbm, rlDb, fault)
                    SELECT reportId, seq, fiber, wavelengthNm, expectedReceivePosition, receivePosition, arrival,
                           CASE WHEN referencedPair THEN referenceDbm END, powerStatus, powerDbm, rlDb, fault FROM measurement;
                DROP TABLE measurement;
                ALTER TABLE measurement2 RENAME TO measurement;
                CREATE TABLE cord (
                    id TEXT PRIMARY KEY,
                    matings INTEGER NOT NULL,
                    since REAL NOT NULL
                );
                """)
        }
        // Reports put back in one sink's queue by hand (`ferrulectl sinks resend`).
        m.registerMigration("v3") { db in
            try db.execute(sql: """
                CREATE TABLE resend (
                    sink TEXT NOT NULL,
                    reportId TEXT NOT NULL REFERENCES unit(reportId),
                    requestedAt REAL NOT NULL,
                    requestedBy TEXT NOT NULL,
                    PRIMARY KEY (sink, reportId)
                );
                """)
        }
        // One vocabulary for a reading from the meter to the report: a power read is 'ok', as the
        // report says (it was 'dBm' here). The status column becomes checked.
        m.registerMigration("v4") { db in
            try db.execute(sql: "UPDATE measurement SET powerStatus = 'ok' WHERE powerStatus = 'dBm'")
            try db.execute(sql: """
                CREATE TRIGGER measurement_powerStatus BEFORE INSERT ON measurement
                WHEN NEW.powerStatus IS NOT NULL AND NEW.powerStatus NOT IN ('ok', 'noLight', 'overRange')
                BEGIN SELECT RAISE(ABORT, 'powerStatus is ok, noLight or overRange'); END;
                """)
        }
        // The line's messages as they happen (a unit started, a reference, a fault), in order, and
        // how far each sink that carries them has delivered (see LineMessages.swift).
        m.registerMigration("v5") { db in
            try db.execute(sql: """
                CREATE TABLE lineMessage (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    at REAL NOT NULL,
                    body TEXT NOT NULL
                );
                CREATE TABLE lineMessageCursor (
                    sink TEXT PRIMARY KEY,
                    seq INTEGER NOT NULL
                );
                """)
            // A unit left running by the version before (it is recorded interrupted at this
            // start) sent no WorkStarted yet: it gets one, so its report does not come alone.
            for row in try Row.fetchAll(db, sql: "SELECT reportId, serial, fixture, startedAt FROM unit WHERE state = 'running'") {
                try Self.insert(
                    CFXUnitMessages.workStartedMessage(
                        reportId: try row.reportId(), serial: row["serial"], fixture: row["fixture"],
                        at: Date(timeIntervalSince1970: row["startedAt"])), db)
            }
        }
        // A year's store: the newest units first (history's default page, a window of days)
        // through an index instead of a sort of every unit.
        m.registerMigration("v6") { db in
            try db.execute(sql: "CREATE INDEX unit_newest ON unit(startedAt DESC, reportId)")
        }
        // A pass with readings in the recipe's warning band, counted apart in the yield. Units
        // stored before warning bands existed had none.
        m.registerMigration("v7") { db in
            try db.execute(sql: "ALTER TABLE unit ADD COLUMN warned INTEGER NOT NULL DEFAULT 0")
        }
        // A finished unit's IL and RL per fiber, wavelength and end, packed (Readings.swift), for
        // control charts over a part's year. Units stored before have none (read from the report).
        m.registerMigration("v8") { db in
            try db.execute(sql: "ALTER TABLE unit ADD COLUMN readings BLOB")
        }
        // A unit's failure codes by its report id: history lists them per row and the Pareto
        // joins them, and without this each looked through every failure of the year (85 ms for
        // the newest history page at 500,000 units, ferrule-bench --only scale).
        m.registerMigration("v9") { db in
            try db.execute(sql: "CREATE INDEX failureReason_unit ON failureReason(reportId)")
        }
        // The yield and the Pareto per day and part, kept at each commit, so that a window of
        // months reads a row a day (Rollups.swift); filled once from the units stored before.
        m.registerMigration("v10") { db in
            try db.execute(sql: Rollups.createTables)
            try Rollups.rebuild(db)
        }
        return m
    }
}

extension Row {
    /// The row's report id. A value that is not a UUID is damage in the store: it is reported
    /// (as the store operation's error) instead of trapping the daemon.
    func reportId(_ column: String = "reportId") throws -> UUID {
        let text: String? = self[column]
        guard let text, let id = UUID(uuidString: text) else {
            throw DatabaseError(message: "column \(column) holds \(text.map { "'\(Escaped.text($0))'" } ?? "NULL"), not a report id;"
                                + " run 'ferruled store check'")
        }
        return id
    }
}
