import Foundation

/// The directory holding `path`; a relative path is taken from the current directory.
///
/// Not `NSString.deletingLastPathComponent`: swift-corelibs-foundation (Swift 6.3) traps on a
/// path of one relative component (`ferruled --socket s` crashed the daemon).
public func parentDirectory(of path: String) -> String {
    URL(fileURLWithPath: path).deletingLastPathComponent().path
}
