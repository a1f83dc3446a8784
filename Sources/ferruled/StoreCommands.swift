import ArgumentParser
import FerruleRecords
import FerruleConfig
import FerruleStation
import Foundation

/// `ferruled store check|recover`: what an administrator runs when ferruled refuses to start on
/// a damaged or emptied store. Both take the data directory's lock, so neither runs beside a live
/// station.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Check the results store, or rebuild it from the unit reports.",
        subcommands: [StoreCheck.self, StoreRecover.self])
}

struct StoreLocation: ParsableArguments {
    @Option(help: "Station configuration (YAML), for its data directory.") var config: String?
    @Option(help: "Data directory (default: as 'ferruled run' chooses it).") var dataDir: String?

    /// The data directory, claimed for this process.
    func claim() throws -> (DataDirectory, ExclusiveLock) {
        var cfg: StationConfig?
        if let config {
            do { cfg = try StationConfig.load(path: config) } catch {
                fail("\(error)")
            }
        }
        let data = DataDirectory.resolve(cli: dataDir, config: cfg)
        guard FileManager.default.fileExists(atPath: data.root) else {
            fail("no data directory at \(data.root); give the station's with --data-dir or --config")
        }
        do { return (data, try ExclusiveLock.acquire(data.lockPath, what: "data directory \(data.root)")) } catch {
            fail("\(error)")
        }
    }

    func fail(_ text: String) -> Never {
        FileHandle.standardError.write(Data("ferruled store: \(text)\n".utf8))
        Foundation.exit(2)
    }
}

struct StoreCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Run SQLite's quick_check on the store and compare it with the reports. Exit 1 if it must be recovered.")
    @OptionGroup var location: StoreLocation

    func run() async throws {
        let (data, lock) = try location.claim()
        defer { withExtendedLifetime(lock) {} }
        let health = Store.check(path: data.storePath)
        print(health.description)
        print("\(data.reports): \(data.reportFiles().count) unit report(s)")
        do { try data.verifyStore() } catch {
            print("NOT USABLE: \(error)")
            throw ExitCode(1)
        }
        print("usable")
    }
}

struct StoreRecover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "Move the store aside (never deleted) and rebuild every unit from its JSON report; sinks deliver them all again.")
    @OptionGroup var location: StoreLocation
    @Flag(help: "Rebuild even though the store looks healthy (for example restored from an old backup).") var force = false

    func run() async throws {
        let (data, lock) = try location.claim()
        defer { withExtendedLifetime(lock) {} }
        let health = Store.check(path: data.storePath)
        if !force, health.state == .ok, health.units > 0 {
            print("\(health.description): nothing to recover (--force rebuilds it from the reports anyway)")
            throw ExitCode(1)
        }
        let files = data.reportFiles()
        let done: Store.Recovery
        do { done = try await Store.recover(path: data.storePath, reportFiles: files, at: Date()) } catch {
            location.fail("\(error)")
        }
        for m in done.movedAside { print("moved aside: \(m)") }
        for s in done.skipped { print("skipped: \(s)") }
        print("restored \(done.restored) of \(files.count) unit report(s) into \(data.storePath); "
            + "delivery state is unknown, so every sink delivers them again (receivers take each report id once)")
    }
}
