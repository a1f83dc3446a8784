import FerruleCore
import FerruleDevices
import Testing

/// The MAP-300 PCT's reply formats, from the guide's own examples (22112369-346 R002).
@Suite struct ViaviPCTReplyTests {
    /// 5-76: "1,3,5,7 = 1010 1010 = AA" and "2,4,6,8 = 0101 0101 = 55"; and back.
    @Test func portMapChannelListsAreTheGuidesBitFields() {
        #expect(ViaviPCTReplies.channelBits([1, 3, 5, 7]) == "AA")
        #expect(ViaviPCTReplies.channelBits([2, 4, 6, 8]) == "55")
        #expect(ViaviPCTReplies.channelBits(Array(1...12)) == "FFF")
        #expect(ViaviPCTReplies.channels(fromBits: "AA") == [1, 3, 5, 7])
        #expect(ViaviPCTReplies.channels(fromBits: "8001") == [1, 16])
        #expect(ViaviPCTReplies.channels(fromBits: "XZ") == nil)
    }

    /// 5-8: reference mode "1625,1.266,-5.79,0.27"; "1625,,," is no result; DUT mode five fields a
    /// wavelength; `-------` and `+++++++` are no light and over range, never a loss.
    @Test func measAllIsReadFieldByField() throws {
        let path = InstrumentPath(launchChannel: 1, receiveChannel: 12)
        let ref = try ViaviPCTReplies.groups("1625,1.266,-5.79,0.27", valuesPerGroup: 3, wavelengthsNm: [1625]).get()
        #expect(try ViaviPCTReplies.referenceReading(ref[0], path: path).get().power == .dBm(1.266))
        let none = try ViaviPCTReplies.groups("1625,,,", valuesPerGroup: 3, wavelengthsNm: [1625]).get()
        #expect(throws: ViaviPCTReplies.Problem.self) { try ViaviPCTReplies.referenceReading(none[0], path: path).get() }
        let dut = try ViaviPCTReplies.groups("1310,0.123,3.01,65.20,61.80,1550,-------,,,", valuesPerGroup: 4,
                                             wavelengthsNm: [1310, 1550]).get()
        let lit = try ViaviPCTReplies.dutReading(dut[0], path: path).get()
        #expect(lit.loss == .dB(0.123) && lit.lengthM == 3.01 && lit.returnLoss == ReturnLossReading(endA: 65.2, endB: 61.8))
        let dark = try ViaviPCTReplies.dutReading(dut[1], path: path).get()
        #expect(dark.loss == .noLight && dark.returnLoss == ReturnLossReading(endA: nil, endB: nil) && dark.lengthM == nil)
        let over = try ViaviPCTReplies.groups("1310,+++++++,,,", valuesPerGroup: 4, wavelengthsNm: [1310]).get()
        #expect(try ViaviPCTReplies.dutReading(over[0], path: path).get().loss == .overRange)
        // A reply for other wavelengths, too few fields or a word where a number goes is refused with why.
        for bad in ["1550,0.1,3,60,60", "1310,0.1,3,60", "1310,abc,3,60,60"] {
            guard case .failure(let p) = ViaviPCTReplies.groups(bad, valuesPerGroup: 4, wavelengthsNm: [1310]) else {
                Issue.record("\(bad) was accepted")
                continue
            }
            #expect(!p.detail.isEmpty)
        }
    }

    /// 5-71: `<SW1>[,<SW2>]`; a launch the port map found no light for has no SW2 channel.
    @Test func portMapLinks() {
        #expect(ViaviPCTReplies.link("3,10")! == (3, 10))
        #expect(ViaviPCTReplies.link("3")! == (3, nil))
        #expect(ViaviPCTReplies.link("3,0")! == (3, nil))
        #expect(ViaviPCTReplies.link("x,1") == nil)
    }
}
