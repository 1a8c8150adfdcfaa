#if SQLite
import Foundation
import GRDB
import Synchronization
import WritRevocation
import WritSQLite

/// A directory removed when the value is released.
final class TemporaryDirectory: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("writ-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// One directory for the test process's database files, removed when the process exits.
let testFiles: String = {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("writ-sqlite-tests-\(getpid())").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(atPath: testFiles) }
    return path
}()

/// A fresh database file path (in ``testFiles``).
func freshPath(_ name: String = "writ") -> String { testFiles + "/\(UUID().uuidString)-\(name).sqlite" }

/// Raw SQL on a connection of the test's own, bypassing every store (what an attacker with write access can do).
func rawSQL(_ path: String, _ body: @Sendable (Database) throws -> Void) throws {
    var configuration = Configuration()
    configuration.busyMode = .timeout(10)
    let queue = try DatabaseQueue(path: path, configuration: configuration)
    try queue.write(body)
    try queue.close()
}

/// The `target` column's text, as the store writes it (an attacker can compute it too).
func targetColumn(_ target: RevocationTarget) -> String { "\(target.kind.rawValue):\(target.value)" }

/// Replaces the feed's rows with exactly `contents`, unchecked.
func overwriteFeed(_ path: String, with contents: RevocationFeedPage) throws {
    try rawSQL(path) { db in
        try db.execute(sql: "DELETE FROM revocation_entries; DELETE FROM revocation_marks")
        for entry in contents.entries {
            try db.execute(
                sql: "INSERT INTO revocation_entries (sequence, target, record) VALUES (?, ?, ?)",
                arguments: [Int64(entry.sequence), targetColumn(entry.entry.target), Data(entry.bytes)]
            )
        }
        for (kind, mark) in [("floor", contents.floor), ("head", contents.head)] {
            guard let mark else { continue }
            try db.execute(
                sql: "INSERT INTO revocation_marks (kind, sequence, record) VALUES (?, ?, ?)",
                arguments: [kind, Int64(mark.sequence), Data(mark.bytes)]
            )
        }
    }
}

/// The path of the last store made (for suites whose `reopen`/`openPeer` receive no store).
final class LastPath: Sendable {
    private let value = Mutex<String?>(nil)
    func set(_ path: String) { value.withLock { $0 = path } }
    var path: String { value.withLock { $0 ?? "" } }
}
#endif

#if SQLite
/// Runs a system command (mount, umount); `true` when it exited 0.
@discardableResult
func system(_ executable: String, _ arguments: [String]) -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do {
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus == 0
    } catch {
        return false
    }
}

/// A small tmpfs mounted at a fresh directory (needs root), unmounted when released; `nil` when mounting fails.
final class SmallFileSystem: Sendable {
    let directory: TemporaryDirectory
    var path: String { directory.url.path }

    init?(size: String) throws {
        directory = try TemporaryDirectory()
        guard system("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", directory.url.path]) else {
            return nil
        }
    }

    func remount(_ options: String) -> Bool { system("/bin/mount", ["-o", "remount,\(options)", path]) }

    /// A read-only view of this file system: a bind mount at a fresh directory, remounted read-only.
    ///
    /// Remounting the file system itself read-only fails (`EBUSY`) while any process holds one of its files open
    /// for writing, and a child spawned by another test holds copies of this process's descriptors until its
    /// `exec`. A fresh bind mount has no writers, so making it read-only cannot race with them.
    func readOnlyView() throws -> ReadOnlyView? { try ReadOnlyView(of: path) }

    deinit { system("/bin/umount", ["-l", directory.url.path]) }
}

/// A read-only bind mount of a directory (needs root), unmounted when released; `nil` when mounting fails.
final class ReadOnlyView: Sendable {
    let directory: TemporaryDirectory
    var path: String { directory.url.path }

    init?(of source: String) throws {
        directory = try TemporaryDirectory()
        guard system("/bin/mount", ["--bind", source, directory.url.path]) else { return nil }
        guard system("/bin/mount", ["-o", "remount,bind,ro", directory.url.path]) else {
            system("/bin/umount", ["-l", directory.url.path])
            return nil
        }
    }

    deinit { system("/bin/umount", ["-l", directory.url.path]) }
}
#endif
