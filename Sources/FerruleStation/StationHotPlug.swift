import FerruleCore
import FerruleDevices
import FerruleProtocol
import FerruleRecords
import Foundation
import Logging

// Hot-plug: instruments found by udev `match:` followed as their ports go and come back.
extension Station {
    /// Follows udev for the instruments found by `match:` until the task is cancelled (see
    /// `DeviceWatchService`). Returns at once when none is, or when no monitor can run here.
    public func watchDevices() async {
        guard !devnodes.isEmpty else { return }
        let monitor = UdevMonitor()
        let events = monitor.start()
        logger.info("udev monitor \(events != nil ? "watching" : "not available"): \(devnodes.keys.sorted().joined(separator: ", "))")
        guard let events else { return }
        await follow(events)
        monitor.stop()
    }

    /// Handles port events one at a time, in the order they came, until the sequence ends or the
    /// task is cancelled: a remove followed by an add of the same port ends with the instrument
    /// back, never missing.
    public func follow(_ events: AsyncStream<DeviceEvent>) async {
        for await e in events { await deviceEvent(e.action, e.device) }
    }

    /// An instrument's port went away or came back.
    public func deviceEvent(_ action: UdevMonitor.Action, _ device: UdevCandidate) async {
        switch action {
        case .remove:
            for (name, node) in devnodes where node == device.devnode && missing[name] == nil {
                let why = "\(name) was unplugged (\(device.devnode) removed)"
                missing[name] = why
                instrumentErrors[name] = why
                logger.error("\(why)")
                await (instruments.all[name] as? any Replugging)?.unplugged()
                await events.publish(.instrumentFault(instrument: name, detail: why))
                for w in config.fixtures where w.instruments.contains(name) || w.io == name {
                    guard case .unit = busy[w.id] else { continue }
                    unpluggedDuringUnit[w.id] = (name, "\(why) during the unit")
                    running[w.id]?.cancel()
                }
            }
        case .add:
            for spec in config.instruments where missing[spec.name] != nil {
                guard let match = spec.match, device.matches(match) else { continue }
                devnodes[spec.name] = device.devnode
                await (instruments.all[spec.name] as? any Replugging)?.replugged(at: .serial(path: device.devnode, spec.serial))
                missing[spec.name] = nil
                // The event can come before the node is usable (udev rules still setting its
                // owner, a USB-serial driver still binding): try for up to 2 s before calling it
                // a fault.
                for attempt in 1...10 {
                    do {
                        identities[spec.name] = try await instruments.all[spec.name]!.identify()
                        try? await store.saw(spec.name, identities[spec.name]!, at: now())
                        instrumentErrors[spec.name] = nil
                        break
                    } catch {
                        instrumentErrors[spec.name] = "\(error)"
                        if attempt < 10 { try? await Task.sleep(for: .milliseconds(200)) }
                    }
                }
                logger.info("\(spec.name) is back on \(device.devnode)")
                // A source that could not be switched off while it was gone is switched off first.
                if lightMayBeOn[spec.name] != nil { _ = await retrySourcesOff() }
                await events.publish(.instrumentReconnected(instrument: spec.name, address: device.devnode))
            }
        }
    }
}
