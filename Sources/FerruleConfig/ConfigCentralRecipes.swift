import FerruleCore
import FerruleRecords
import Foundation
import Yams

/// `centralRecipes`: the line database that holds the recipes (see `CentralRecipes`).
struct CentralRecipesEntry: Codable {
    var url: String
    var passwordFile: String?
    /// `require` or `disable` (default).
    var tls: String?
    /// How long a start or a reload waits for the database before it takes the cached revisions (default 5s).
    var timeout: String?
}

/// Where the line keeps its recipes, and how long a start waits for them.
public struct CentralRecipesSpec: Sendable, Hashable {
    public var url: String
    public var passwordFile: String?
    public var requireTLS = false
    public var timeoutSeconds = 5.0
}

extension StationConfig {
    static func centralRecipesSection(_ e: CentralRecipesEntry, configFile: String, _ p: ConfigPath) throws -> CentralRecipesSpec {
        guard let u = URLComponents(string: e.url), ["postgres", "postgresql"].contains(u.scheme ?? ""), u.host != nil, u.user != nil,
            !u.path.dropFirst().isEmpty
        else {
            throw ConfigIssue(
                path: p.key("url"), message: "'\(Escaped.text(e.url))' is not a postgres URL",
                fix: "give the line database, e.g. 'url: postgres://ferrule@db.line3:5432/line' and its 'passwordFile'")
        }
        var spec = CentralRecipesSpec(url: e.url)
        spec.passwordFile = e.passwordFile.map { resolvedPath($0, from: parentDirectory(of: configFile)) }
        if let t = e.tls { spec.requireTLS = try oneOf(t, TLSMode.self, p.key("tls"), what: "TLS mode") == .require }
        if let t = e.timeout { spec.timeoutSeconds = try duration(t, p.key("timeout"), within: 0.1...120) }
        return spec
    }

    /// This config with the line's recipes over its own (by part number). A revision this
    /// station cannot take (a wrong key, a wavelength no source has, an assembly no fixture is
    /// cabled for) is left out and said in `refused`, naming the revision and the fix; the others apply.
    public func taking(central rows: [CentralRecipeRow]) -> (config: StationConfig, refused: [String]) {
        var config = self
        var refused: [String] = []
        for row in rows.sorted(by: { $0.partNumber < $1.partNumber }) {
            let p = ConfigPath().key("centralRecipes").key(row.partNumber)
            do {
                var recipe = try centralRecipe(row.body, p)
                guard recipe.partNumber == row.partNumber else {
                    throw ConfigIssue(
                        path: p.key("partNumber"), message: "the body is for '\(Escaped.text(recipe.partNumber))'",
                        fix: "store each recipe under its own part number")
                }
                recipe.revision = RecipeRevision(
                    number: row.revision, changedBy: row.changedBy, approvedBy: row.approvedBy, approvedAt: row.approvedAt)
                if config.recipes[recipe.partNumber] == nil { config.recipeOrder.append(recipe.partNumber) }
                config.recipes[recipe.partNumber] = recipe
            } catch let issue as ConfigIssue {
                let which = "revision \(row.revision) of \(Escaped.text(row.partNumber))"
                refused.append("\(which): \(issue.path): \(issue.message); fix: \(issue.fix)")
            } catch {
                refused.append("revision \(row.revision) of \(Escaped.text(row.partNumber)): \(error)")
            }
        }
        return (config, refused)
    }

    /// One recipe's YAML or JSON, read as strictly as the config file's `recipes:` entries.
    private func centralRecipe(_ body: String, _ p: ConfigPath) throws -> Recipe {
        guard body.utf8.count <= 64 << 10, let composed = try Yams.compose(yaml: body) else {
            throw ConfigIssue(path: p, message: "the body is empty or larger than 64 kB", fix: "store the recipe as one recipes: entry")
        }
        let root = Self.plainScalarKeys(composed)
        if let issue = Self.overlongString(in: root) { throw issue }
        let entry: RecipeEntry
        do { entry = try YAMLDecoder().decode(RecipeEntry.self, from: root) } catch let e as DecodingError {
            let error = Self.decodingError(e, root: root, file: "central recipe")
            throw ConfigIssue(path: p, message: "\(error.path): \(error.message)", fix: error.fix)
        }
        if let (path, known) = Self.firstUnknown(root, entry, ConfigPath()) {
            throw ConfigIssue(path: p, message: "unknown key \(path)", fix: "remove it; known keys there: \(known.joined(separator: ", "))")
        }
        guard let recipe = try Self.recipesSection([entry], instruments: instruments, fixtures: fixtures, p).recipes.values.first else {
            throw ConfigIssue(path: p, message: "no recipe in the body", fix: "store the recipe as one recipes: entry")
        }
        try Self.checkCoverage(recipes: [recipe], cords: referenceCords, fixtures: fixtures, p)
        return recipe
    }
}
