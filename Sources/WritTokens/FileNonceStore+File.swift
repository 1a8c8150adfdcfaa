import WritCrypto
import WritFileSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The open nonce file and what has been read of it; only touched on the store's queue, under its mutex.
struct NonceFile: Sendable {
    let path: String
    private var fd: Int32 = -1
    private var device: UInt64 = 0
    private var inode: UInt64 = 0
    /// Bytes read and parsed, always at the end of a line.
    private var offset = 0
    /// Complete lines read, the header included.
    private var lines = 0
    /// Records in the file.
    private var records = 0
    /// Record count from which the next compaction check runs.
    private var nextCompactionCheck = 0
    /// The latest expiry of every nonce read or written (expired ones too, until the next compaction check).
    private(set) var entries: [ReplayNonce: Timestamp] = [:]

    init(path: String) { self.path = path }

    // MARK: Locking

    /// Runs `body` holding the file's exclusive lock, after reading what other processes appended.
    mutating func withLock<T>(
        _ body: (inout NonceFile) throws(NonceStoreError) -> T
    ) throws(NonceStoreError) -> T {
        try lockCurrentFile()
        defer { if fd >= 0 { _ = flock(fd, LOCK_UN) } }
        try refresh()
        return try body(&self)
    }

    mutating func close() {
        if fd >= 0 { POSIXFile.close(fd) }
        fd = -1
        offset = 0
        lines = 0
        records = 0
        nextCompactionCheck = 0
        entries = [:]
    }

    /// Locks the file now at `path`: after waiting for the lock, checks that `path` still names the file locked
    /// (another process may have compacted it into a new file meanwhile) and follows it if not.
    private mutating func lockCurrentFile() throws(NonceStoreError) {
        for _ in 0..<64 {
            if fd < 0 { try open() }
            guard POSIXFile.lock(fd, LOCK_EX) else { throw failure(.unavailable, "cannot lock") }
            var current = stat()
            if lstat(path, &current) == 0, UInt64(current.st_dev) == device, UInt64(current.st_ino) == inode {
                return
            }
            close()
        }
        throw NonceStoreError(.unavailable, "the file kept being replaced while waiting for its lock", path: path)
    }

    private mutating func open() throws(NonceStoreError) {
        let opened = POSIXFile.open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard opened >= 0 else {
            if errno == ELOOP { throw NonceStoreError(.unsafePath, "is a symbolic link; refusing it", path: path) }
            throw failure(.unavailable, "cannot open or create")
        }
        var info = stat()
        guard fstat(opened, &info) == 0 else {
            let error = failure(.unavailable, "cannot stat")
            POSIXFile.close(opened)
            throw error
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            POSIXFile.close(opened)
            throw NonceStoreError(.unsafePath, "is not a regular file", path: path)
        }
        guard info.st_mode & 0o002 == 0 else {
            POSIXFile.close(opened)
            throw NonceStoreError(
                .unsafePath,
                "is writable by every user (mode \(String(info.st_mode & 0o777, radix: 8))); make it 0600",
                path: path
            )
        }
        fd = opened
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }

    // MARK: Reading

    /// Reads and checks every complete line appended since the last look; cuts off a torn final line; writes the
    /// header into an empty file.
    private mutating func refresh() throws(NonceStoreError) {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure(.unavailable, "cannot stat") }
        let size = Int(info.st_size)
        guard size >= offset else {
            throw NonceStoreError(
                .corrupt,
                "the file is \(size) bytes, shorter than the \(offset) bytes already read (it was truncated)",
                path: path,
                line: lines
            )
        }
        if size > offset {
            let bytes = try readBytes(from: offset, count: size - offset)
            var position = bytes.startIndex
            while let newline = bytes[position...].firstIndex(of: UInt8(ascii: "\n")) {
                // A damaged line throws before `offset` and `lines` pass it: every later look fails on it again.
                try parse(bytes[position..<newline], line: lines + 1)
                lines += 1
                offset += newline + 1 - position
                position = newline + 1
            }
            let tail = bytes[position...]
            if !tail.isEmpty { try cutTornLine(tail) }
        }
        if offset == 0 { try writeHeader() }
    }

    private mutating func parse(_ line: ArraySlice<UInt8>, line number: Int) throws(NonceStoreError) {
        if number == 1 {
            guard line.elementsEqual(FileNonceStore.header.utf8) else {
                throw NonceStoreError(
                    .corrupt,
                    "not a nonce file: the first line is not '\(FileNonceStore.header)'",
                    path: path,
                    line: 1
                )
            }
            return
        }
        switch NonceRecord.decode(line) {
        case .success(let (nonce, expiry)):
            if let known = entries[nonce], known >= expiry { break }
            entries[nonce] = expiry
        case .failure(let failure):
            throw NonceStoreError(.corrupt, failure.reason, path: path, line: number)
        }
        records += 1
    }

    /// A final line without its newline is a write that was never acknowledged, when it can be one: a prefix of
    /// the header in a headerless file, or shorter than a record. Anything else is damage.
    private mutating func cutTornLine(_ tail: ArraySlice<UInt8>) throws(NonceStoreError) {
        let torn =
            lines == 0 ? FileNonceStore.header.utf8.starts(with: tail) : tail.count < NonceRecord.byteCount
        guard torn else {
            throw NonceStoreError(
                .corrupt,
                "the last line has \(tail.count) bytes and no newline: not an interrupted write",
                path: path,
                line: lines + 1
            )
        }
        guard ftruncate(fd, off_t(offset)) == 0 else { throw failure(.unavailable, "cannot cut a torn last line") }
        try sync("cannot sync after cutting a torn last line")
    }

    private mutating func writeHeader() throws(NonceStoreError) {
        try writeAll(Array((FileNonceStore.header + "\n").utf8), at: 0)
        try sync("cannot sync the new file")
        try syncDirectory()
        offset = FileNonceStore.header.utf8.count + 1
        lines = 1
    }

    private func readBytes(from start: Int, count: Int) throws(NonceStoreError) -> [UInt8] {
        guard let bytes = POSIXFile.read(fd, count: count, at: UInt64(start)) else {
            throw failure(.unavailable, "cannot read")
        }
        return bytes
    }

    // MARK: Writing

    /// Appends one record and syncs it.
    mutating func append(_ nonce: ReplayNonce, expiresAt: Timestamp) throws(NonceStoreError) {
        let line = NonceRecord.encode(nonce, expiresAt: expiresAt)
        do {
            try writeAll(line, at: offset)
        } catch {
            _ = ftruncate(fd, off_t(offset))
            throw error
        }
        // From here the record may be in the file: remember it (failing closed) even if the sync fails.
        offset += line.count
        lines += 1
        records += 1
        entries[nonce] = expiresAt
        try sync("cannot sync the new record")
    }

    /// Compacts when the file holds enough records and at most half are unexpired. The caller's record is
    /// already durable, so a failed compaction leaves the (longer) file as it was and is tried again later.
    mutating func compactIfWorthwhile(now: Timestamp, threshold: Int) {
        guard records >= max(threshold, nextCompactionCheck) else { return }
        entries = entries.filter { $0.value > now }
        if entries.count * 2 <= records {
            do { try compact(now: now) } catch { nextCompactionCheck = records + threshold }
        } else {
            nextCompactionCheck = records + threshold
        }
    }

    /// Writes the unexpired records to a new file and renames it over this one (still holding this one's lock),
    /// then lets go of this file: the next operation opens the new one.
    mutating func compact(now: Timestamp) throws(NonceStoreError) {
        let live = entries.filter { $0.value > now }.sorted {
            ($0.value, $0.key.high, $0.key.low) < ($1.value, $1.key.high, $1.key.low)
        }
        var bytes = Array((FileNonceStore.header + "\n").utf8)
        bytes.reserveCapacity(bytes.count + live.count * NonceRecord.byteCount)
        for (nonce, expiry) in live { bytes.append(contentsOf: NonceRecord.encode(nonce, expiresAt: expiry)) }
        let temporary =
            "\(directory)/.\(baseName).compact-\(Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255) }))"
        let tfd = POSIXFile.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard tfd >= 0 else { throw failure(.unavailable, "cannot create '\(temporary)' to compact into") }
        var written = NonceFile(path: temporary)
        written.fd = tfd
        do {
            try written.writeAll(bytes, at: 0)
            try written.sync("cannot sync the compacted file")
        } catch {
            POSIXFile.close(tfd)
            _ = unlink(temporary)
            throw error
        }
        POSIXFile.close(tfd)
        guard rename(temporary, path) == 0 else {
            let error = failure(.unavailable, "cannot rename the compacted file over")
            _ = unlink(temporary)
            throw error
        }
        try syncDirectory()
        close()
    }

    private func writeAll(_ bytes: [UInt8], at start: Int) throws(NonceStoreError) {
        guard POSIXFile.write(fd, bytes, at: UInt64(start)) == nil else { throw failure(.unavailable, "cannot write") }
    }

    private func sync(_ what: String) throws(NonceStoreError) {
        #if canImport(Darwin)
        let result = fcntl(fd, F_FULLFSYNC)
        #else
        let result = fdatasync(fd)
        #endif
        guard result == 0 else { throw failure(.unavailable, what) }
    }

    private func syncDirectory() throws(NonceStoreError) {
        let dfd = POSIXFile.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        guard dfd >= 0 else { throw failure(.unavailable, "cannot open its directory '\(directory)' to sync it") }
        defer { POSIXFile.close(dfd) }
        // Some file systems cannot sync a directory (EINVAL); the rename or creation is then as durable as it gets.
        guard fsync(dfd) == 0 || errno == EINVAL else { throw failure(.unavailable, "cannot sync its directory") }
    }

    private var directory: String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private var baseName: String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// An error naming the file, with `errno` kept as the underlying error.
    private func failure(_ code: NonceStoreError.Code, _ what: String) -> NonceStoreError {
        let error = SystemCallError(errno: errno)
        return NonceStoreError(code, "\(what): \(error)", path: path, underlying: error)
    }
}

/// A failed system call's `errno`.
struct SystemCallError: Error, CustomStringConvertible {
    let errno: Int32
    var description: String { String(cString: strerror(errno)) }
}
