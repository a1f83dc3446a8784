import Foundation

/// Names the calling thread as `ps`, `top` and /proc show it (at most 15 bytes). Foundation's
/// `Thread.name` does not reach the kernel on Linux, and `pthread_setname_np` is not visible to
/// Swift here; the kernel's own file for it is.
public func nameCurrentThread(_ name: String) {
    guard let file = FileHandle(forWritingAtPath: "/proc/thread-self/comm") else { return }
    defer { try? file.close() }
    try? file.write(contentsOf: Data(name.utf8.prefix(15)))
}
