import WritCrypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension FileRevocationStore {
    /// Where one revocation line sits in the file.
    struct IndexedEntry: Sendable {
        var sequence: UInt64
        var offset: UInt64
        var length: UInt32
        var line: UInt32
        var coversUntil: Timestamp
    }

    /// A write that a batch performs under the file lock.
    enum WriteRequest: Sendable {
        case revoke(RevocationTarget, RevocationReason, at: Timestamp, coversUntil: Timestamp)
        case watermark(VerifierWatermark)
        case forget(String)
    }

    /// What one write request produced.
    enum WriteOutcome: Sendable {
        case entry(RevocationEntry)
        case done
    }

    /// The open file and the in-memory index of its complete lines.
    ///
    /// Every method runs on the store's serial queue under its mutex; cross-process exclusion comes from `flock`.
    struct FileState {
        let path: String
        private(set) var fd: Int32
        private var identity: FileIdentity
        /// Bytes of complete, applied lines.
        private(set) var end: UInt64 = 0
        /// Complete lines applied (the next line's number is `lineCount + 1`).
        private(set) var lineCount = 0
        /// Revocation lines in increasing sequence order.
        private(set) var entries: [IndexedEntry] = []
        private(set) var latestSequence: UInt64 = 0
        /// The highest latest sequence ever seen, across file replacements: it must never go back.
        private var knownLatest: UInt64 = 0
        /// The newest entry for each target, to make retried revocations idempotent.
        private(set) var newest: [RevocationTarget: RevocationEntry] = [:]
        private(set) var watermarks: [String: VerifierWatermark] = [:]
        /// Lines that pruning would drop without losing anything (superseded watermarks, forgotten verifiers).
        private(set) var obsoleteLines = 0

        /// Opens (creating when missing, mode 0600) the file at `path`; the index starts empty.
        init(path: String) throws(RevocationError) {
            self.path = path
            let fd = systemOpen(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw RevocationError(.storeUnavailable, "cannot open '\(path)': \(errnoText())") }
            guard let identity = FileIdentity(fd: fd) else {
                close(fd)
                throw RevocationError(.storeUnavailable, "cannot stat '\(path)': \(errnoText())")
            }
            self.fd = fd
            self.identity = identity
        }

        func fail(_ code: RevocationError.Code, _ message: String) -> RevocationError {
            RevocationError(code, "'\(path)' \(message)")
        }

        // MARK: Locking and following the file

        /// Takes `flock(operation)` on the file that is at `path` now, reopening it when it was replaced (pruned).
        mutating func lock(_ operation: Int32) throws(RevocationError) {
            for _ in 0..<64 {
                var result: Int32
                repeat { result = flock(fd, operation) } while result != 0 && errno == EINTR
                guard result == 0 else { throw fail(.storeUnavailable, "cannot be locked: \(errnoText())") }
                guard let current = FileIdentity(path: path) else {
                    _ = flock(fd, LOCK_UN)
                    throw fail(.storeUnavailable, "is gone: \(errnoText())")
                }
                if current == identity { return }
                _ = flock(fd, LOCK_UN)
                try reopen()
            }
            throw fail(.storeUnavailable, "keeps being replaced; giving up")
        }

        /// Releases the file lock.
        func unlock() { _ = flock(fd, LOCK_UN) }

        /// Switches to the file now at `path` and forgets the index (the next catch-up rebuilds it).
        private mutating func reopen() throws(RevocationError) {
            let newFD = systemOpen(path, O_RDWR | O_CLOEXEC, 0)
            guard newFD >= 0 else { throw fail(.storeUnavailable, "cannot be reopened: \(errnoText())") }
            guard let newIdentity = FileIdentity(fd: newFD) else {
                close(newFD)
                throw fail(.storeUnavailable, "cannot be examined: \(errnoText())")
            }
            close(fd)
            adopt(fd: newFD, identity: newIdentity)
        }

        private mutating func adopt(fd newFD: Int32, identity newIdentity: FileIdentity) {
            fd = newFD
            identity = newIdentity
            end = 0
            lineCount = 0
            entries = []
            latestSequence = 0
            newest = [:]
            watermarks = [:]
            obsoleteLines = 0
        }

        /// Brings the index up to date without the exclusive lock, for reads.
        ///
        /// When the file has not grown and was not replaced this costs two `stat` calls. Otherwise it takes a shared
        /// lock, so it never reads a line a writer has not yet made durable.
        mutating func refreshForReading() throws(RevocationError) {
            if let size = FileIdentity.size(of: fd), size == end, FileIdentity(path: path) == identity { return }
            try lock(LOCK_SH)
            defer { unlock() }
            try catchUp(exclusive: false)
        }

        /// Reads and applies every complete line past ``end``.
        ///
        /// A final line without its newline is a write that never completed (an append returns only after its line
        /// is durable, under the exclusive lock): with `exclusive` it is cut off, otherwise it is left for a writer.
        /// A tail too long to be one line, or the beginning of a file that is not a revocation file, is refused.
        ///
        /// - Returns: how many bytes of a torn final line were cut off.
        @discardableResult
        mutating func catchUp(exclusive: Bool) throws(RevocationError) -> Int {
            guard let size = FileIdentity.size(of: fd) else {
                throw fail(.storeUnavailable, "cannot be examined: \(errnoText())")
            }
            guard size >= end else {
                throw fail(.corruptStore, "shrank from \(end) to \(size) bytes while open")
            }
            var repaired = 0
            if size > end {
                let bytes = try read(from: end, count: Int(size - end))
                let base = end
                var start = 0
                while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    let line = bytes[start..<newline]
                    if lineCount == 0 && !line.starts(with: Record.formatName.utf8 + [UInt8(ascii: "\t")]) {
                        throw fail(.corruptStore, "line 1: not a Writ revocation file")
                    }
                    let record = try Record.parse(line, number: lineCount + 1, path: path)
                    try apply(record, offset: base + UInt64(start), length: newline - start + 1)
                    start = newline + 1
                }
                let tail = bytes.count - start
                if tail > 0 {
                    let header = Record.header(version: Record.formatVersion).encoded()
                    guard tail < Record.maximumLineBytes, end > 0 || header.starts(with: bytes[start...]) else {
                        throw fail(
                            .corruptStore,
                            "line \(lineCount + 1): \(tail) bytes without a newline that cannot be a torn write"
                        )
                    }
                    if exclusive {
                        guard ftruncate(fd, off_t(end)) == 0, fsync(fd) == 0 else {
                            throw fail(.storeUnavailable, "cannot cut off a torn final line: \(errnoText())")
                        }
                        repaired = tail
                    }
                }
            }
            if exclusive && end == 0 {
                let header = Record.header(version: Record.formatVersion)
                let line = header.encoded()
                try appendDurably(line)
                syncDirectory(of: path)
                try apply(header, offset: 0, length: line.count)
            }
            guard latestSequence >= knownLatest else {
                // Forget this file's index so that every later call finds the regression again.
                adopt(fd: fd, identity: identity)
                throw fail(
                    .corruptStore,
                    "latest sequence went back from \(knownLatest) to \(latestSequence): replaced by an older copy?"
                )
            }
            knownLatest = latestSequence
            return repaired
        }

        /// Applies one parsed line at `offset` to the index.
        private mutating func apply(_ record: Record, offset: UInt64, length: Int) throws(RevocationError) {
            let number = lineCount + 1
            switch record {
            case .header:
                guard number == 1 else { throw fail(.corruptStore, "line \(number): a second header") }
            case .revoke(let entry):
                guard number > 1 else { throw fail(.corruptStore, "line 1: not a Writ revocation file") }
                guard entry.sequence > latestSequence else {
                    throw fail(
                        .corruptStore,
                        "line \(number): sequence \(entry.sequence) does not follow \(latestSequence)"
                    )
                }
                entries.append(
                    IndexedEntry(
                        sequence: entry.sequence,
                        offset: offset,
                        length: UInt32(length),
                        line: UInt32(number),
                        coversUntil: entry.coversUntil
                    )
                )
                newest[entry.target] = entry
                latestSequence = entry.sequence
            case .watermark(let mark):
                guard number > 1 else { throw fail(.corruptStore, "line 1: not a Writ revocation file") }
                if let current = watermarks[mark.verifier] {
                    obsoleteLines += 1
                    if (current.recordedAt, current.sequence) > (mark.recordedAt, mark.sequence) { break }
                }
                watermarks[mark.verifier] = mark
            case .forget(let verifier):
                guard number > 1 else { throw fail(.corruptStore, "line 1: not a Writ revocation file") }
                obsoleteLines += watermarks.removeValue(forKey: verifier) == nil ? 1 : 2
            case .floor(let sequence):
                guard number > 1 else { throw fail(.corruptStore, "line 1: not a Writ revocation file") }
                guard sequence >= latestSequence else {
                    throw fail(.corruptStore, "line \(number): floor \(sequence) is below sequence \(latestSequence)")
                }
                latestSequence = sequence
            }
            lineCount = number
            end = offset + UInt64(length)
        }

        // MARK: Writing

        /// Performs a batch of writes under the exclusive lock with one write and one sync.
        ///
        /// The outcome of each request is decided against the file as it is once locked (other processes' lines
        /// included) and against the earlier requests of the batch; requests that change nothing write nothing.
        mutating func write(_ requests: [WriteRequest]) throws(RevocationError) -> [WriteOutcome] {
            try lock(LOCK_EX)
            defer { unlock() }
            try catchUp(exclusive: true)
            var latest = latestSequence
            var batchNewest: [RevocationTarget: RevocationEntry] = [:]
            var batchMarks: [String: VerifierWatermark?] = [:]
            var records: [Record] = []
            var outcomes: [WriteOutcome] = []
            func mark(of verifier: String) -> VerifierWatermark? {
                if let pending = batchMarks[verifier] { return pending }
                return watermarks[verifier]
            }
            for request in requests {
                switch request {
                case .revoke(let target, let reason, let time, let coversUntil):
                    if let existing = batchNewest[target] ?? newest[target], existing.reason == reason,
                        existing.coversUntil >= coversUntil
                    {
                        outcomes.append(.entry(existing))
                        continue
                    }
                    guard latest < .max else { throw fail(.storeUnavailable, "has used every sequence number") }
                    latest += 1
                    let entry = RevocationEntry(
                        sequence: latest,
                        target: target,
                        reason: reason,
                        revokedAt: time,
                        coversUntil: coversUntil
                    )
                    batchNewest[target] = entry
                    records.append(.revoke(entry))
                    outcomes.append(.entry(entry))
                case .watermark(let report):
                    if let current = mark(of: report.verifier),
                        (current.recordedAt, current.sequence) >= (report.recordedAt, report.sequence)
                    {
                        outcomes.append(.done)
                        continue
                    }
                    batchMarks[report.verifier] = .some(report)
                    records.append(.watermark(report))
                    outcomes.append(.done)
                case .forget(let verifier):
                    if mark(of: verifier) != nil {
                        batchMarks[verifier] = .some(nil)
                        records.append(.forget(verifier: verifier))
                    }
                    outcomes.append(.done)
                }
            }
            guard !records.isEmpty else { return outcomes }
            let lines = records.map { $0.encoded() }
            try appendDurably(Array(lines.joined()))
            var offset = end
            for (record, line) in zip(records, lines) {
                try apply(record, offset: offset, length: line.count)
                offset += UInt64(line.count)
            }
            knownLatest = latestSequence
            return outcomes
        }

        /// Writes `bytes` at ``end`` and syncs; on failure cuts the file back to ``end``.
        private func appendDurably(_ bytes: [UInt8]) throws(RevocationError) {
            do throws(RevocationError) {
                try writeFully(fd: fd, bytes, at: end)
                guard dataSync(fd) == 0 else { throw fail(.storeUnavailable, "cannot be synced: \(errnoText())") }
            } catch {
                _ = ftruncate(fd, off_t(end))
                throw error
            }
        }

        private func writeFully(fd: Int32, _ bytes: [UInt8], at offset: UInt64) throws(RevocationError) {
            var done = 0
            while done < bytes.count {
                let n = bytes.withUnsafeBytes {
                    pwrite(fd, $0.baseAddress! + done, $0.count - done, off_t(offset) + off_t(done))
                }
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw fail(.storeUnavailable, "cannot be written: \(errnoText())") }
                done += n
            }
        }

        // MARK: Reading

        /// Reads `count` bytes at `offset` of the open file.
        func read(from offset: UInt64, count: Int) throws(RevocationError) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let n = bytes.withUnsafeMutableBytes {
                    pread(fd, $0.baseAddress! + done, $0.count - done, off_t(offset) + off_t(done))
                }
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw fail(.storeUnavailable, "cannot be read: \(errnoText())") }
                done += n
            }
            return bytes
        }

        /// Up to `limit` entries with a sequence above `sequence`, read from the file and parsed again.
        func entries(after sequence: UInt64, limit: Int) throws(RevocationError) -> [RevocationEntry] {
            var low = 0
            var high = entries.count
            while low < high {
                let mid = (low + high) / 2
                if entries[mid].sequence <= sequence { low = mid + 1 } else { high = mid }
            }
            let stop = low + min(limit, entries.count - low)
            guard low < stop else { return [] }
            let first = entries[low].offset
            let last = entries[stop - 1]
            let bytes = try read(from: first, count: Int(last.offset + UInt64(last.length) - first))
            var result: [RevocationEntry] = []
            result.reserveCapacity(stop - low)
            for indexed in entries[low..<stop] {
                let start = Int(indexed.offset - first)
                let newline = start + Int(indexed.length) - 1
                guard bytes[newline] == UInt8(ascii: "\n"),
                    case .revoke(let entry) = try Record.parse(
                        bytes[start..<newline],
                        number: Int(indexed.line),
                        path: path
                    ),
                    entry.sequence == indexed.sequence
                else {
                    throw fail(.corruptStore, "line \(indexed.line): changed on disk after it was read")
                }
                result.append(entry)
            }
            return result
        }

        // MARK: Pruning

        /// Rewrites the file without entries whose coverage ended before `time` and without obsolete lines.
        ///
        /// The new file (header, kept entries with their sequences, current watermarks, then a `floor` line holding
        /// the latest sequence) is written to a temporary file, synced, locked and renamed over the old one; other
        /// processes notice the replacement by its inode and follow it.
        ///
        /// - Returns: how many entries were removed.
        mutating func prune(expiredBefore time: Timestamp) throws(RevocationError) -> Int {
            try lock(LOCK_EX)
            defer { unlock() }
            try catchUp(exclusive: true)
            let removed = entries.lazy.filter { $0.coversUntil < time }.count
            let compact = obsoleteLines > max(1024, entries.count + watermarks.count)
            guard removed > 0 || compact else { return 0 }

            let old = try read(from: 0, count: Int(end))
            var content = Record.header(version: Record.formatVersion).encoded()
            for indexed in entries where indexed.coversUntil >= time {
                content += old[Int(indexed.offset)..<Int(indexed.offset) + Int(indexed.length)]
            }
            for mark in watermarks.values.sorted(by: { $0.verifier < $1.verifier }) {
                content += Record.watermark(mark).encoded()
            }
            if latestSequence > 0 { content += Record.floor(sequence: latestSequence).encoded() }

            let temporary = "\(path).prune-\(getpid())"
            _ = unlink(temporary)
            let newFD = systemOpen(temporary, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard newFD >= 0 else {
                throw fail(.storeUnavailable, "cannot create '\(temporary)' to prune into: \(errnoText())")
            }
            do throws(RevocationError) {
                if let mode = FileIdentity.mode(of: fd) { _ = fchmod(newFD, mode) }
                guard flock(newFD, LOCK_EX) == 0 else {
                    throw fail(.storeUnavailable, "cannot lock '\(temporary)': \(errnoText())")
                }
                try writeFully(fd: newFD, content, at: 0)
                guard fsync(newFD) == 0 else { throw fail(.storeUnavailable, "cannot sync '\(temporary)'") }
                guard rename(temporary, path) == 0 else {
                    throw fail(.storeUnavailable, "cannot replace it with '\(temporary)': \(errnoText())")
                }
            } catch {
                _ = unlink(temporary)
                close(newFD)
                throw error
            }
            syncDirectory(of: path)
            guard let newIdentity = FileIdentity(fd: newFD) else {
                close(newFD)
                throw fail(.storeUnavailable, "cannot examine the pruned file: \(errnoText())")
            }
            close(fd)  // releases the old file's lock; waiting processes see the new inode and follow
            adopt(fd: newFD, identity: newIdentity)
            try catchUp(exclusive: true)
            return removed
        }
    }

    /// A file's device and inode: tells whether the file at a path is still the one that is open.
    struct FileIdentity: Hashable {
        var device: UInt64
        var inode: UInt64

        init?(fd: Int32) {
            var info = stat()
            guard fstat(fd, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
        }

        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
        }

        static func size(of fd: Int32) -> UInt64? {
            var info = stat()
            guard fstat(fd, &info) == 0 else { return nil }
            return UInt64(info.st_size)
        }

        static func mode(of fd: Int32) -> mode_t? {
            var info = stat()
            guard fstat(fd, &info) == 0 else { return nil }
            return info.st_mode & 0o7777
        }
    }
}

private func errnoText() -> String { String(cString: strerror(errno)) }

/// `fdatasync` where available: an append changes the size, which it syncs too.
private func dataSync(_ fd: Int32) -> Int32 {
    #if canImport(Darwin)
    return fsync(fd)
    #else
    return fdatasync(fd)
    #endif
}

/// Syncs the directory holding `path`, so a created or renamed file survives a crash.
private func syncDirectory(of path: String) {
    let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
    let fd = systemOpen(directory.isEmpty ? "/" : directory, O_RDONLY | O_CLOEXEC, 0)
    if fd >= 0 {
        _ = fsync(fd)
        close(fd)
    }
}

/// `open(2)`, named apart from ``FileRevocationStore/open(path:)``.
private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
    #if canImport(Darwin)
    return Darwin.open(path, flags, mode)
    #elseif canImport(Musl)
    return Musl.open(path, flags, mode)
    #else
    return Glibc.open(path, flags, mode)
    #endif
}
