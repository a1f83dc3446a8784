import FerruleCore
import Foundation

/// What a self-sequencing instrument (the simulated MAP-300 PCT) sees on one path at one wavelength.
struct SequencedPathTruth: Sendable {
    /// The power at its detector (dBm); nil when no light arrives on this path.
    var powerDbm: Double?
    var overRange: Bool
    /// RL at the DUT's start and end (dB).
    var returnLoss: (a: Double, b: Double)
    /// The distance to the far end past the launch jumper (m).
    var lengthM: Double
}

extension SimulatedBench {
    /// The fixture a self-sequencing instrument serves.
    func sequencedFixture(_ instrument: String) -> FixtureWiring? {
        wiring.first { $0.sequencer == instrument }
    }

    /// One path through the PCT's own switches: its SW1 channel lights a fixture's launch
    /// position, its SW2 channel reads a receive position. Every channel of each switch has its
    /// own loss per wavelength (as on a stepped bench), the detector its noise.
    func sequencedPath(_ instrument: String, launchChannel lch: Int, receiveChannel rch: Int, wavelengthNm wl: Int)
        -> SequencedPathTruth
    {
        readings += 1
        let loss = pathLoss(switch: instrument + "/SW1", channel: lch, wavelengthNm: wl)
            + pathLoss(switch: instrument + "/SW2", channel: rch, wavelengthNm: wl)
        var truth = SequencedPathTruth(powerDbm: nil, overRange: false, returnLoss: (14.7, 14.7), lengthM: 0)
        guard let w = sequencedFixture(instrument),
              let p = w.launchChannels.first(where: { $0.value == lch })?.key,
              let q = w.receiveChannels.first(where: { $0.value == rch })?.key else { return truth }
        var dut = 0.0
        switch mounted[w.id] ?? .empty {
        case .empty:
            truth.returnLoss = (14.7 + 0.2 * rng.gaussian(), 14.7 + 0.2 * rng.gaussian())  // an open PC end
            return truth
        case .cord(let map, let dirt):
            truth.returnLoss = (55 + 0.3 * rng.gaussian(), 55 + 0.3 * rng.gaussian())
            truth.lengthM = 1 + 0.02 * rng.gaussian()
            guard map[p] == q else { return truth }
            dut = dirt[p] ?? 0
        case .assembly(let a):
            truth.lengthM = a.lengthM + 0.02 * rng.gaussian()
            if let rla = a.returnLoss[p], let rlb = a.returnLossB[p] {
                truth.returnLoss = (rla + 0.05 * rng.gaussian(), rlb + 0.05 * rng.gaussian())
            }
            guard a.arrival[p] == q, !(a.darkAt[p]?.contains(wl) ?? false), let il = a.loss[p]?[wl] else { return truth }
            dut = il
        }
        let power = settings.sourcePowerDbm + sourceOffsetDb - loss - dut + settings.noiseDb * rng.gaussian()
        truth.powerDbm = power
        truth.overRange = power > settings.meterCeilingDbm
        return truth
    }

    /// Where a launch channel's light lands without a receive switch (single MTJ: a receive jumper
    /// takes whatever arrives): the SW2 channel of the position it arrives at, as if read there.
    func sequencedReceiveChannel(_ instrument: String, launchChannel lch: Int) -> Int? {
        guard let w = sequencedFixture(instrument), let p = w.launchChannels.first(where: { $0.value == lch })?.key else { return nil }
        let q: Int?
        switch mounted[w.id] ?? .empty {
        case .empty: q = nil
        case .cord(let map, _): q = map[p]
        case .assembly(let a): q = a.arrival[p]
        }
        return q.flatMap { w.receiveChannels[$0] }
    }

    /// The receive position a launch position's light arrives at in what is mounted (for the port map).
    func sequencedArrival(_ instrument: String, launchChannel lch: Int, among receiveChannels: [Int], wavelengthNm wl: Int) -> Int? {
        receiveChannels.first { rch in
            sequencedPath(instrument, launchChannel: lch, receiveChannel: rch, wavelengthNm: wl).powerDbm != nil
        }
    }
}
