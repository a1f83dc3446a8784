import FerruleCore
import Foundation

// `fixtures[].scanner`: a fixed barcode scanner per fixture.
extension StationConfig {
    static func scannersSection(
        _ entries: [FixtureEntry], instruments: [InstrumentSpec], recipes: [String: Recipe], _ path: ConfigPath
    ) throws -> [FixtureScanner] {
        var scanners: [FixtureScanner] = []
        for (i, e) in entries.enumerated() {
            guard let s = e.scanner else { continue }
            let p = path.index(i).key("scanner")
            _ = try instrument(s.instrument, in: instruments, p.key("instrument"), role: .barcodeScanner)
            if let other = scanners.first(where: { $0.instrument == s.instrument }) {
                throw ConfigIssue(
                    path: p.key("instrument"), message: "scanner '\(Escaped.text(s.instrument))' already serves fixture \(other.fixture)",
                    fix: "give each fixture its own scanner: a scan must say which fixture it loads")
            }
            guard !s.operator.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ConfigIssue(
                    path: p.key("operator"), message: "the operator of scanned units is empty",
                    fix: "name who is recorded on units this scanner starts, e.g. 'operator: line3-fixture1'")
            }
            for (prefix, part) in (s.partPrefixes ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard !prefix.isEmpty else {
                    throw ConfigIssue(path: p.key("partPrefixes"), message: "an empty prefix matches every serial", fix: "remove it")
                }
                guard recipes[part] != nil else {
                    throw ConfigIssue(
                        path: p.key("partPrefixes").key(prefix), message: "'\(Escaped.text(part))' is not a recipe's part number",
                        fix: "use one of: \(recipes.keys.sorted().joined(separator: ", "))")
                }
            }
            if let b = s.badgePrefix, b.isEmpty || (s.partPrefixes ?? [:]).keys.contains(where: { $0.hasPrefix(b) || b.hasPrefix($0) }) {
                throw ConfigIssue(
                    path: p.key("badgePrefix"), message: "badge prefix '\(Escaped.text(b))' is empty or overlaps a serial prefix",
                    fix: "give the prefix every badge code starts with and no serial does")
            }
            var scanner = FixtureScanner(
                fixture: e.id, instrument: s.instrument, operatorId: s.operator, partPrefixes: s.partPrefixes ?? [:])
            scanner.badgePrefix = s.badgePrefix
            scanners.append(scanner)
        }
        return scanners
    }
}
