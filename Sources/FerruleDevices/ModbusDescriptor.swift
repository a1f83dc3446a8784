#if canImport(Glibc)
import Glibc
#endif

/// libmodbus waits for a reply with select(), and glibc aborts the whole process when select()
/// is handed a descriptor past FD_SETSIZE (1024): "bit out of range 0 - FD_SETSIZE on fd_set".
/// A station with many clients, stores and ptys open can be given such a number for a Modbus
/// socket, so the descriptor is moved to the lowest free number first.
public enum ModbusDescriptor {
    public static let selectLimit: Int32 = 1024

    /// `fd` itself when select() can take it; else a duplicate below the limit (`fd` closed
    /// with `closingOriginal`, else the caller closes both); nil, with `fd` left as it is, when
    /// every number below the limit is taken.
    public static func selectable(_ fd: Int32, closingOriginal: Bool = true) -> Int32? {
        guard fd >= selectLimit else { return fd }
        let low = fcntl(fd, F_DUPFD_CLOEXEC, 3)
        guard low >= 0 else { return nil }
        guard low < selectLimit else {
            close(low)
            return nil
        }
        if closingOriginal { close(fd) }
        return low
    }
}
