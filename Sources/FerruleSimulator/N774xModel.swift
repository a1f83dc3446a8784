import FerruleCore
import Foundation

/// Keysight N7744C/N7745C multi-port power meter: every port reads the light that arrives at the
/// receive position it is cabled to (a fixture names the meter as its receive switch, each port a
/// position), in watts with the detectors' noise; `:FETCh:POWer:ALL:CSV?` answers every port.
struct N774xModel: SCPIModel {
    let name: String
    let ports: Int
    let bench: SimulatedBench
    let state = State()
    var identity: String { "Keysight Technologies,\(ports <= 4 ? "N7744C" : "N7745C"),SIM-\(name),1.2.3" }
    var ieee4882: Bool { true }

    final class State: @unchecked Sendable {  // used from the owning device actor only
        var wavelength = 1550
    }

    func execute(_ h: String, _ a: [String], device: SCPIDevice) async -> SCPIResult {
        if let (port, _, rest) = KeysightModel.address(h, "SENS(?:E)?") {
            guard (1...ports).contains(port) else { return .error(-241, "Hardware missing") }
            switch rest {
            case "POW:WAV:ALL", "POWER:WAVELENGTH:ALL", "POW:WAV", "POWER:WAVELENGTH":
                guard let n = KeysightModel.nanometres(a.first), (600...1700).contains(n) else { return .error(-222, "Data out of range") }
                state.wavelength = n
                return .none
            case "POW:UNIT", "POWER:UNIT":
                return a.first == "1" ? .none : .error(-224, "Illegal parameter value")  // the driver reads watts
            case "POW:ATIM", "POWER:ATIME":
                return Double((a.first ?? "").uppercased().replacingOccurrences(of: "S", with: "")) != nil
                    ? .none : .error(-224, "Illegal parameter value")
            default: return .error(-113, "Undefined header")
            }
        }
        if let (port, _, rest) = KeysightModel.address(h, "INIT(?:IATE)?"), rest == "CONT" || rest == "CONTINUOUS" {
            return (1...ports).contains(port) ? .none : .error(-241, "Hardware missing")
        }
        if SCPIDevice.matches(h, "FETCh:POWer:ALL:CSV?") {
            let readings = await bench.readPorts(meter: name, ports: ports, wavelengthNm: state.wavelength)
            let over = await device.overRangeNow
            return .reply(readings.map { r in
                switch r {
                case .overRange: return "+9.91000000E+037"
                case .watts(let w): return over ? "+9.91000000E+037" : String(format: "%+.8E", w)
                }
            }.joined(separator: ","))
        }
        return .error(-113, "Undefined header")
    }
}

extension SimulatedBench {
    /// What each port of a multi-port meter sees: the meter is its fixture's receive "switch", so
    /// port c reads as the receive switch on channel c would.
    func readPorts(meter: String, ports: Int, wavelengthNm: Int) -> [DetectorReading] {
        let was = switchPosition[meter]
        defer { switchPosition[meter] = was }
        return (1...max(ports, 1)).map { c in
            switchPosition[meter] = c  // a port is read where it is: nothing moves
            return readPower(meter: meter, wavelengthNm: wavelengthNm)
        }
    }
}
