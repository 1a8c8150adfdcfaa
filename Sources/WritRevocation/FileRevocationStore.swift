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

/// A ``RevocationStore`` in an append-only file that several processes can share: the embedded default, which
/// `writ demo` follows and `writ revoke` appends to from a shell.
///
/// **Format** (`Docs/RevocationFeed.md`). The feed file holds a 24-byte header (`writ revocation feed v1\n`), an
/// optional floor, then the entries, each record framed by its 4-byte big-endian length. The latest head is in
/// `<path>.head` (one framed record), replaced atomically. Records are the signed bytes themselves, so whoever can
/// write the files can delete, reorder or roll back records but cannot forge one: followers verify signatures,
/// chain links and heads, and go stale (fail closed) on anything else.
///
/// **Opening.** The authority opens with ``Mode/create`` (creates the files) or ``Mode/readWrite``; verifiers
/// and `writ revoke --list` open ``Mode/readOnly`` and never modify either file. A reader refuses a missing or
/// empty feed file with a typed error instead of treating it as an empty feed.
///
/// **Sharing and crashes.** Writes take an exclusive `flock` on the feed file, catch up with what other processes
/// wrote, append and `fdatasync`; reads take a shared lock. A final frame cut short is a write that never
/// completed (it was not synced, so never acknowledged): a writer cuts it off (``repairedTailBytes``), a reader
/// ignores it. A complete record that does not continue the chain, or a head that claims more than the entries
/// hold, is refused as `tampered`. ``prune(expiredBefore:at:signer:)`` writes a new file and renames it over the
/// old one; other handles notice the new inode and follow it.
///
/// All file work runs on a private serial queue, never on Swift's cooperative pool.
public final class FileRevocationStore: RevocationStore {
    /// How a store is opened.
    public enum Mode: Sendable {
        /// Read only: for verifiers. The files must exist.
        case readOnly
        /// Read and write an existing feed.
        case readWrite
        /// Read and write, creating the feed file when it does not exist (mode 0644: the feed is not secret).
        case create
    }

    /// The feed file's path.
    public let path: String
    /// The head file's path (`<path>.head`).
    public var headPath: String { path + ".head" }
    /// Bytes of a torn final frame that opening cut off (0 when the file was clean or opened read-only).
    public let repairedTailBytes: Int

    private let feed: Mutex<FeedFile>
    private let announcer = FeedAnnouncer()
    private let queue = DispatchQueue(label: "writ.revocation.file-store")

    private init(path: String, feed: FeedFile, repairedTailBytes: Int) {
        self.path = path
        self.feed = Mutex(feed)
        self.repairedTailBytes = repairedTailBytes
    }

    deinit { feed.withLock { $0.close() } }

    /// Opens the feed at `path`.
    ///
    /// Opening blocks while another process holds the feed's exclusive lock.
    ///
    /// - Throws: ``RevocationError`` with code `storeUnavailable` when the file is missing (except with
    ///   ``Mode/create``), empty, or cannot be opened, locked or read; `malformed` or `tampered` naming the record
    ///   when it is not a valid feed.
    public static func open(path: String, mode: Mode = .readOnly) throws(RevocationError) -> FileRevocationStore {
        var feed = try FeedFile(path: path, mode: mode)
        let repaired: Int
        do {
            repaired = try feed.locked(exclusive: mode != .readOnly) { feed throws(RevocationError) in
                try feed.catchUp()
            }
        } catch {
            feed.close()
            throw error
        }
        return FileRevocationStore(path: path, feed: feed, repairedTailBytes: repaired)
    }

    // MARK: RevocationStore

    public func append(
        _ revocations: [RevocationRequest],
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws -> [SignedRevocationEntry] {
        for request in revocations { try request.target.validate() }
        let entries = try await write { feed throws(RevocationError) in
            try feed.append(revocations, signer: signer, minimum: minimum)
        }
        if let last = entries.map(\.sequence).max() { announcer.announce(last) }
        return entries
    }

    public func publishHead(
        at time: Timestamp,
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws -> SignedFeedMark {
        let head = try await write { feed throws(RevocationError) in
            try feed.publishHead(at: time, signer: signer, minimum: minimum)
        }
        announcer.announce(head.sequence)
        return head
    }

    /// Announces this handle's own appends and heads. Writes by other handles or processes are not announced:
    /// their followers find them by polling.
    public func announcements() -> AsyncStream<UInt64>? { announcer.subscribe() }

    public func page(after sequence: UInt64, limit: Int) async throws -> RevocationFeedPage {
        guard limit > 0 else { throw RevocationError(.invalidArgument, "page limit must be at least 1, got \(limit)") }
        return try await onQueue { () throws(RevocationError) in
            try self.feed.withLock { feed throws(RevocationError) in
                try feed.locked(exclusive: false) { feed throws(RevocationError) in
                    try feed.catchUp()
                    return feed.ledger.page(after: sequence, limit: limit)
                }
            }
        }
    }

    @discardableResult
    public func prune(expiredBefore time: Timestamp, at now: Timestamp, signer: some Signer) async throws -> Int {
        try await write { feed throws(RevocationError) in
            try feed.prune(expiredBefore: time, at: now, signer: signer)
        }
    }

    /// Writes a feed file and head file holding exactly `contents`, without any check, as an attacker with write
    /// access could (test support).
    @_spi(Testing)
    public static func overwrite(path: String, with contents: RevocationFeedPage) throws(RevocationError) {
        try RevocationFiles.replace(path, with: FeedFile.fileBytes(floor: contents.floor, entries: contents.entries))
        if let head = contents.head {
            try RevocationFiles.replace(path + ".head", with: FeedFile.frame(head.bytes))
        } else {
            _ = unlink(path + ".head")
        }
    }

    // MARK: Queue

    private func write<T: Sendable>(
        _ body: @escaping @Sendable (inout FeedFile) throws(RevocationError) -> T
    ) async throws(RevocationError) -> T {
        try await onQueue { () throws(RevocationError) -> T in
            try self.feed.withLock { feed throws(RevocationError) -> T in
                guard feed.mode != .readOnly else {
                    throw RevocationError(.invalidArgument, "'\(self.path)' is open read-only")
                }
                return try feed.locked(exclusive: true) { feed throws(RevocationError) -> T in
                    _ = try feed.catchUp()
                    return try body(&feed)
                }
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
