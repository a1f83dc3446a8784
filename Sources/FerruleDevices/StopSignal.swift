import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A one-way stop for plain threads that block in poll(2). Raising it makes a pipe readable,
/// which wakes every thread waiting in `waitReadable` at once; so such a thread can wait for its
/// descriptor with no timeout, and an idle one never wakes (no 100 ms polling to notice a stop).
public final class StopSignal: Sendable {
    /// The pipe's read end stays readable once a byte is written (it is never read): every
    /// waiter, present and future, sees it. -1 when no pipe could be made.
    private let readFD: Int32
    private let writeFD: Int32
    private let raised = Atomic<Bool>(false)

    public init() {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                _ = fcntl(fd, F_SETFL, O_NONBLOCK)
            }
        } else {
            fds = [-1, -1]
        }
        (readFD, writeFD) = (fds[0], fds[1])
    }

    deinit {
        if readFD >= 0 {
            close(readFD)
            close(writeFD)
        }
    }

    public var isRaised: Bool { raised.load(ordering: .acquiring) }

    public func raise() {
        guard !raised.exchange(true, ordering: .acquiringAndReleasing), writeFD >= 0 else { return }
        var one: UInt8 = 1
        _ = write(writeFD, &one, 1)
    }

    /// Blocks until `fd` has something to say: its poll events (POLLIN, POLLHUP, POLLERR...), or
    /// POLLNVAL when poll itself fails (the wait cannot go on). Nil once the signal is raised.
    public func waitReadable(_ fd: Int32) -> Int16? {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)]
        // Without a pipe (none could be made) a stop is noticed within a second instead.
        let timeout: Int32 = readFD >= 0 ? -1 : 1000
        while !isRaised {
            let n = poll(&fds, 2, timeout)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return Int16(POLLNVAL) }
            if n == 0 || fds[1].revents != 0 { continue }
            return fds[0].revents
        }
        return nil
    }
}
