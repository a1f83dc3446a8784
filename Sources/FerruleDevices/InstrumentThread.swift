import NIOCore
import NIOPosix

/// The one thread on which the station talks to its instruments. Every line link's channel lives
/// on its event loop, and a unit measures in a task that prefers it
/// (`withTaskExecutorPreference(InstrumentThread.taskExecutor)`), so that the engine, the driver
/// actors and the link run where the reply arrives. An exchange then costs the instrument's own
/// round trip and no hand-off between threads; on Swift's cooperative pool with the channels on
/// NIO's loops it cost three (pool → loop to write, loop → pool to resume, and back).
///
/// Nothing that blocks may run on it: files and the store are written off it (the store on its
/// own queue, the report after the unit has left the preference), and libmodbus's blocking calls
/// run on each Modbus link's serial queue.
public enum InstrumentThread {
    /// One thread for every instrument link of the process; it lives as long as the process.
    public static let loop: any EventLoop = {
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1).next()
        loop.execute { nameCurrentThread("instruments") }
        return loop
    }()
    /// For tasks: `withTaskExecutorPreference(InstrumentThread.taskExecutor) { ... }`.
    public static let taskExecutor = LoopTaskExecutor(loop: loop)
}

/// Runs a task's nonisolated code, and the default actors it calls, on one event loop's thread.
public final class LoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    public init(loop: any EventLoop) { self.loop = loop }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
