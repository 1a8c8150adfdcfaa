import Dispatch
import Synchronization
public import WritCrypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A ``RevocationStore`` in one append-only text file that several processes can share.
///
/// The embedded default until a database store is configured: `writ demo` keeps its revocations here, and
/// `writ revoke` appends to the same file from a shell while the demo runs.
///
/// **Format.** One canonical, tab-separated line per record, each ending in its CRC-32: a header, then
/// `revoke` lines (sequence, target kind and value, reason, revokedAt and coversUntil in milliseconds), `watermark`
/// and `forget` lines for verifier reports, and a `floor` line that pruning writes so the latest sequence survives
/// the removal of the newest entries. Anything that is not exactly the canonical form — an unknown target kind or
/// reason, a bad number, a checksum mismatch, a sequence that does not increase — fails closed with a
/// ``RevocationError`` naming the file and line.
///
/// **Durability.** ``revoke(_:reason:at:coversUntil:)`` returns only after its line is written and synced.
/// Concurrent calls are committed together: one write and one sync per batch.
///
/// **Sharing.** Writes take an exclusive `flock` on the file, read any lines other processes appended, decide
/// against them (so sequences stay unique and increasing across processes and restarts) and append. Reads take a
/// shared lock only when the file grew, so they never see a line before it is durable. ``prune(expiredBefore:)``
/// writes a new file and renames it over the old one; other stores notice the new inode and follow it.
///
/// **Crashes.** An append is acknowledged only once durable, so a final line without its newline is a write that
/// never completed: it is cut off under the exclusive lock (see ``repairedTailBytes``). Unterminated bytes that are
/// too long to be one line, or a file that does not start with the header, are refused instead.
///
/// Reads (``entries(after:limit:)``) come from the file through an in-memory index of line offsets that is
/// extended when the file grows. All file work runs on a private serial queue, never on Swift's cooperative pool.
public final class FileRevocationStore: RevocationStore {
    /// The file's path.
    public let path: String
    /// Bytes of a torn final line that opening cut off (0 when the file was clean).
    public let repairedTailBytes: Int

    private struct PendingWrite: Sendable {
        let request: WriteRequest
        let continuation: CheckedContinuation<Result<WriteOutcome, RevocationError>, Never>
    }

    private let state: Mutex<FileState>
    private let pending = Mutex<[PendingWrite]>([])
    private let queue = DispatchQueue(label: "writ.revocation.file-store")

    private init(path: String, state: FileState, repairedTailBytes: Int) {
        self.path = path
        self.state = Mutex(state)
        self.repairedTailBytes = repairedTailBytes
    }

    deinit { _ = state.withLock { close($0.fd) } }

    /// Opens (or creates, mode 0600) the revocation file at `path`, reading every line and cutting off a torn
    /// final line.
    ///
    /// The directory must exist. Opening blocks while another process holds the file's exclusive lock.
    ///
    /// - Throws: ``RevocationError`` with code `storeUnavailable` when the file cannot be opened, locked, read or
    ///   repaired; `corruptStore` or `invalidTarget` naming the line when it is not a valid revocation file.
    public static func open(path: String) throws(RevocationError) -> FileRevocationStore {
        var state = try FileState(path: path)
        let repaired: Int
        do {
            try state.lock(LOCK_EX)
            defer { state.unlock() }
            repaired = try state.catchUp(exclusive: true)
        } catch {
            close(state.fd)
            throw error
        }
        return FileRevocationStore(path: path, state: state, repairedTailBytes: repaired)
    }

    // MARK: RevocationStore

    public func revoke(
        _ target: RevocationTarget,
        reason: RevocationReason,
        at time: Timestamp,
        coversUntil: Timestamp
    ) async throws -> RevocationEntry {
        try target.validate()
        guard case .entry(let entry) = try await submit(.revoke(target, reason, at: time, coversUntil: coversUntil))
        else { throw RevocationError(.corruptStore, "'\(path)': a revocation produced no entry") }
        return entry
    }

    public func entries(after sequence: UInt64, limit: Int) async throws -> [RevocationEntry] {
        guard limit > 0 else { throw RevocationError(.invalidArgument, "page limit must be at least 1, got \(limit)") }
        return try await read { state throws(RevocationError) in try state.entries(after: sequence, limit: limit) }
    }

    public func latestSequence() async throws -> UInt64 {
        try await read { state in state.latestSequence }
    }

    public func recordWatermark(verifier: String, sequence: UInt64, at time: Timestamp) async throws {
        try validateVerifierName(verifier)
        _ = try await submit(.watermark(VerifierWatermark(verifier: verifier, sequence: sequence, recordedAt: time)))
    }

    public func watermarks() async throws -> [VerifierWatermark] {
        try await read { state in state.watermarks.values.sorted { $0.verifier < $1.verifier } }
    }

    public func removeVerifier(_ verifier: String) async throws {
        _ = try await submit(.forget(verifier))
    }

    @discardableResult
    public func prune(expiredBefore time: Timestamp) async throws -> Int {
        try await onQueue { () throws(RevocationError) in
            try self.state.withLock { state throws(RevocationError) in try state.prune(expiredBefore: time) }
        }
    }

    // MARK: Queue

    /// Queues a write and waits until the batch holding it is durable.
    ///
    /// The pending list is only touched on the serial queue (so its lock is never contended, and the queue's
    /// ordering is visible to ThreadSanitizer). The first write queued after a drain schedules the next drain,
    /// which runs after every write already queued behind it: writes arriving during an fsync form one batch.
    private func submit(_ request: WriteRequest) async throws(RevocationError) -> WriteOutcome {
        let result = await withCheckedContinuation { continuation in
            queue.async {
                let first = self.pending.withLock { pending -> Bool in
                    pending.append(PendingWrite(request: request, continuation: continuation))
                    return pending.count == 1
                }
                if first { self.queue.async { self.drain() } }
            }
        }
        return try result.get()
    }

    /// Commits every queued write as one batch (on the queue). Later `drain` calls find nothing and return.
    private func drain() {
        let batch = pending.withLock { pending in
            let batch = pending
            pending.removeAll()
            return batch
        }
        guard !batch.isEmpty else { return }
        let requests = batch.map(\.request)
        let outcome = Result { () throws(RevocationError) -> [WriteOutcome] in
            try state.withLock { state throws(RevocationError) in try state.write(requests) }
        }
        for (index, write) in batch.enumerated() {
            write.continuation.resume(returning: outcome.map { $0[index] })
        }
    }

    /// Runs `body` on the queue after bringing the index up to date with the file.
    private func read<T: Sendable>(
        _ body: @escaping @Sendable (inout FileState) throws(RevocationError) -> T
    ) async throws(RevocationError) -> T {
        try await onQueue { () throws(RevocationError) -> T in
            try self.state.withLock { state throws(RevocationError) -> T in
                try state.refreshForReading()
                return try body(&state)
            }
        }
    }

    private func onQueue<T: Sendable>(
        _ body: @escaping @Sendable () throws(RevocationError) -> T
    ) async throws(RevocationError) -> T {
        let result = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: Result(catching: body)) }
        }
        return try result.get()
    }
}
