import FerruleStation
import Synchronization
import Testing

@testable import FerruleStation

/// The stations a test built, shut down when the test ends (whether it did so itself or not):
/// a station left running keeps its instruments' descriptors, its store and its services until
/// the test process ends, and the process runs hundreds of tests. libmodbus can only wait on
/// descriptors below 1024 (select), so leaked stations once starved the Modbus tests.
final class BuiltStations: Sendable {
    @TaskLocal static var current: BuiltStations?
    /// Held weakly: a station the test let go of closes its store as before (a test may look at
    /// the files it leaves); one still alive at the end (its services hold it) is shut down.
    private let stations = Mutex<[Weak]>([])

    struct Weak: @unchecked Sendable {  // written once, read under the lock
        weak var station: Station?
    }

    func add(_ station: Station) { stations.withLock { $0.append(Weak(station: station)) } }

    func shutDownAll() async {
        for case let station? in stations.withLock({ $0.map(\.station) }) where await station.accepting { await station.shutdown() }
    }
}

/// `@Suite(.shutsDownStations)`: every test of the suite runs in a scope that shuts down the
/// stations it built (through `makeStation`, `makeBuiltStation` or `tracked`).
struct ShutsDownStations: TestTrait, SuiteTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard !test.isSuite else { return try await function() }
        let built = BuiltStations()
        do {
            try await BuiltStations.$current.withValue(built) { try await function() }
        } catch {
            await built.shutDownAll()
            throw error
        }
        await built.shutDownAll()
    }
}

extension Trait where Self == ShutsDownStations {
    static var shutsDownStations: ShutsDownStations { ShutsDownStations() }
}

/// Registers a station the test built by hand with the test's scope.
@discardableResult
func tracked(_ station: Station) -> Station {
    BuiltStations.current?.add(station)
    return station
}
