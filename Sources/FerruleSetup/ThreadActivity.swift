import Foundation

/// How often each thread of a process woke, from /proc (Linux). A voluntary context switch is a
/// thread blocking (in poll, a sleep, a lock) and so, once more, one wake; a count that grows
/// while nothing happens is a poller or a timer.
public struct ThreadWakes: Sendable {
    /// Voluntary switches so far, by thread id, with the thread's name.
    public var threads: [Int: (name: String, wakes: Int)]

    public init(pid: Int32) {
        let taskDir = "/proc/\(pid)/task"
        var threads: [Int: (String, Int)] = [:]
        for tid in (try? FileManager.default.contentsOfDirectory(atPath: taskDir)) ?? [] {
            guard let id = Int(tid), let status = try? String(contentsOfFile: "\(taskDir)/\(tid)/status", encoding: .utf8)
            else { continue }  // a thread that ended between the listing and the read
            var name = "?"
            var wakes = 0
            for line in status.split(separator: "\n") {
                let field = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard field.count == 2 else { continue }
                if field[0] == "Name" { name = field[1] }
                if field[0] == "voluntary_ctxt_switches" { wakes = Int(field[1]) ?? 0 }
            }
            threads[id] = (name, wakes)
        }
        self.threads = threads
    }

    /// Wakes since `earlier`, summed per thread name, busiest first (a new thread counts from zero).
    public func since(_ earlier: ThreadWakes) -> [(name: String, wakes: Int)] {
        var byName: [String: Int] = [:]
        for (tid, now) in threads {
            byName[now.name, default: 0] += now.wakes - (earlier.threads[tid]?.wakes ?? 0)
        }
        return byName.map { (name: $0.key, wakes: $0.value) }.sorted { ($0.wakes, $1.name) > ($1.wakes, $0.name) }
    }
}
