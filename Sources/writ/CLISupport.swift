import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error the CLI reports as one line on standard error, with the documented exit code.
struct CLIError: Error {
    /// The line printed on standard error (without the `error:` prefix).
    let message: String
    /// 1 for a rejection or failed check, 2 for usage errors and unreadable input.
    let exitCode: Int32

    /// A rejected token, request or failed check (exit 1).
    static func rejected(_ message: String) -> CLIError { CLIError(message: message, exitCode: 1) }
    /// Bad usage or unreadable input (exit 2).
    static func input(_ message: String) -> CLIError { CLIError(message: message, exitCode: 2) }
}

/// Prints `error: message` as one line on standard error.
func printError(_ message: String) {
    let line = "error: " + message.replacingOccurrences(of: "\n", with: " ") + "\n"
    FileHandle.standardError.write(Data(line.utf8))
}

/// Reads a whole file, or throws an input error naming it.
func readFile(_ path: String) throws -> Data {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CLIError.input("cannot read '\(path)'")
    }
    return data
}

/// Reads a UTF-8 text file with surrounding white space trimmed.
func readText(_ path: String) throws -> String {
    guard let text = String(data: try readFile(path), encoding: .utf8) else {
        throw CLIError.input("'\(path)' is not UTF-8 text")
    }
    return text.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Writes `contents` to `path`, creating it with the given mode (0600 for secrets) before any byte is written.
func writeFile(_ path: String, contents: String, mode: mode_t = 0o644) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    guard fd >= 0 else { throw CLIError.input("cannot create '\(path)': \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    // An existing file keeps its old mode under O_CREAT: force the requested one.
    guard fchmod(fd, mode) == 0 else { throw CLIError.input("cannot set mode of '\(path)'") }
    let bytes = Array(contents.utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written > 0 else { throw CLIError.input("cannot write '\(path)'") }
        offset += written
    }
}

/// Encodes a value as pretty, key-sorted JSON text.
func jsonText(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
