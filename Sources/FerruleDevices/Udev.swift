import CUdev
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A device node an instrument may be on (a USB-serial tty or a USB-TMC node), with the
/// properties a config can match on.
public struct UdevCandidate: Sendable, Hashable, Codable {
    public var devnode: String
    public var syspath: String
    public var subsystem: String
    /// ID_VENDOR_ID, ID_MODEL_ID, ID_SERIAL_SHORT, ID_PATH and friends, from udev's database or,
    /// when udevd has none, from the parent USB device's attributes.
    public var properties: [String: String]

    public init(devnode: String, syspath: String, subsystem: String, properties: [String: String]) {
        self.devnode = devnode
        self.syspath = syspath
        self.subsystem = subsystem
        self.properties = properties
    }

    /// The line to paste under an instrument in the config.
    public var matchLine: String {
        let keys = ["ID_VENDOR_ID", "ID_MODEL_ID", "ID_SERIAL_SHORT"].filter { properties[$0] != nil }
        let chosen = keys.count == 3 ? keys : keys + (properties["ID_PATH"] != nil ? ["ID_PATH"] : [])
        return "match: { " + chosen.map { "\($0): \"\(properties[$0]!)\"" }.joined(separator: ", ") + " }"
    }

    public var summary: String {
        let keys = ["ID_VENDOR_ID", "ID_MODEL_ID", "ID_SERIAL_SHORT", "ID_PATH"].filter { properties[$0] != nil }
        return "\(devnode) (" + keys.map { "\($0)=\(properties[$0]!)" }.joined(separator: " ") + ")"
    }

    /// Whether every property of `match` has this value; vendor and model ids (hex) compare
    /// case-insensitively.
    public func matches(_ match: [String: String]) -> Bool {
        match.allSatisfy { key, want in
            guard let have = properties[key] else { return false }
            return Udev.hexKeys.contains(key) ? have.lowercased() == want.lowercased() : have == want
        }
    }
}

/// A `match:` that finds no device or several, listing what was found.
public struct UdevMatchError: Error, Sendable, CustomStringConvertible {
    public var instrument: String
    public var match: [String: String]
    public var found: [UdevCandidate]
    public var candidates: [UdevCandidate]

    public var description: String {
        let m = match.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let list =
            candidates.isEmpty
            ? "none (is it plugged in? `ferruled devices` lists what is there)"
            : candidates.map(\.summary).joined(separator: "; ")
        if found.isEmpty {
            return "\(instrument): no device matches \(m). Candidates: \(list)"
        }
        return "\(instrument): \(found.count) devices match \(m): \(found.map(\.summary).joined(separator: "; ")). "
            + "Add ID_SERIAL_SHORT or ID_PATH to the match to pick one"
    }
}

/// udev lookups through libudev. Without udevd (containers, CI) the database is empty, so USB
/// identity falls back to the parent USB device's sysfs attributes.
public enum Udev {
    /// The subsystems instruments appear in: USB-serial adapters and USB-TMC.
    public static let subsystems = ["tty", "usbmisc"]
    static let hexKeys: Set<String> = ["ID_VENDOR_ID", "ID_MODEL_ID"]
    static let keys = [
        "ID_VENDOR_ID", "ID_MODEL_ID", "ID_SERIAL_SHORT", "ID_SERIAL", "ID_PATH", "ID_VENDOR", "ID_MODEL",
        "ID_USB_INTERFACE_NUM", "ID_BUS"
    ]

    /// Every device node in the instrument subsystems that belongs to real hardware (a tty with
    /// a parent device: not the virtual consoles).
    public static func candidates() -> [UdevCandidate] {
        guard let udev = udev_new() else { return [] }
        defer { udev_unref(udev) }
        guard let e = udev_enumerate_new(udev) else { return [] }
        defer { udev_enumerate_unref(e) }
        for s in subsystems { udev_enumerate_add_match_subsystem(e, s) }
        udev_enumerate_scan_devices(e)
        var out: [UdevCandidate] = []
        var entry = udev_enumerate_get_list_entry(e)
        while let en = entry {
            if let path = udev_list_entry_get_name(en), let dev = udev_device_new_from_syspath(udev, path) {
                if let c = candidate(dev) { out.append(c) }
                udev_device_unref(dev)
            }
            entry = udev_list_entry_get_next(en)
        }
        return out.sorted { $0.devnode < $1.devnode }
    }

    /// The udev properties a config can match on, as the device (or its event) carries them.
    static func properties(_ dev: OpaquePointer) -> [String: String] {
        var props: [String: String] = [:]
        for k in keys {
            if let v = udev_device_get_property_value(dev, k) { props[k] = String(cString: v) }
        }
        return props
    }

    static func candidate(_ dev: OpaquePointer) -> UdevCandidate? {
        guard let node = udev_device_get_devnode(dev).map({ String(cString: $0) }),
            udev_device_get_parent(dev) != nil
        else { return nil }
        var props = properties(dev)
        // No udev database: read the USB identity from the parent USB device's attributes.
        if let usb = udev_device_get_parent_with_subsystem_devtype(dev, "usb", "usb_device") {
            for (key, attr) in [
                ("ID_VENDOR_ID", "idVendor"), ("ID_MODEL_ID", "idProduct"), ("ID_SERIAL_SHORT", "serial"),
                ("ID_VENDOR", "manufacturer"), ("ID_MODEL", "product")
            ] where props[key] == nil {
                if let v = udev_device_get_sysattr_value(usb, attr) {
                    props[key] = String(cString: v).trimmingCharacters(in: .whitespacesAndNewlines)
                }
            }
        }
        guard props["ID_VENDOR_ID"] != nil || props["ID_PATH"] != nil else { return nil }  // not a USB or platform instrument port
        let subsystem = udev_device_get_subsystem(dev).map { String(cString: $0) } ?? "?"
        return UdevCandidate(devnode: node, syspath: String(cString: udev_device_get_syspath(dev)), subsystem: subsystem, properties: props)
    }

    /// The one device that matches, or an error listing what matched or what is there.
    public static func resolve(_ match: [String: String], instrument: String, among candidates: [UdevCandidate]? = nil)
        throws(UdevMatchError) -> UdevCandidate
    {
        let all = candidates ?? Self.candidates()
        let found = all.filter { $0.matches(match) }
        guard found.count == 1 else { throw UdevMatchError(instrument: instrument, match: match, found: found, candidates: all) }
        return found[0]
    }
}

/// A port that came or went, as udev said it.
public struct DeviceEvent: Sendable {
    public var action: UdevMonitor.Action
    public var device: UdevCandidate

    public init(_ action: UdevMonitor.Action, _ device: UdevCandidate) {
        self.action = action
        self.device = device
    }
}

/// Watches udev for instrument ports coming and going (a netlink monitor on its own thread).
public final class UdevMonitor: Sendable {
    /// What happened to a device.
    public enum Action: String, Sendable { case add, remove }

    private let stopSignal = StopSignal()

    public init() {}

    /// Starts watching. Events come out in the order udev sent them (a remove and the add that
    /// follows it must not be swapped). Nil when no monitor can be made here (no netlink): then
    /// hot-plug is not seen.
    public func start() -> AsyncStream<DeviceEvent>? {
        guard let udev = udev_new() else { return nil }
        guard let mon = udev_monitor_new_from_netlink(udev, "udev") else {
            udev_unref(udev)
            return nil
        }
        for s in Udev.subsystems { udev_monitor_filter_add_match_subsystem_devtype(mon, s, nil) }
        guard udev_monitor_enable_receiving(mon) == 0 else {
            udev_monitor_unref(mon)
            udev_unref(udev)
            return nil
        }
        let fd = udev_monitor_get_fd(mon)
        let box = MonitorBox(udev: udev, mon: mon)
        let (events, continuation) = AsyncStream<DeviceEvent>.makeStream()
        let t = Thread { [self] in
            nameCurrentThread("udev-monitor")
            defer {
                udev_monitor_unref(box.mon)
                udev_unref(box.udev)
                continuation.finish()
            }
            // Blocks until udev sends something or `stop()`: an idle monitor never wakes.
            while let revents = stopSignal.waitReadable(fd) {
                // POLLERR is a lost event (ENOBUFS), read and passed over; POLLNVAL a closed socket.
                guard revents & Int16(POLLNVAL) == 0 else { return }
                guard let dev = udev_monitor_receive_device(box.mon) else { continue }
                defer { udev_device_unref(dev) }
                let action = udev_device_get_action(dev).map { String(cString: $0) } ?? ""
                guard let a = Action(rawValue: action) else { continue }
                // A removed device's attributes are gone: use what the event carries.
                if let c = Udev.candidate(dev) ?? Self.bare(dev) { continuation.yield(DeviceEvent(a, c)) }
            }
        }
        t.start()
        return events
    }

    static func bare(_ dev: OpaquePointer) -> UdevCandidate? {
        guard let node = udev_device_get_devnode(dev).map({ String(cString: $0) }) else { return nil }
        return UdevCandidate(
            devnode: node, syspath: String(cString: udev_device_get_syspath(dev)),
            subsystem: udev_device_get_subsystem(dev).map { String(cString: $0) } ?? "?", properties: Udev.properties(dev))
    }

    public func stop() {
        // Wakes the thread at once; it frees the monitor itself. Not waited for, so that stopping
        // never blocks the caller's (cooperative) thread.
        stopSignal.raise()
    }
}

/// The monitor's C handles, handed to its thread once and used only there.
private struct MonitorBox: @unchecked Sendable {
    let udev: OpaquePointer
    let mon: OpaquePointer
}
