import CoreMetrics
import FerruleCore

/// The figures the drivers report through swift-metrics (the process's backend decides where
/// they go: Prometheus in ferruled, nowhere in a test that sets none).
public enum DeviceMetrics {
    /// One exchange with an instrument: a line sent and its reply read, or one Modbus request.
    public static let roundTripLabel = "ferrule_instrument_round_trip_seconds"

    static func roundTripTimer(instrument: String) -> CoreMetrics.Timer {
        CoreMetrics.Timer(label: roundTripLabel, dimensions: [("instrument", instrument)])
    }
}

extension CoreMetrics.Timer {
    func recordInterval(since start: ContinuousClock.Instant) {
        recordNanoseconds((ContinuousClock.now - start).nanoseconds)
    }
}
