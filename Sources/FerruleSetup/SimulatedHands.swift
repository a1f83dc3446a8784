import FerruleCore
import FerruleSimSpec
import FerruleSimulator
import FerruleConfig
import FerruleStation

/// On the simulated bench, the daemon loads units and the reference cord itself: a serial from
/// the demo lot gets that unit's faults, any other serial a good unit. With `prompts` set it
/// first asks the operator, as a real bench does, and waits for the answer.
public struct SimulatedHands: BenchHands {
    public let bench: SimulatedBench
    public let lot: [String: [AssemblyFault]]
    public let seed: UInt64
    public let prompts: PromptCenter?
    public let timeout: Duration

    public init(bench: SimulatedBench, simulation: SimulationSpec?, prompts: PromptCenter? = nil, timeout: Duration = .seconds(600)) {
        self.bench = bench
        self.lot = Dictionary((simulation?.demoLot ?? []).map { ($0.serial, $0.faults) }, uniquingKeysWith: { a, _ in a })
        self.seed = simulation?.bench.seed ?? 1
        self.prompts = prompts
        self.timeout = timeout
    }

    private func ask(_ text: String, fixture: Int) async throws {
        guard let prompts else { return }
        let answer = try await prompts.ask(text, fixture: fixture, timeout: timeout)
        if answer != "ok" { throw UnitRefused(message: "operator answered '\(answer)' to \"\(text)\"", fix: "start again when ready") }
    }

    public func loadUnit(_ request: UnitRequest, recipe: Recipe) async throws {
        try await ask("Load \(request.serial) into fixture \(request.fixture), mate both ends and close the lid", fixture: request.fixture)
        let unit = SimulatedAssembly(serial: request.serial, recipe: recipe, faults: lot[request.serial] ?? [], seed: seed)
        await bench.mount(.assembly(unit), fixture: request.fixture)
    }

    public func unloadUnit(fixture: Int) async { await bench.mount(.empty, fixture: fixture) }

    public func connectReferenceCord(fixture: Int, cord: ReferenceCord) async throws {
        try await ask("Connect reference cord \(cord.id) (Type \(cord.polarityName)) to fixture \(fixture), clean", fixture: fixture)
        await bench.mount(.cord(cord.map), fixture: fixture)
    }

    public func disconnectReferenceCord(fixture: Int) async { await bench.mount(.empty, fixture: fixture) }
}
