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

/// A ``NonceStore`` in one append-only file that processes on one machine share.
///
/// **Format.** The first line is ``header``; every other line is one record of exactly 67 bytes:
/// 32 lowercase hex digits of the nonce, a space, 16 of the expiry (milliseconds since the epoch, two's
/// complement), a space, 16 of a checksum (the first 8 bytes of a domain-separated BLAKE2b over nonce and expiry),
/// and a newline. A line that breaks any of this is refused with ``NonceStoreError/Code/corrupt`` naming the file
/// and line: a damaged file never reads as an empty store. The checksum catches damage, not an attacker who can
/// write the file — keep it where only the verifier's user can (it is created with mode 0600).
///
/// **Processes.** Every operation takes the file's exclusive `flock`, reads the records other processes appended
/// since it last looked, decides, appends, and `fsync`s before ``insertIfAbsent(_:expiresAt:)`` returns `true`.
/// So of all the processes and handles sharing the file, exactly one records a given nonce.
///
/// **Crashes.** A record is acknowledged only once durable, so a final line without its newline (shorter than a
/// record) is a write that never completed: it is cut off under the lock. Longer unterminated bytes are refused.
///
/// **Compaction.** When the file holds at least ``compactionThreshold`` records and at most half are unexpired,
/// the store writes the unexpired ones to a new file (mode 0600, `fsync`ed) and renames it over the old one while
/// holding the old file's lock; other handles see the new inode after they lock and follow it.
///
/// A symbolic link at ``path`` is refused, and so is anything but a regular file. File work runs on a private
/// serial queue, never on Swift's cooperative pool.
public final class FileNonceStore: NonceStore {
    /// The first line of every nonce file.
    public static let header = "writ-nonces v1"

    /// The file's path.
    public let path: String
    /// The record count from which the file is compacted (when at most half its records are unexpired).
    public let compactionThreshold: Int

    private let clock: any WallClock
    private let state: Mutex<NonceFile>
    private let queue = DispatchQueue(label: "writ.tokens.file-nonce-store")

    /// Opens the nonce file at `path`, creating it (mode 0600) when absent, and reads every record.
    ///
    /// The directory must exist. Opening blocks while another process holds the file's lock.
    ///
    /// - Parameters:
    ///   - path: The nonce file.
    ///   - clock: Where the store reads the time to tell expired nonces from unexpired ones.
    ///   - compactionThreshold: The record count from which the file is compacted (at least 16; default 4096).
    /// - Throws: ``NonceStoreError`` naming the file: `unsafePath` for a symbolic link or a non-regular file,
    ///   `corrupt` (with the line) when the file is not a nonce file, `unavailable` when it cannot be opened,
    ///   locked, read or written.
    public init(
        path: String,
        clock: some WallClock = SystemClock(),
        compactionThreshold: Int = 4096
    ) throws(NonceStoreError) {
        self.path = path
        self.clock = clock
        self.compactionThreshold = max(16, compactionThreshold)
        var file = NonceFile(path: path)
        try file.withLock { _ throws(NonceStoreError) in }
        self.state = Mutex(file)
    }

    deinit { state.withLock { $0.close() } }

    /// Records `nonce` until `expiresAt` unless it is already recorded and unexpired.
    ///
    /// - Parameters:
    ///   - nonce: The nonce of a proof that passed every other check.
    ///   - expiresAt: When the proof stops being accepted.
    /// - Returns: `true` once the new record is durable (`fsync`ed); `false` for a replay.
    /// - Throws: ``NonceStoreError`` naming the file (and line): the request must be refused.
    public func insertIfAbsent(_ nonce: ReplayNonce, expiresAt: Timestamp) async throws(NonceStoreError) -> Bool {
        let threshold = compactionThreshold
        return try await onQueue { () throws(NonceStoreError) -> Bool in
            let now = self.clock.now()
            return try self.state.withLock { file throws(NonceStoreError) -> Bool in
                try file.withLock { file throws(NonceStoreError) -> Bool in
                    if let existing = file.entries[nonce], existing > now { return false }
                    try file.append(nonce, expiresAt: expiresAt)
                    file.compactIfWorthwhile(now: now, threshold: threshold)
                    return true
                }
            }
        }
    }

    /// The number of unexpired nonces in the file now (other processes' records included).
    ///
    /// - Throws: ``NonceStoreError`` naming the file when it cannot be read.
    public func unexpiredCount() async throws(NonceStoreError) -> Int {
        try await onQueue { () throws(NonceStoreError) -> Int in
            let now = self.clock.now()
            return try self.state.withLock { file throws(NonceStoreError) -> Int in
                try file.withLock { file throws(NonceStoreError) -> Int in
                    file.entries.values.count { $0 > now }
                }
            }
        }
    }

    /// Rewrites the file with only its unexpired records, whatever their number.
    ///
    /// - Throws: ``NonceStoreError`` naming the file when it cannot be read or rewritten.
    public func compact() async throws(NonceStoreError) {
        try await onQueue { () throws(NonceStoreError) in
            let now = self.clock.now()
            try self.state.withLock { file throws(NonceStoreError) in
                try file.withLock { file throws(NonceStoreError) in try file.compact(now: now) }
            }
        }
    }

    private func onQueue<T: Sendable>(
        _ body: @escaping @Sendable () throws(NonceStoreError) -> T
    ) async throws(NonceStoreError) -> T {
        let result = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: Result(catching: body)) }
        }
        return try result.get()
    }
}
