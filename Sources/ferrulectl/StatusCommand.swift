import ArgumentParser
import FerruleCore
import FerruleProtocol
import Foundation

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Fixtures, instruments, references and the units in progress.")
    @OptionGroup var connection: Connection

    func run() async throws {
        let status = try await connection.session { s in try await connection.call(&s, request(.status), as: StationStatus.self) }
        if connection.json {
            printJSON(status)
            return
        }
        print("station \(Escaped.text(status.stationId)) (ferrule \(status.softwareVersion)), config \(Escaped.text(status.configPath))")
        for f in status.fixtures { Self.show(f) }
        for i in status.instruments {
            let error = i.lastError.map { " last error: \(Escaped.text($0))" } ?? ""
            let calibration = (i.calibration.map { "; \(Escaped.text($0))" } ?? "") + (i.calibrationOverdue == true ? " OVERDUE" : "")
            print(
                "instrument \(Escaped.text(i.name)): \(i.state.rawValue) \(Escaped.text(i.identity?.model ?? "")) "
                    + "\(Escaped.text(i.identity?.serial ?? ""))\(error)\(calibration)")
        }
        Self.show(status.storage)
        for k in status.sinks {
            var line = "sink \(Escaped.text(k.name)) (\(k.kind.rawValue)): \(k.pending) pending, \(k.parked) parked"
            if let f = k.failing {
                line += "; FAILING since \(k.failingSince.map(UnitReport.isoMilliseconds) ?? "?"): \(Escaped.text(f))"
            }
            print(line)
        }
        if let c = status.centralRecipes {
            let revisions = c.revisions.sorted { $0.key < $1.key }.map { "\(Escaped.text($0.key)) r\($0.value)" }.joined(separator: ", ")
            let when = c.fromCache ? "CACHED (database not read)" : "read \(c.fetchedAt.map(UnitReport.isoMilliseconds) ?? "?")"
            print("recipes from \(Escaped.text(c.source)), \(when): \(revisions)")
            for p in c.problems { print("  recipes: \(Escaped.text(p))") }
        }
    }

    private static func show(_ f: StationStatus.Fixture) {
        var line = "fixture \(f.id): \(f.state.rawValue)"
        if let u = f.unit {
            line += " \(Escaped.text(u.serial)) \(Escaped.text(u.partNumber)) \(u.fibersDone)/\(u.fibersTotal) fibers"
        }
        line += "; reference \(f.reference.state.rawValue)"
        if let until = f.reference.validUntil { line += " until \(UnitReport.isoMilliseconds(until))" }
        if let light = f.sourceMayBeOn { line += "; \(Escaped.text(light).uppercased())" }
        Swift.print(line)
        let refs = f.references.map { r in
            "\(Escaped.text(r.cord ?? "?")) (Type \(Escaped.text(r.polarity ?? "?"))) \(r.state.rawValue)"
        }
        if !refs.isEmpty { Swift.print("  references: \(refs.joined(separator: ", "))") }
        let cords = f.cords.map { c in
            let state = c.state == .ok ? "" : " \(c.state.rawValue.uppercased())"
            return "\(c.role.rawValue) \(Escaped.text(c.id)) \(c.matings)/\(c.maxMatings)\(state)"
        }
        if !cords.isEmpty { Swift.print("  cords (matings/rated): \(cords.joined(separator: ", "))") }
    }

    private static func show(_ st: StationStatus.Storage) {
        let size = Double(st.sizeBytes) / 1_048_576
        let free = st.freeBytes.map { String(format: "%.0f MB free", Double($0) / 1_048_576) } ?? "free space unknown"
        var line = String(format: "store %@: %.1f MB, %@", Escaped.text(st.path), size, free)
        if let p = st.problem { line += "; CANNOT STORE: \(Escaped.text(p)) (\(st.unstoredUnits) unit(s) waiting in memory)" }
        if let p = st.reportFilesProblem { line += "; REPORT FILES LATE: \(st.reportFilesUnwritten) unit(s): \(Escaped.text(p))" }
        switch st.integrity?.state {
        case .running?: line += "; checking every page in the background"
        case .ok?: line += "; every page checked"
        case .damaged?: line += "; DAMAGED: \(Escaped.text(st.integrity?.detail ?? ""))"
        case nil: break
        }
        if let r = st.retention {
            line += "; retention at \(r.at.formatted(date: .omitted, time: .shortened)): \(r.retired) unit(s) "
                + "\(r.archived ? "archived" : "dropped"), \(r.kept) past the cut kept (owed or running)"
        }
        Swift.print(line)
    }
}
