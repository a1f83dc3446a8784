import FerruleDevices
import Glibc
import Testing

/// libmodbus waits with select(), which aborts the process on a descriptor past 1024: a Modbus
/// socket given a high number is moved below it first.
@Suite struct ModbusDescriptorTests {
    @Test func aHighDescriptorIsMovedBelowSelectsLimit() throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < 2048, limit.rlim_max >= 2048 {
            limit.rlim_cur = 2048
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        let high: Int32 = 1500
        try #require(dup2(ends[1], high) == high, "this machine allows no descriptor at 1500 (RLIMIT_NOFILE \(limit.rlim_max))")
        let low = try #require(ModbusDescriptor.selectable(high))
        #expect(low < ModbusDescriptor.selectLimit && low != high)
        #expect(fcntl(high, F_GETFD) == -1, "the high one is closed")
        // The copy is the same pipe end: what is written through it arrives.
        var byte: UInt8 = 42
        #expect(write(low, &byte, 1) == 1)
        var got: UInt8 = 0
        #expect(read(ends[0], &got, 1) == 1 && got == 42)
        close(low)
        #expect(ModbusDescriptor.selectable(ends[0], closingOriginal: false) == ends[0], "a low one is left as it is")
    }
}
