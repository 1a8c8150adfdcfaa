import Foundation
import Testing
import WritAudit
import WritTesting

/// One writer per audit log file: the exclusive lock, and its patience with a holder that is letting go.
@Suite("FileAuditStore's writer lock")
struct FileLockTests {
    /// Holds an exclusive `flock` on `path` through a descriptor of its own (as another process's writer, or a
    /// child that has not yet reached `exec`, would).
    final class Holder: Sendable {
        let fd: Int32
        init(_ path: String) throws {
            fd = open(path, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { throw CocoaError(.fileReadNoPermission) }
            // Patient too: a child another test is spawning may still hold the closed store's lock for a moment.
            var tries = 0
            while flock(fd, LOCK_EX | LOCK_NB) != 0 {
                tries += 1
                guard tries < 400 else { throw CocoaError(.fileLocking) }
                usleep(5_000)
            }
        }
        func release() { close(fd) }
    }

    @Test("a second writer is refused with conflict while the first holds the file; the first keeps working")
    func secondWriterRefused() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("one.writ")
        let first = try FileAuditStore.open(path: path)
        defer { first.close() }
        let error = #expect(throws: AuditError.self) { try FileAuditStore.open(path: path) }
        #expect(error?.code == .conflict, "\(String(describing: error))")
        #expect(String(describing: error).contains(path))
        // A reader beside the writer is fine, and the writer is unaffected by the refused attempt.
        let reader = try FileAuditStore.open(path: path, access: .readOnly)
        #expect(try await reader.count() == 0)
        #expect(try await first.count() == 0)
    }

    @Test("a lock held by another descriptor for longer than the patience: conflict, not a wait without end")
    func heldLockRefused() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("held.writ")
        try FileAuditStore.open(path: path).close()
        let holder = try Holder(path)
        defer { holder.release() }
        let started = ContinuousClock.now
        let error = #expect(throws: AuditError.self) { try FileAuditStore.open(path: path) }
        #expect(error?.code == .conflict)
        // Bounded: it gave up (the patience is a second; this bound only catches a wait without end).
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    @Test("a lock released within the patience (a closing handle's copy in a child being spawned) is taken")
    func briefHolderWaitedFor() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("brief.writ")
        try FileAuditStore.open(path: path).close()
        let holder = try Holder(path)
        // On a thread of its own: the open below blocks its thread while it waits.
        Thread.detachNewThread {
            usleep(150_000)
            holder.release()
        }
        let reopened = try FileAuditStore.open(path: path)
        defer { reopened.close() }
        #expect(try await reopened.count() == 0)
    }
}
