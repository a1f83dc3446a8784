import FerruleDevices
import NIOCore
import NIOPosix

/// The simulated instruments' own thread. A real instrument answers on its own processor
/// whatever the station is doing; a simulator that ran on Swift's cooperative pool (as many
/// threads as cores) would answer only when the station, or a test process running many
/// stations at once, left it a thread, and miss the driver's timeout on a loaded machine.
///
/// The bench and the simulated instruments are actors isolated to this thread (their
/// `unownedExecutor`), and the wire servers run each line in a task that prefers it, so that
/// the nonisolated code between them runs here too.
public enum SimulatorThread {
    /// One thread for every simulator of the process; it lives as long as the process.
    static let loop: any EventLoop = {
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1).next()
        loop.execute { nameCurrentThread("simulator") }  // apart from the station's own threads in `top` and the bench
        return loop
    }()
    /// For actors: `nonisolated public var unownedExecutor: UnownedSerialExecutor { SimulatorThread.actorExecutor }`.
    public static var actorExecutor: UnownedSerialExecutor { loop.executor.asUnownedSerialExecutor() }
    /// For tasks: `Task(executorPreference: SimulatorThread.taskExecutor) { ... }`.
    public static let taskExecutor = LoopTaskExecutor(loop: loop)
}
