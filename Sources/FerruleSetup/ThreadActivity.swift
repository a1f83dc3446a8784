import Foundation

/// What each thread of a process did so far, from /proc (Linux): how often it woke and how long
/// it ran. A voluntary context switch is a thread blocking (in poll, a sleep, a lock) and so, once
/// more, one wake; a count that grows while nothing happens is a poller or a timer.
public struct ThreadActivity: Sendable {
    public struct Thread: Sendable {
        public var name: String
        /// Voluntary context switches.
        public var wakes: Int
        /// Time on a CPU (the kernel's schedstat).
        public var cpuNanoseconds: Int
    }

    /// By thread id.
    public var threads: [Int: Thread]

    public init(pid: Int32) {
        let taskDir = "/proc/\(pid)/task"
        var threads: [Int: Thread] = [:]
        for tid in (try? FileManager.default.contentsOfDirectory(atPath: taskDir)) ?? [] {
            guard let id = Int(tid), let status = try? String(contentsOfFile: "\(taskDir)/\(tid)/status", encoding: .utf8)
            else { continue }  // a thread that ended between the listing and the read
            var thread = Thread(name: "?", wakes: 0, cpuNanoseconds: 0)
            for line in status.split(separator: "\n") {
                if let name = Self.value(of: "Name:", in: line) { thread.name = String(name) }
                if let wakes = Self.value(of: "voluntary_ctxt_switches:", in: line) { thread.wakes = Int(wakes) ?? 0 }
            }
            let schedstat = try? String(contentsOfFile: "\(taskDir)/\(tid)/schedstat", encoding: .utf8)
            thread.cpuNanoseconds = schedstat?.split(separator: " ").first.flatMap { Int($0) } ?? 0
            threads[id] = thread
        }
        self.threads = threads
    }

    /// The value of a status line "Key:<tabs>value". Plain prefix matching: a benchmark reads every
    /// thread's status twice per unit, and Foundation's trimming costs more than the unit's JSON.
    private static func value(of key: String, in line: Substring) -> Substring? {
        guard line.hasPrefix(key) else { return nil }
        return line.dropFirst(key.count).drop { $0 == " " || $0 == "\t" }
    }

    /// Wakes since `earlier`, summed per thread name, busiest first (a new thread counts from zero).
    public func since(_ earlier: ThreadActivity) -> [(name: String, wakes: Int)] {
        var byName: [String: Int] = [:]
        for (tid, now) in threads {
            byName[now.name, default: 0] += now.wakes - (earlier.threads[tid]?.wakes ?? 0)
        }
        return byName.map { (name: $0.key, wakes: $0.value) }.sorted { ($0.wakes, $1.name) > ($1.wakes, $0.name) }
    }

    /// Seconds on a CPU since `earlier`, summed over the threads `counted` picks (a new thread
    /// counts from zero).
    public func cpuSeconds(since earlier: ThreadActivity, of counted: (_ name: String) -> Bool) -> Double {
        threads.reduce(0) { sum, entry in
            guard counted(entry.value.name) else { return sum }
            return sum + Double(entry.value.cpuNanoseconds - (earlier.threads[entry.key]?.cpuNanoseconds ?? 0)) / 1e9
        }
    }
}
