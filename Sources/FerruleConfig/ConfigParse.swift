import Crypto
import Foundation
import Yams

// Reading a config file: size, YAML syntax, shape and types, unknown keys, then the meaning
// (`validate`, section by section). Every error names the file, line, key and the fix.
extension StationConfig {
    static let maxConfigBytes = 1 << 20
    static let maxConfigNodes = 200_000

    public static func parse(_ text: String, file: String) throws(ConfigError) -> StationConfig {
        func fail(_ node: Node?, _ path: ConfigPath, _ message: String, _ fix: String) -> ConfigError {
            ConfigError(file: file, line: node?.mark?.line, column: node?.mark?.column, path: path, message: message, fix: fix)
        }
        // 0. Size: a station's config is a few kB; anything near a megabyte is a wrong file.
        guard text.utf8.count <= maxConfigBytes else {
            throw fail(
                nil, ConfigPath(), "the file is \(text.utf8.count) bytes, more than a config can be (\(maxConfigBytes))",
                "check that this is the station's config file")
        }
        // 1. YAML syntax.
        let composed = try compose(text, file: file)

        // 2. Shape and types. Quoted keys ('1': 2, as PyYAML writes a map) read like plain ones.
        // Aliases are shared, not copied, until decoding: count the nodes they expand to first
        // (a "billion laughs" file would otherwise take the daemon's memory).
        guard expandedNodeCount(composed, limit: maxConfigNodes) <= maxConfigNodes else {
            throw fail(
                composed, ConfigPath(), "the YAML expands to more than \(maxConfigNodes) nodes (aliases of aliases)",
                "write the config without nested aliases")
        }
        let root = plainScalarKeys(composed)
        // Lengths: before decoding, so that no section ever holds a 100 KB name.
        if let issue = overlongString(in: root) {
            throw fail(root.locate(issue.path), issue.path, issue.message, issue.fix)
        }
        let decoded: ConfigFile
        do {
            decoded = try YAMLDecoder().decode(ConfigFile.self, from: root)
        } catch let e as DecodingError {
            throw decodingError(e, root: root, file: file)
        } catch {
            throw fail(root, ConfigPath(), "\(error)", "correct the file")
        }

        // 3. Keys that nothing reads: a typo must not silently fall back to a default.
        if let (path, known) = unknownKey(source: root, decoded: decoded) {
            let key =
                path.components.last.map {
                    if case .key(let k) = $0 { return k }
                    return ""
                } ?? ""
            let suggestion = known.min { editDistance($0, key) < editDistance($1, key) }
            let node = root.keyNode(path) ?? root.locate(path)
            throw fail(
                node, path, "unknown key '\(key)'",
                suggestion.map { "did you mean '\($0)'? Known keys here: \(known.sorted().joined(separator: ", "))" }
                    ?? "remove it")
        }

        // 4. Meaning.
        do {
            var config = try validate(decoded, file: file)
            config.hash = fileHash(text)
            return config
        } catch let issue as ConfigIssue {
            throw fail(root.locate(issue.path), issue.path, issue.message, issue.fix)
        } catch {
            throw fail(root, ConfigPath(), "\(error)", "correct the file")
        }
    }

    /// The file's YAML node tree, or the syntax error with its line and column.
    static func compose(_ text: String, file: String) throws(ConfigError) -> Node {
        do {
            guard let n = try Yams.compose(yaml: text) else {
                throw ConfigError(file: file, line: nil, column: nil, path: ConfigPath(), message: "the file is empty",
                                  fix: "start from Config/simulated.yaml")
            }
            return n
        } catch let e as ConfigError {
            throw e
        } catch let e as YamlError {
            var line: Int?
            var column: Int?
            var problem = "\(e)"
            switch e {
            case .scanner(_, let p, let m, _), .parser(_, let p, let m, _), .composer(_, let p, let m, _):
                line = m.line
                column = m.column
                problem = p
            default: break
            }
            throw ConfigError(
                file: file, line: line, column: column, path: ConfigPath(),
                message: "YAML syntax error: \(problem)", fix: "correct the YAML at that line (indentation, a missing ':' or quote)")
        } catch {
            throw ConfigError(file: file, line: nil, column: nil, path: ConfigPath(), message: "YAML error: \(error)",
                              fix: "correct the YAML")
        }
    }

    static func decodingError(_ e: DecodingError, root: Node, file: String) -> ConfigError {
        func err(_ ctx: DecodingError.Context, _ message: String, _ fix: String, extra: [any CodingKey] = []) -> ConfigError {
            let path = ConfigPath(codingPath: ctx.codingPath + extra)
            let node = root.locate(path)
            return ConfigError(file: file, line: node.mark?.line, column: node.mark?.column, path: path, message: message, fix: fix)
        }
        switch e {
        case .keyNotFound(let key, let ctx):
            return err(ctx, "missing required key '\(key.stringValue)'", "add '\(key.stringValue): ...' here")
        case .typeMismatch(let type, let ctx), .valueNotFound(let type, let ctx):
            let path = ConfigPath(codingPath: ctx.codingPath)
            let got =
                root.locate(path).string.map { "'\($0)'" } ?? "a \(root.locate(path).mapping != nil ? "mapping" : "list or empty value")"
            return err(ctx, "expected \(describe(type)), got \(got)", "write \(describe(type)) here")
        case .dataCorrupted(let ctx):
            let path = ConfigPath(codingPath: ctx.codingPath)
            let got = root.locate(path).string.map { " (got '\($0)')" } ?? ""
            return err(ctx, "invalid value\(got): \(ctx.debugDescription)", "see Config/simulated.yaml for the expected form")
        @unknown default:
            return ConfigError(file: file, line: nil, column: nil, path: ConfigPath(), message: "\(e)", fix: "correct the file")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is UInt64.Type: return "a whole number"
        case is Double.Type: return "a number"
        case is String.Type: return "text"
        case is [Int].Type: return "a list of whole numbers"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "a list" }
            if name.hasPrefix("Dictionary") { return "a mapping" }
            return "a \(name) (a mapping)"
        }
    }

    /// The first key in the source that no field of the decoded config reads, with the keys known
    /// there. Walks the decoded value with Mirror, so optional fields left out still count as known.
    private static func unknownKey(source: Node, decoded: ConfigFile) -> (ConfigPath, [String])? {
        firstUnknown(source, decoded, ConfigPath())
    }

    static func firstUnknown(_ src: Node, _ value: Any, _ path: ConfigPath) -> (ConfigPath, [String])? {
        let m = Mirror(reflecting: value)
        switch m.displayStyle {
        case .optional:
            guard let inner = m.children.first else { return nil }
            return firstUnknown(src, inner.value, path)
        case .struct:
            guard let sm = src.mapping else { return nil }
            var fields: [String: Any] = [:]
            for c in m.children { if let l = c.label { fields[l.hasPrefix("_") ? String(l.dropFirst()) : l] = c.value } }
            for (k, v) in sm {
                guard let key = k.string else { continue }
                guard let fv = fields[key] else { return (path.key(key), fields.keys.sorted()) }
                if let r = firstUnknown(v, fv, path.key(key)) { return r }
            }
        case .collection:
            guard let ss = src.sequence else { return nil }
            for (i, (n, c)) in zip(ss, m.children).enumerated() {
                if let r = firstUnknown(n, c.value, path.index(i)) { return r }
            }
        default:
            break  // scalars, enums with their own decoding, free-form maps
        }
        return nil
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.lowercased())
        let b = Array(b.lowercased())
        if a.isEmpty { return b.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var prev = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let cur = row[j]
                row[j] = Swift.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
                prev = cur
            }
        }
        return row[b.count]
    }

    /// "sha256:" and the SHA-256 of the file's bytes, so `sha256sum station.yaml` matches a report.
    static func fileHash(_ text: String) -> String {
        "sha256:" + SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// How many nodes `node` expands to, counting shared (aliased) nodes every time they are
    /// used; stops counting past `limit`.
    static func expandedNodeCount(_ node: Node, limit: Int) -> Int {
        var count = 0
        var stack = [node]
        while let n = stack.popLast() {
            count += 1
            if count > limit { return count }
            switch n {
            case .mapping(let m):
                for (k, v) in m {
                    stack.append(k)
                    stack.append(v)
                }
            case .sequence(let s): stack.append(contentsOf: s)
            default: break
            }
        }
        return count
    }

    /// Quoted mapping keys read like plain ones: `'1': 2` (what PyYAML writes) is the key 1.
    /// Yams looks keys up by value and tag, and a quoted '1' is a string where a plain 1 is not.
    static func plainScalarKeys(_ node: Node) -> Node {
        switch node {
        case .mapping(let m):
            let pairs = m.map { (k, v) -> (Node, Node) in
                guard case .scalar(var s) = k, s.style == .singleQuoted || s.style == .doubleQuoted else { return (k, plainScalarKeys(v)) }
                s.style = .plain
                s.string = s.string  // resets the tag to implicit, as a plain key has
                return (.scalar(s), plainScalarKeys(v))
            }
            return .mapping(Node.Mapping(pairs, m.tag, m.style, m.mark))
        case .sequence(let seq):
            return .sequence(Node.Sequence(seq.map(plainScalarKeys), seq.tag, seq.style, seq.mark))
        default:
            return node
        }
    }
}
