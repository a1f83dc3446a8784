import FerruleDevices
import FerruleSetup
import FerruleConfig
import Foundation
import Testing

/// An idle station blocks instead of polling: its own threads sleep until something happens,
/// and no timer wakes it more than about once a second.
@Suite(.shutsDownStations) struct IdleTests {
    @Test func stopSignalWakesABlockedThreadAndPassesOnItsDescriptor() async throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { fds.forEach { close($0) } }
        let stop = StopSignal()
        let watched = fds[0]
        var one: UInt8 = 1
        _ = write(fds[1], &one, 1)
        #expect(stop.waitReadable(watched).map { $0 & Int16(POLLIN) != 0 } == true)
        var byte: UInt8 = 0
        _ = read(watched, &byte, 1)

        // Nothing to read now: the thread blocks with no timeout until the signal is raised.
        let (ended, continuation) = AsyncStream<Int16?>.makeStream()
        Thread { continuation.yield(stop.waitReadable(watched)) }.start()
        stop.raise()
        var result: Int16?? = .none
        for await r in ended {
            result = .some(r)
            break
        }
        #expect(result == .some(nil))
        #expect(stop.waitReadable(watched) == nil, "a raised signal stays raised")
    }

    @Test func idleDaemonDoesNotPoll() async throws {
        let d = try await Daemon()
        defer { Task { await d.stop() } }
        // The harness's status call has ended; what follows is the daemon alone. Up to three
        // windows, the quietest counts: a poller wakes the daemon in every window, while a busy
        // machine (other suites at work) only makes some windows noisier.
        let seconds = 4.0
        var quietest: [(name: String, wakes: Int)]?
        for _ in 0..<3 {
            let before = ThreadActivity(pid: d.pid)
            try await Task.sleep(for: .seconds(seconds))  // the observation window, not a synchronisation
            let woke = ThreadActivity(pid: d.pid).since(before)
            let total = woke.reduce(0) { $0 + $1.wakes }
            print("idle ferruled woke \(total) times in \(seconds) s: \(woke.filter { $0.wakes > 0 })")
            // The simulated Modbus instruments' threads block until a request or the stop: never woken.
            let own = woke.filter { $0.name.hasPrefix("modbus-") || $0.name == "udev-monitor" }
            #expect(!own.isEmpty, "the simulated bench's Modbus threads are named")
            #expect(own.allSatisfy { $0.wakes == 0 }, "\(own)")
            if total < quietest.map({ $0.reduce(0) { $0 + $1.wakes } }) ?? .max { quietest = woke }
            if Double(total) / seconds < 15 { break }
        }
        let woke = try #require(quietest)
        let total = woke.reduce(0) { $0 + $1.wakes }
        // About 9-11/s measured: two 1 s timers (idle clients, the web server's date), each waking
        // Dispatch's timer thread and a worker. One 100 ms poller alone would add 10-25/s.
        #expect(Double(total) / seconds < 15, "\(woke)")
    }
}
