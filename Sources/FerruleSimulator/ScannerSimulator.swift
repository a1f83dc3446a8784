import FerruleDevices
import FerruleSimSpec
import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// A fixed barcode scanner in USB-serial mode, on a pty: what a test or an engineer "scans" is
/// written to the port as the scanner would send it (the text, then its suffix, CR by default).
/// Unplugging removes the port's link and hangs up the open side, as pulling the USB cable does.
public final class SimulatedScanner: Sendable {
    public let endpoint: Endpoint
    private let pty: NIOLockedValueBox<LinkedPTY?>
    private let link: String

    init(name: String, link: String) throws {
        let pty = try LinkedPTY(link: link)
        self.link = link
        self.pty = NIOLockedValueBox(pty)
        endpoint = Endpoint(name: name, protocol: "barcode", transport: .pty, address: link)
    }

    /// Sends one scan. False when the scanner is unplugged.
    @discardableResult
    public func scan(_ text: String, suffix: String = "\r") -> Bool {
        pty.withLockedValue { pty in
            guard let pty else { return false }
            let bytes = Array((text + suffix).utf8)
            return bytes.withUnsafeBufferPointer { Glibc.write(pty.master, $0.baseAddress, $0.count) } == bytes.count
        }
    }

    /// `unplug` closes the port (the reader sees it hang up); any other fault plugs it back as a new port.
    public func inject(_ fault: WireFault) throws {
        try pty.withLockedValue { pty in
            if fault == .unplug {
                pty.map(Self.hangUp)
                pty = nil
            } else if pty == nil {
                pty = try LinkedPTY(link: link)
            }
        }
    }

    public func close() {
        pty.withLockedValue { pty in
            pty.map(Self.hangUp)
            pty = nil
        }
    }

    private static func hangUp(_ pty: LinkedPTY) {
        pty.unlink()
        Glibc.close(pty.slave)
        Glibc.close(pty.master)
    }
}
