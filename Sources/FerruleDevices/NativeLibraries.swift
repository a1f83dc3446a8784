import CModbus
import CUdev

/// The versions of the C libraries the instrument layer links, for `ferruled --version` and reports.
public enum NativeLibraries {
    public static var libmodbusVersion: String {
        "\(libmodbus_version_major).\(libmodbus_version_minor).\(libmodbus_version_micro)"
    }

    /// Whether a udev context can be created here (it can without udevd; enumeration then reads sysfs).
    public static var udevAvailable: Bool {
        guard let udev = udev_new() else { return false }
        udev_unref(udev)
        return true
    }
}
