import Testing

@testable import FerruleCore

/// Reading a fixed scanner's scans: GS1 element strings, part numbers, prefix rules.
@Suite struct ScanningTests {
    let scanner = FixtureScanner(fixture: 1, instrument: "s", operatorId: "op", partPrefixes: ["B": "P-SHORT", "B12-": "P-B12"])
    let parts: Set<String> = ["P-B12", "P-SHORT", "FT-X"]

    @Test func gs1InMachineAndHumanForms() {
        // A fixed-length GTIN (01) first, then the serial (21) up to FNC1, then the part (240).
        let machine = GS1ElementString("]d2010950110153000321SN-1\u{1D}240FT-X")
        #expect(machine?.values == ["01": "09501101530003", "21": "SN-1", "240": "FT-X"])
        #expect(GS1ElementString("(01)09501101530003(21)SN-1(240)FT-X")?.values == machine?.values)
        // A date (17, six digits) and a lot (10) before the serial.
        #expect(GS1ElementString("]C11726123110LOT7\u{1D}21SN-2")?.values == ["17": "261231", "10": "LOT7", "21": "SN-2"])
        // Not GS1: no symbology identifier, an unknown AI, a fixed field cut short.
        #expect(GS1ElementString("SN-1") == nil)
        #expect(GS1ElementString("]d299X") == nil)
        #expect(GS1ElementString("]d20109501") == nil)
    }

    @Test func eachKindOfScan() throws {
        #expect(try scanner.read("FT-X", knownParts: parts) == .partNumber("FT-X"))
        #expect(try scanner.read("B12-0001", knownParts: parts) == .unit(serial: "B12-0001", partNumber: "P-B12"))  // longest prefix
        #expect(try scanner.read("B9", knownParts: parts) == .unit(serial: "B9", partNumber: "P-SHORT"))
        #expect(try scanner.read("Z-1", knownParts: parts) == .unit(serial: "Z-1", partNumber: nil))
        #expect(try scanner.read("]d221GS1-1\u{1D}240FT-X", knownParts: parts) == .unit(serial: "GS1-1", partNumber: "FT-X"))
        #expect(throws: ScanProblem.self) { try scanner.read("  ", knownParts: parts) }
        let noSerial = #expect(throws: ScanProblem.self) { try scanner.read("]d20109501101530003", knownParts: parts) }
        #expect(noSerial?.message.contains("AI 21") == true)
    }
}
