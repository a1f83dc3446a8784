import Foundation
import FerruleTesting
import Testing

/// The pages a newcomer reads first stay true to the code: the README is short and gives the
/// command CI runs, the architecture page names every module Package.swift declares, and every
/// relative link points at a file that exists.
@Suite(.shutsDownStations) struct DocsTests {
    static func read(_ path: String) throws -> String { try String(contentsOfFile: Repo.root + "/" + path, encoding: .utf8) }

    static var pages: [String] {
        let docs = (try? FileManager.default.contentsOfDirectory(atPath: Repo.root + "/docs")) ?? []
        return ["README.md"] + docs.filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
    }

    @Test func theReadmeIsShortAndGivesTheTestCommandCIRuns() throws {
        let readme = try Self.read("README.md")
        #expect(readme.split(separator: "\n", omittingEmptySubsequences: false).count <= 250)
        let ci = try Self.read(".ci/run")
        let command = try #require(ci.components(separatedBy: "# The README's test command:\n").last)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(readme.contains(command), "the README's test command differs from the one .ci/run runs")
        #expect(readme.contains("scripts/demo"))
        #expect(FileManager.default.isExecutableFile(atPath: Repo.root + "/scripts/demo"))
    }

    @Test func theArchitecturePageNamesEveryModule() throws {
        let package = try Self.read("Package.swift")
        let page = try Self.read("docs/architecture.md")
        let declared = try Regex(#"\.(?:target|executableTarget|systemLibrary)\(\s*name: "([^"]+)""#)
        let names = package.matches(of: declared).map { String($0.output[1].substring ?? "") }
        #expect(names.count >= 19, "\(names)")
        let rows = page.split(separator: "\n").filter { $0.hasPrefix("| ") }
        for name in names {
            #expect(rows.contains { $0.hasPrefix("| \(name) |") || $0.hasPrefix("| \(name),") || $0.contains(", \(name)") },
                    "docs/architecture.md has no row for \(name)")
        }
    }

    @Test func everyRelativeLinkPointsAtAFile() throws {
        let link = try Regex(#"\]\(([^)#\s]+)(?:#[^)]*)?\)"#)
        for page in Self.pages {
            let text = try Self.read(page)
            let folder = (page as NSString).deletingLastPathComponent
            for match in text.matches(of: link) {
                let target = String(match.output[1].substring ?? "")
                if target.contains("://") || target.hasPrefix("mailto:") { continue }
                let path = ((Repo.root + "/" + folder) as NSString).appendingPathComponent(target)
                #expect(FileManager.default.fileExists(atPath: path), "\(page) links to \(target), which does not exist")
            }
        }
    }
}
