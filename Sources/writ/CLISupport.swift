#if CLI
// With ServiceLifecycle linked, `stat` resolves to CDispatch's copy on Linux (MemberImportVisibility).
#if canImport(CDispatch)
import CDispatch
#endif
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

// MARK: - Describing errors

/// Says what went wrong in words, for errors that are not the CLI's own: never a raw `DecodingError` or
/// `NSCocoaErrorDomain` dump. A decoding error names the key path and what was expected there.
func describe(_ error: any Error) -> String {
    if let error = error as? CLIError { return error.message }
    if let error = error as? DecodingError { return describe(error) }
    if let error = error as? EncodingError {
        switch error {
        case .invalidValue(_, let context):
            return "cannot encode \(keyPath(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "cannot encode the output"
        }
    }
    if let error = error as? CocoaError {
        let file = error.filePath.map { " '\(displayedPath($0))'" } ?? ""
        return "file\(file): \(cocoaReason(error))"
    }
    let text = String(describing: error)
    // Foundation errors that are not `CocoaError` print as `Error Domain=… Code=… UserInfo=…`.
    if text.contains("Domain=") { return (error as NSError).localizedDescription }
    return text
}

private func describe(_ error: DecodingError) -> String {
    switch error {
    case .typeMismatch(let type, let context):
        return "\(keyPath(context.codingPath)): expected \(expectation(type))"
    case .valueNotFound(let type, let context):
        return "\(keyPath(context.codingPath)): expected \(expectation(type)), found null"
    case .keyNotFound(let key, let context):
        return "\(keyPath(context.codingPath + [key])): missing"
    case .dataCorrupted(let context):
        if context.codingPath.isEmpty { return "not valid JSON" }
        return "\(keyPath(context.codingPath)): \(context.debugDescription)"
    @unknown default:
        return "cannot decode"
    }
}

/// `[0].defaultTTLSeconds` → `entry 1, key 'defaultTTLSeconds'`.
private func keyPath(_ path: [any CodingKey]) -> String {
    if path.isEmpty { return "the top level" }
    return path.map { key in
        if let index = key.intValue { return "entry \(index + 1)" }
        return "key '\(key.stringValue)'"
    }.joined(separator: ", ")
}

private func expectation(_ type: Any.Type) -> String {
    switch type {
    case is String.Type: "a string"
    case is Bool.Type: "true or false"
    case is Int.Type, is Int64.Type, is UInt64.Type, is Int32.Type, is UInt32.Type, is UInt8.Type: "a whole number"
    case is Double.Type: "a number"
    default:
        String(describing: type).hasPrefix("Array") || String(describing: type).hasPrefix("[")
            ? "an array" : String(describing: type).hasPrefix("Dictionary") ? "an object" : "a value"
    }
}

private func cocoaReason(_ error: CocoaError) -> String {
    switch error.code {
    case .fileNoSuchFile, .fileReadNoSuchFile: "no such file"
    case .fileReadNoPermission, .fileWriteNoPermission: "permission denied"
    case .fileWriteFileExists: "already exists"
    case .fileReadCorruptFile, .propertyListReadCorrupt: "not in the expected format"
    case .fileWriteOutOfSpace: "no space left"
    default: "cannot read or write (Cocoa error \(error.code.rawValue))"
    }
}

// MARK: - Echoing arguments

/// The prefixes of writ's secret-bearing texts: a token, a proof, a private key.
private let credentialPrefixes = ["writ1_", "writp1_", "writsk1_"]

/// An argument as it may appear in a message: in full when it can be a path, else a short prefix.
///
/// Arguments that hold a credential's text (or anything too long to be a file name) are never echoed back
/// whole: at most their first 8 characters, then `…`.
func displayedPath(_ argument: String) -> String {
    let looksLikeCredential = credentialPrefixes.contains { argument.hasPrefix($0) }
    if looksLikeCredential || argument.utf8.count > 255 { return shortPrefix(argument) }
    return argument
}

/// The first `keeping` characters (default 8) and `…`, or the whole text when it is no longer.
func shortPrefix(_ text: String, keeping count: Int = 8) -> String {
    text.count <= count ? text : String(text.prefix(count)) + "…"
}

// MARK: - Reading

/// Reads a whole file, or throws an input error naming it.
func readFile(_ path: String) throws -> Data {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CLIError.input("cannot read '\(displayedPath(path))'")
    }
    return data
}

/// Reads a UTF-8 text file with surrounding white space trimmed.
func readText(_ path: String) throws -> String {
    guard let text = String(data: try readFile(path), encoding: .utf8) else {
        throw CLIError.input("'\(displayedPath(path))' is not UTF-8 text")
    }
    return text.trimmingCharacters(in: .whitespacesAndNewlines)
}

// MARK: - Writing

/// How files the CLI writes are created: never through a symbolic link, and never over an existing file unless
/// asked.
enum OutputFile {
    /// Creates `path` with `contents`, refusing when anything (a file, a symbolic link) is already there:
    /// `open(O_CREAT | O_EXCL | O_NOFOLLOW)` with `mode`, so the mode holds before any byte is written.
    ///
    /// - Parameter option: The option that named the path, for messages.
    static func create(_ path: String, contents: String, mode: mode_t, option: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else {
            let reason = errno
            if reason == EEXIST {
                if isSymbolicLink(path) {
                    throw CLIError.input("\(option): '\(path)' is a symbolic link; refusing to write through it")
                }
                throw CLIError.input("\(option): '\(path)' already exists; pass --force to replace it")
            }
            throw CLIError.input("\(option): cannot create '\(path)': \(String(cString: strerror(reason)))")
        }
        do {
            try write(contents, to: fd, path: path, mode: mode)
            close(fd)
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
    }

    /// Replaces (or creates) `path` atomically: writes a new file beside it (mode `mode`), syncs it and renames it
    /// over `path`. A symbolic link at `path` is refused, never followed (and a rename replaces the name, never
    /// the link's target).
    ///
    /// - Parameter option: The option that named the path, for messages.
    static func replace(_ path: String, contents: String, mode: mode_t, option: String) throws {
        try checkReplaceable(path, option: option)
        let temporary = directory(of: path) + "/." + baseName(of: path) + ".writ-" + UUID().uuidString
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw CLIError.input(
                "\(option): cannot create a file beside '\(path)': \(String(cString: strerror(errno)))"
            )
        }
        do {
            try write(contents, to: fd, path: temporary, mode: mode)
            close(fd)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CLIError.input("\(option): cannot replace '\(path)': \(reason)")
        }
        let dfd = open(directory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// Refuses a symbolic link or anything but a regular file at `path` (nothing there is fine).
    static func checkReplaceable(_ path: String, option: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFLNK {
            throw CLIError.input("\(option): '\(path)' is a symbolic link; refusing to write through it")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw CLIError.input("\(option): '\(path)' is not a regular file")
        }
    }

    /// Whether anything (a dangling symbolic link included) is at `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Whether two paths name the same file: the same resolved path (directories and symbolic links resolved),
    /// or the same device and inode when both exist (hard links).
    static func sameFile(_ a: String, _ b: String) -> Bool {
        if resolved(a) == resolved(b) { return true }
        var first = stat()
        var second = stat()
        guard stat(a, &first) == 0, stat(b, &second) == 0 else { return false }
        return first.st_dev == second.st_dev && first.st_ino == second.st_ino
    }

    /// The absolute path with its directory resolved (and the file itself, when it is a symbolic link).
    private static func resolved(_ path: String) -> String {
        if let full = realpath(path, nil) {
            defer { free(full) }
            return String(cString: full)
        }
        let directory = directory(of: path)
        guard let resolvedDirectory = realpath(directory, nil) else { return path }
        defer { free(resolvedDirectory) }
        return String(cString: resolvedDirectory) + "/" + baseName(of: path)
    }

    private static func isSymbolicLink(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK
    }

    private static func write(_ contents: String, to fd: Int32, path: String, mode: mode_t) throws {
        // The umask may have narrowed the mode: set exactly the one asked for.
        guard fchmod(fd, mode) == 0 else { throw CLIError.input("cannot set the mode of '\(path)'") }
        let bytes = Array(contents.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { posixWrite(fd, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else {
                throw CLIError.input("cannot write '\(path)': \(String(cString: strerror(errno)))")
            }
            offset += written
        }
        guard fsync(fd) == 0 else { throw CLIError.input("cannot sync '\(path)'") }
    }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func baseName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}

// `OutputFile.write` shadows the C function inside the enum.
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, buffer, count) }

/// Encodes a value as pretty, key-sorted JSON text.
func jsonText(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    do {
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    } catch {
        throw CLIError.input("cannot print JSON: \(describe(error))")
    }
}
#endif
