import Yams

/// A key path into a config file, as `fixtures[1].launch.channels`.
public struct ConfigPath: Sendable, Hashable, CustomStringConvertible {
    /// One step of the path: a mapping key or a list index.
    public enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }
    public var components: [Component]

    public init(_ components: [Component] = []) { self.components = components }

    init(codingPath: [any CodingKey]) {
        components = codingPath.map { k in
            if let i = k.intValue, k.stringValue.hasPrefix("Index") || k.stringValue == String(i) { return .index(i) }
            return .key(k.stringValue)
        }
    }

    public func key(_ k: String) -> ConfigPath { ConfigPath(components + [.key(k)]) }
    public func index(_ i: Int) -> ConfigPath { ConfigPath(components + [.index(i)]) }

    public var description: String {
        var s = ""
        for c in components {
            switch c {
            case .key(let k): s += s.isEmpty ? k : ".\(k)"
            case .index(let i): s += "[\(i)]"
            }
        }
        return s.isEmpty ? "(top level)" : s
    }
}

/// A configuration mistake: where (file, line, key), what is wrong, and how to fix it.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    public var path: ConfigPath
    public var message: String
    public var fix: String

    public var description: String {
        let place = [file, line.map(String.init), column.map(String.init)].compactMap { $0 }.joined(separator: ":")
        return "\(place): \(path): \(message). Fix: \(fix)"
    }
}

/// An error found while turning the decoded file into a station config, before its line is known.
struct ConfigIssue: Error {
    var path: ConfigPath
    var message: String
    var fix: String
}

extension Node {
    /// The node at `path`, or the deepest node on the way there (so that a missing key points at its parent).
    func locate(_ path: ConfigPath) -> Node {
        var node = self
        for c in path.components {
            switch c {
            case .key(let k):
                guard let next = node.mapping?[k] else { return node }
                node = next
            case .index(let i):
                guard let seq = node.sequence, i >= 0, i < seq.count else { return node }
                node = seq[i]
            }
        }
        return node
    }

    /// The key node for the last component of `path` (a key's own line, for unknown-key errors).
    func keyNode(_ path: ConfigPath) -> Node? {
        guard case .key(let k)? = path.components.last else { return nil }
        let parent = locate(ConfigPath(Array(path.components.dropLast())))
        return parent.mapping?.first { $0.key.string == k }?.key
    }
}
