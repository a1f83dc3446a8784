import ArgumentParser
import FerruleWeb
import Foundation

/// `ferruled hash-pin`: the line to paste as a user's `pinHash`. The PIN is read from stdin (one
/// line), so it stays out of the shell's history and the process list.
struct HashPIN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-pin",
        abstract: "Read a PIN from stdin and print its bcrypt hash for a user's 'pinHash' in the config.")

    func run() throws {
        // At a terminal, the PIN is not echoed.
        let typed = isatty(0) == 1 ? getpass("PIN (then Enter): ").map { String(cString: $0) } : readLine(strippingNewline: true)
        guard let line = typed, !line.isEmpty else {
            FileHandle.standardError.write(Data("hash-pin: no PIN on stdin; type it, or: echo 4711 | ferruled hash-pin\n".utf8))
            throw ExitCode(2)
        }
        guard line.count >= 4, line.utf8.count <= 72 else {
            FileHandle.standardError.write(Data("hash-pin: a PIN must have 4 to 72 characters (bcrypt reads 72 bytes at most)\n".utf8))
            throw ExitCode(2)
        }
        print(PINHash.make(line))
    }
}
