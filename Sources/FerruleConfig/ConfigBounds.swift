import FerruleCore
import Yams

// How long a string a config may give. A station id, a serial prefix or a sink name lands in every
// report, CFX message, label and log line; a 100 KB one is a wrong file, not a name. Checked on the
// YAML tree before decoding, so every scalar and every mapping key is covered, including those
// that sections added later will read.
extension StationConfig {
    /// Names that travel with results: ids, names, part numbers, users, serial prefixes.
    static let maxIdentifierLength = 64
    /// Everything else: paths, URLs, addresses, descriptions, templates' file names.
    static let maxTextLength = 1024
    /// Keys whose values are identifiers (the last key of the path decides).
    static let identifierKeys: Set<String> = ["id", "name", "partNumber", "user", "handle", "serial", "operator"]
    /// Free-form mappings whose own keys are identifiers (`partPrefixes: { "MPO12-": PN-1 }`).
    static let identifierMappings: Set<String> = ["partPrefixes"]

    /// The first scalar or key longer than its bound, as an issue naming the key, the length and
    /// the bound; nil when every string fits.
    static func overlongString(in node: Node) -> ConfigIssue? {
        var stack: [(Node, ConfigPath)] = [(node, ConfigPath())]
        while let (n, path) = stack.popLast() {
            switch n {
            case .scalar(let s):
                let bound = bound(for: path)
                if s.string.count > bound { return issue(path, length: s.string.count, bound: bound, what: "value") }
            case .mapping(let m):
                let keysAreIdentifiers = lastKey(path).map(identifierMappings.contains) ?? false
                for (k, v) in m {
                    let key = k.string ?? ""
                    let keyBound = keysAreIdentifiers ? maxIdentifierLength : maxTextLength
                    if key.count > keyBound {
                        return issue(path, length: key.count, bound: keyBound, what: "key", shown: String(key.prefix(20)))
                    }
                    stack.append((v, path.key(String(key.prefix(keyBound)))))
                }
            case .sequence(let seq):
                for (i, element) in seq.enumerated().reversed() { stack.append((element, path.index(i))) }
            default:
                break
            }
        }
        return nil
    }

    private static func bound(for path: ConfigPath) -> Int {
        guard let key = lastKey(path) else { return maxTextLength }
        let parent = path.components.dropLast().last
        if case .key(let p) = parent, identifierMappings.contains(p) { return maxIdentifierLength }
        return identifierKeys.contains(key) ? maxIdentifierLength : maxTextLength
    }

    private static func lastKey(_ path: ConfigPath) -> String? {
        for c in path.components.reversed() {
            if case .key(let k) = c { return k }
        }
        return nil
    }

    private static func issue(_ path: ConfigPath, length: Int, bound: Int, what: String, shown: String? = nil) -> ConfigIssue {
        let named = shown.map { " ('\(Escaped.text($0))...')" } ?? ""
        return ConfigIssue(
            path: path, message: "the \(what)\(named) is \(length) characters, more than the \(bound) this key allows",
            fix: "shorten it to at most \(bound) characters")
    }
}
