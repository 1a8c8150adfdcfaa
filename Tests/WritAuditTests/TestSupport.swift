import Foundation
import Synchronization
import WritAudit

/// A fresh directory under the system temporary directory, removed when released.
final class TemporaryDirectory: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("writ-audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// A thread-safe counter.
final class Counter: Sendable {
    private let value = Mutex(0)

    func next() -> Int {
        value.withLock {
            $0 += 1
            return $0
        }
    }
    var current: Int { value.withLock { $0 } }
}

/// Opens a file store that the test has just released: the previous handle's lock goes with its last reference,
/// which a finished child task may drop on another thread a moment after the test moved on.
func reopenFileStore(
    path: String,
    checking: AuditOpenCheck = .tail
) async throws -> FileAuditStore {
    for _ in 0..<200 {
        do {
            return try FileAuditStore.open(path: path, checking: checking)
        } catch let error as AuditError where error.code == .conflict {
            try await Task.sleep(for: .milliseconds(10))
        }
    }
    return try FileAuditStore.open(path: path, checking: checking)
}
