import WritCrypto
import WritFileSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The open feed file of a ``FileRevocationStore`` and the ledger read from it.
///
/// Every method runs on the store's serial queue under its mutex; cross-process exclusion comes from `flock` on
/// the feed file, which also covers the head file.
struct FeedFile {
    static let header: [UInt8] = Array("writ revocation feed v1\n".utf8)

    let path: String
    let mode: FileRevocationStore.Mode
    private var fd: Int32
    private var identity: POSIXFile.Identity
    /// Bytes of the file that are applied to the ledger (header and complete frames).
    private var end: UInt64 = 0
    /// Bytes after ``end`` that are not a complete frame (a torn write, or one in progress elsewhere).
    private var tail: UInt64 = 0
    private(set) var ledger = FeedLedger()

    init(path: String, mode: FileRevocationStore.Mode) throws(RevocationError) {
        self.path = path
        self.mode = mode
        let flags: Int32 =
            switch mode {
            case .readOnly: O_RDONLY
            case .readWrite: O_RDWR
            case .create: O_RDWR | O_CREAT
            }
        let fd = POSIXFile.open(path, flags | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else {
            if errno == ENOENT {
                throw RevocationError(
                    .storeUnavailable,
                    "'\(path)' does not exist: expected a revocation feed written by the authority"
                )
            }
            throw RevocationError(.storeUnavailable, "cannot open '\(path)': \(POSIXFile.errnoText())")
        }
        guard let identity = POSIXFile.Identity(fd: fd) else {
            POSIXFile.close(fd)
            throw RevocationError(.storeUnavailable, "cannot examine '\(path)': \(POSIXFile.errnoText())")
        }
        self.fd = fd
        self.identity = identity
    }

    func close() { POSIXFile.close(fd) }

    private func fail(_ code: RevocationError.Code, _ message: String) -> RevocationError {
        RevocationError(code, "'\(path)' \(message)")
    }

    // MARK: Locking and following the file

    /// Runs `body` holding `flock` on the file that is at `path` now (following a replacement by pruning).
    mutating func locked<T>(
        exclusive: Bool,
        _ body: (inout FeedFile) throws(RevocationError) -> T
    ) throws(RevocationError) -> T {
        for _ in 0..<64 {
            guard POSIXFile.lock(fd, exclusive ? LOCK_EX : LOCK_SH) else {
                throw fail(.storeUnavailable, "cannot be locked: \(POSIXFile.errnoText())")
            }
            guard let current = POSIXFile.Identity(path: path) else {
                _ = flock(fd, LOCK_UN)
                throw fail(.storeUnavailable, "is gone: expected a revocation feed written by the authority")
            }
            if current == identity {
                defer { _ = flock(fd, LOCK_UN) }
                return try body(&self)
            }
            _ = flock(fd, LOCK_UN)
            try reopen()
        }
        throw fail(.storeUnavailable, "keeps being replaced; giving up")
    }

    /// Switches to the file now at `path` and forgets the ledger (the next catch-up rebuilds it).
    private mutating func reopen() throws(RevocationError) {
        let newFD = POSIXFile.open(path, (mode == .readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOFOLLOW)
        guard newFD >= 0 else { throw fail(.storeUnavailable, "cannot be reopened: \(POSIXFile.errnoText())") }
        guard let newIdentity = POSIXFile.Identity(fd: newFD) else {
            POSIXFile.close(newFD)
            throw fail(.storeUnavailable, "cannot be examined: \(POSIXFile.errnoText())")
        }
        close()
        fd = newFD
        identity = newIdentity
        forget()
    }

    private mutating func forget() {
        end = 0
        tail = 0
        ledger = FeedLedger()
    }

    /// Reads every complete frame past ``end`` into the ledger, then the head file. Call holding the lock.
    ///
    /// A final frame cut short is a write that never completed: with the exclusive lock (a writer) it is cut off,
    /// otherwise it is ignored.
    ///
    /// - Returns: how many bytes of a torn final frame were cut off.
    @discardableResult
    mutating func catchUp() throws(RevocationError) -> Int {
        let writer = mode != .readOnly
        guard let size = POSIXFile.size(fd) else {
            throw fail(.storeUnavailable, "cannot be examined: \(POSIXFile.errnoText())")
        }
        if size < end {
            forget()
            throw fail(.tampered, "shrank to \(size) bytes while open: truncated or rolled back")
        }
        tail = min(tail, size - end)  // a writer may have cut off a torn final frame meanwhile
        if size == 0 {
            guard mode == .create else {
                throw fail(.storeUnavailable, "is empty: expected a revocation feed written by the authority")
            }
            try appendDurably(Self.header)
            POSIXFile.syncDirectory(of: path)
            end = UInt64(Self.header.count)
        }
        if size > end + tail || end == 0 {
            try readFrames(upTo: max(size, end))
        }
        if let headBytes = try RevocationFiles.read(path + ".head", limit: FeedFormat.maximumRecordBytes + 4) {
            let record = try Self.unframe(headBytes, what: "'\(path).head'")
            try ledger.adopt(head: try SignedFeedMark(bytes: record, kind: .head), store: "'\(path)'")
        }
        guard tail > 0, writer else { return 0 }
        guard ftruncate(fd, off_t(end)) == 0, fsync(fd) == 0 else {
            throw fail(.storeUnavailable, "cannot cut off a torn final record: \(POSIXFile.errnoText())")
        }
        defer { tail = 0 }
        return Int(tail)
    }

    private mutating func readFrames(upTo size: UInt64) throws(RevocationError) {
        guard let bytes = POSIXFile.read(fd, count: Int(size - end), at: end) else {
            throw fail(.storeUnavailable, "cannot be read: \(POSIXFile.errnoText())")
        }
        var at = 0
        if end == 0 {
            guard bytes.starts(with: Self.header) else {
                // A header cut short is the creator's torn first write; anything else is not a feed.
                if Self.header.starts(with: bytes) && mode != .readOnly {
                    tail = UInt64(bytes.count)
                    return
                }
                throw fail(.malformed, "is not a Writ revocation feed (bad header)")
            }
            at = Self.header.count
            end = UInt64(at)
        }
        while bytes.count - at >= 4 {
            let length = Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            guard length >= 2, length <= FeedFormat.maximumRecordBytes else {
                throw fail(.malformed, "at byte \(end): a record of \(length) bytes is not valid")
            }
            guard bytes.count - at - 4 >= length else { break }
            let record = Array(bytes[at + 4..<at + 4 + length])
            if record[1] == FeedFormat.Kind.floor.rawValue {
                try ledger.adopt(floor: try SignedFeedMark(bytes: record, kind: .floor), store: "'\(path)'")
            } else {
                try ledger.adopt(try SignedRevocationEntry(bytes: record), store: "'\(path)'")
            }
            at += 4 + length
            end += UInt64(4 + length)
        }
        tail = UInt64(bytes.count - at)
    }

    // MARK: Writing

    mutating func append(
        _ requests: [RevocationRequest],
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) throws(RevocationError) -> [SignedRevocationEntry] {
        try ledger.check(minimum: minimum, store: "'\(path)'")
        let (all, new) = try ledger.append(requests, signer: signer)
        guard !new.isEmpty else { return all }
        let bytes = new.flatMap { Self.frame($0.bytes) }
        do {
            try appendDurably(bytes)
        } catch {
            forget()  // the ledger holds entries that are not on disk: rebuild it from the file next time
            throw error
        }
        end += UInt64(bytes.count)
        return all
    }

    mutating func publishHead(
        at time: Timestamp,
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) throws(RevocationError) -> SignedFeedMark {
        try ledger.check(minimum: minimum, store: "'\(path)'")
        let head = try ledger.publishHead(at: time, signer: signer)
        do {
            try RevocationFiles.replace(path + ".head", with: Self.frame(head.bytes), mode: 0o644)
        } catch {
            forget()
            throw error
        }
        return head
    }

    /// Rewrites the file without the prunable prefix: header, the new floor, the remaining entries, written to a
    /// temporary file, synced and renamed over the old one; other processes notice the new inode and follow it.
    mutating func prune(
        expiredBefore time: Timestamp,
        at now: Timestamp,
        signer: some Signer
    ) throws(RevocationError) -> Int {
        let removed = try ledger.prune(expiredBefore: time, at: now, signer: signer)
        guard removed > 0 else { return 0 }
        do {
            try RevocationFiles.replace(
                path,
                with: Self.fileBytes(floor: ledger.floor, entries: ledger.entries),
                mode: 0o644
            )
        } catch {
            forget()
            throw error
        }
        forget()  // the next locked call follows the new inode and reads it back
        return removed
    }

    /// Writes `bytes` at ``end`` and syncs; on failure cuts the file back to ``end``.
    private func appendDurably(_ bytes: [UInt8]) throws(RevocationError) {
        if let message = POSIXFile.write(fd, bytes, at: end) {
            _ = ftruncate(fd, off_t(end))
            throw fail(.storeUnavailable, "cannot be written: \(message)")
        }
        guard POSIXFile.dataSync(fd) else {
            let message = POSIXFile.errnoText()
            _ = ftruncate(fd, off_t(end))
            throw fail(.storeUnavailable, "cannot be synced: \(message)")
        }
    }

    // MARK: Framing

    /// A record with its 4-byte big-endian length.
    static func frame(_ record: [UInt8]) -> [UInt8] {
        let n = UInt32(record.count)
        return [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + record
    }

    /// The record inside one complete frame.
    static func unframe(_ bytes: [UInt8], what: String) throws(RevocationError) -> [UInt8] {
        guard bytes.count >= 4 else { throw RevocationError(.malformed, "\(what) is \(bytes.count) bytes") }
        let length = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        guard length == bytes.count - 4 else {
            throw RevocationError(.malformed, "\(what) frames \(length) bytes but holds \(bytes.count - 4)")
        }
        return Array(bytes[4...])
    }

    /// A whole feed file: header, floor, entries.
    static func fileBytes(floor: SignedFeedMark?, entries: [SignedRevocationEntry]) -> [UInt8] {
        var bytes = header
        if let floor { bytes += frame(floor.bytes) }
        for entry in entries { bytes += frame(entry.bytes) }
        return bytes
    }
}
