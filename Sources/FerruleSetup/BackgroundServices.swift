import Logging
import ServiceLifecycle

/// Runs services as ferruled's service group does (started in order, shut down gracefully in
/// reverse), for stations that run in-process: the demo, the benchmarks and the tests.
public final class BackgroundServices: Sendable {
    private let group: ServiceGroup
    private let task: Task<Void, Never>

    public init(_ services: [any Service], logger: Logger) {
        let group = ServiceGroup(services: services, logger: logger)
        self.group = group
        task = Task { try? await group.run() }
    }

    /// Shuts them down gracefully; returns when every one has stopped.
    public func stop() async {
        await group.triggerGracefulShutdown()
        await task.value
    }
}
