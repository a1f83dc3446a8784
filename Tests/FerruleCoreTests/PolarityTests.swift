import FerruleCore
import Testing

@Suite struct LayoutTests {
    @Test func base8UsesOuterFourPerSide() throws {
        let l = try MPOLayout(fiberCount: 8)
        #expect(l.positionCount == 12)
        #expect(l.usedPositions == [1, 2, 3, 4, 9, 10, 11, 12])
        #expect(l.unusedPositions == [5, 6, 7, 8])
        #expect(!l.areAdjacent(4, 9))
        #expect(l.areAdjacent(3, 4))
    }

    @Test(arguments: [(12, 1, 12), (16, 1, 16), (24, 2, 12), (32, 2, 16)])
    func rowsAndPositions(count: Int, rows: Int, perRow: Int) throws {
        let l = try MPOLayout(fiberCount: count)
        #expect(l.rows == rows)
        #expect(l.positionsPerRow == perRow)
        #expect(l.usedPositions == Array(1...count))
        #expect(l.unusedPositions.isEmpty)
    }

    @Test func rowsAreNotAdjacentAcrossTheBreak() throws {
        let l = try MPOLayout(fiberCount: 24)
        #expect(!l.areAdjacent(12, 13))
        #expect(l.areAdjacent(13, 14))
    }

    @Test func unsupportedCountNamesTheChoices() {
        #expect(throws: DomainError.self) { try MPOLayout(fiberCount: 10) }
        do { _ = try MPOLayout(fiberCount: 10) } catch {
            #expect(error.description.contains("10"))
            #expect(error.description.contains("8, 12, 16, 24, 32"))
        }
    }
}

@Suite struct PolarityMapTests {
    func map(_ t: PolarityType, _ n: Int, _ kind: AssemblyKind = .trunk) throws -> PolarityMap {
        PolarityMap.standard(t, layout: try MPOLayout(fiberCount: n), kind: kind)
    }

    @Test func typeAIsStraightForEveryCount() throws {
        for n in MPOLayout.supportedFiberCounts {
            let m = try map(.a, n)
            let l = try MPOLayout(fiberCount: n)
            #expect(m.pairs == Dictionary(uniqueKeysWithValues: l.usedPositions.map { ($0, $0) }), "count \(n)")
        }
    }

    @Test func typeB12Reverses() throws {
        let m = try map(.b, 12)
        #expect((1...12).map { m[$0]! } == [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1])
    }

    @Test func typeBBase8ReversesOntoUsedPositions() throws {
        let m = try map(.b, 8)
        #expect(m.pairs == [1: 12, 2: 11, 3: 10, 4: 9, 9: 4, 10: 3, 11: 2, 12: 1])
    }

    @Test func typeB16Reverses() throws {
        let m = try map(.b, 16)
        #expect(m[1] == 16 && m[16] == 1 && m[8] == 9)
    }

    /// Two rows: mirrored within each row, row kept (the unconfirmed common convention).
    @Test func typeBTwoRowsMirrorsWithinRow() throws {
        let m24 = try map(.b, 24)
        #expect(m24[1] == 12 && m24[12] == 1 && m24[13] == 24 && m24[24] == 13 && m24[18] == 19)
        let m32 = try map(.b, 32)
        #expect(m32[1] == 16 && m32[16] == 1 && m32[17] == 32 && m32[32] == 17)
    }

    @Test func typeCFlipsPairs() throws {
        let m12 = try map(.c, 12)
        #expect((1...12).map { m12[$0]! } == [2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11])
        let m8 = try map(.c, 8)
        #expect(m8.pairs == [1: 2, 2: 1, 3: 4, 4: 3, 9: 10, 10: 9, 11: 12, 12: 11])
        let m24 = try map(.c, 24)
        #expect(m24[13] == 14 && m24[24] == 23)
        let m32 = try map(.c, 32)
        #expect(m32[31] == 32 && m32[17] == 18)
        let m16 = try map(.c, 16)
        #expect(m16[15] == 16 && m16[16] == 15)
    }

    @Test func everyStandardMapIsABijectionAndItsOwnInverse() throws {
        for n in MPOLayout.supportedFiberCounts {
            for t in PolarityType.allCases {
                let m = try map(t, n)
                let inv = try #require(m.inverse, "type \(t) count \(n)")
                #expect(inv.inverse == m)
                // A, B and C are involutions on a trunk: reading the map backwards gives the same map.
                #expect(inv == m, "type \(t) count \(n)")
                for p in m.launchPositions { #expect(inv[m[p]!] == p) }
                #expect(m.standardType(layout: try MPOLayout(fiberCount: n), kind: .trunk) == t)
            }
        }
    }

    @Test func fanoutMapsToLegs() throws {
        let a = try map(.a, 8, .fanout)
        #expect(a.pairs == [1: 1, 2: 2, 3: 3, 4: 4, 9: 5, 10: 6, 11: 7, 12: 8])
        let b = try map(.b, 12, .fanout)
        #expect(b[1] == 12 && b[12] == 1)
        let c = try map(.c, 12, .fanout)
        #expect(c[1] == 2 && c[2] == 1)
        let inv = try #require(a.inverse)
        #expect(inv[5] == 9)
    }

    @Test func identifiesNonStandardMaps() throws {
        var pairs = try map(.b, 12).pairs
        pairs[3] = 9
        pairs[4] = 10
        let l = try MPOLayout(fiberCount: 12)
        #expect(PolarityMap(pairs).standardType(layout: l, kind: .trunk) == nil)
    }

    @Test func explicitMapValidation() throws {
        let l = try MPOLayout(fiberCount: 8)
        let good = PolarityMap([1: 12, 2: 11, 3: 10, 4: 9, 9: 4, 10: 3, 11: 2, 12: 1])
        try good.validate(layout: l, receivePositions: l.allPositions)
        #expect(throws: DomainError.self) { try PolarityMap([1: 12]).validate(layout: l, receivePositions: l.allPositions) }
        #expect(throws: DomainError.self) {  // position 5 is empty in Base-8
            try PolarityMap([1: 12, 2: 11, 3: 10, 4: 9, 5: 5, 9: 4, 10: 3, 11: 2, 12: 1]).validate(
                layout: l, receivePositions: l.allPositions)
        }
        #expect(throws: DomainError.self) {  // two fibers to one destination
            try PolarityMap([1: 12, 2: 12, 3: 10, 4: 9, 9: 4, 10: 3, 11: 2, 12: 1]).validate(layout: l, receivePositions: l.allPositions)
        }
    }
}

@Suite struct OpticsTests {
    @Test func insertionLossFromReference() {
        #expect(MeasurementRule.insertionLoss(referenceDbm: -3.0, powerDbm: -3.25) == 0.25)
        // A sentinel never becomes a number; noise far below the reference is darkness.
        #expect(MeasurementRule.classify(.noLight, referenceDbm: -3, lightThresholdIlDb: 20) == .dark)
        #expect(MeasurementRule.classify(.overRange, referenceDbm: -3, lightThresholdIlDb: 20) == .overRange)
        #expect(MeasurementRule.classify(.dBm(-92), referenceDbm: -3, lightThresholdIlDb: 20) == .dark)
        #expect(MeasurementRule.classify(.dBm(-3.4), referenceDbm: -3, lightThresholdIlDb: 20) == .lit(dBm: -3.4))
    }

    @Test func wattsConversionKeepsSentinels() {
        #expect(abs(PowerReading.watts(1e-3).dBmValue! - 0) < 1e-12)
        #expect(abs(PowerReading.watts(1.33555600e-6).dBmValue! - (-28.744)) < 0.001)
        #expect(PowerReading.watts(0) == .noLight)
        #expect(PowerReading.watts(-1e-9) == .noLight)
        #expect(PowerReading.watts(.nan) == .noLight)
    }

    @Test func returnLoss() {
        #expect(abs(Optics.returnLoss(incidentWatts: 1e-3, reflectedWatts: 1e-9)! - 60) < 1e-9)
        #expect(Optics.returnLoss(incidentWatts: 1e-3, reflectedWatts: 0) == nil)
    }
}

@Suite struct ArrivalPredictorTests {
    let layout = try! MPOLayout(fiberCount: 12)

    @Test func learnsAStandardTypeAndAnOffset() {
        let typeB = PolarityMap.standard(.b, layout: layout, kind: .trunk)
        var p = ArrivalPredictor(expected: typeB, layout: layout, kind: .trunk)
        #expect(p.candidates(1, positions: Array(1...12)).first == 12)  // the recipe's position first
        p.observe(fiber: 1, arrival: 1)  // built as Type A
        #expect(p.rule == .standard(.a) && p.candidates(2, positions: Array(1...12)).first == 2)
        var q = ArrivalPredictor(expected: typeB, layout: layout, kind: .trunk)
        q.observe(fiber: 3, arrival: 8)  // shifted by -2 from its Type B position 10
        #expect(q.rule == .offset(-2) && q.candidates(4, positions: Array(1...12)).first == 7)
        // Every position is still tried, each once.
        #expect(q.candidates(4, positions: Array(1...12)).sorted() == Array(1...12))
    }
}
