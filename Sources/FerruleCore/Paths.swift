import Foundation

/// The directory holding `path`; a relative path is taken from the current directory.
///
/// Not `NSString.deletingLastPathComponent`: swift-corelibs-foundation (Swift 6.3) traps on a
/// path of one relative component (`ferruled --socket s` crashed the daemon).
public func parentDirectory(of path: String) -> String {
    URL(fileURLWithPath: path).deletingLastPathComponent().path
}

/// `path` as given when absolute, else taken from `folder` (a config's files are relative to the
/// config file's folder, a data directory's to its base).
public func resolvedPath(_ path: String, from folder: String) -> String {
    path.hasPrefix("/") ? path : (folder as NSString).appendingPathComponent(path)
}
