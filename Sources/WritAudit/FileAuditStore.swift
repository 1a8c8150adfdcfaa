import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An ``AuditStore`` in one append-only file, with group commit and torn-write repair.
///
/// Layout: the 8-byte magic `WRITAUD1`, then one frame per entry: `u32 length ‖ entry bytes ‖ u32 CRC-32 of
/// (length ‖ entry)`, big-endian. ``append(_:firstIndex:)`` writes a whole batch with one `pwrite` and one
/// `fdatasync` on a dedicated queue (never blocking Swift's cooperative pool) and returns once the batch is durable.
///
/// On open the file is scanned. A damaged frame followed by nothing that parses is a torn final write — bytes that
/// were never acknowledged, since an append returns only after its sync: they are moved to `<path>.torn-<offset>`
/// and cut off. A damaged frame followed by intact frames is not a torn write but damage or tampering: ``open(path:)``
/// refuses the file and ``scan(path:)`` / the verifier name the entry. An exclusive `flock` keeps a second process
/// from writing the same file.
public final class FileAuditStore: AuditStore {
    /// A frame that failed its checksum or length check and is followed by intact frames.
    public struct Damage: Sendable, Hashable {
        /// The index of the entry whose frame is damaged.
        public let entryIndex: UInt64
        /// The frame's byte offset in the file.
        public let byteOffset: UInt64
        /// What was wrong.
        public let reason: String
    }

    /// What a read-only scan of a log file found.
    public struct Scan: Sendable {
        /// The entries of every intact frame before the first bad one.
        public let entries: [[UInt8]]
        /// A damaged frame that is followed by intact frames (tampering or media damage).
        public let damage: Damage?
        /// Bytes at the end that form no complete frame (a torn, unacknowledged final write).
        public let tornTailBytes: Int
    }

    /// What opening the file repaired.
    public struct Recovery: Sendable, Hashable {
        /// Bytes of a torn final write that were cut off (0 when the file was clean).
        public let repairedBytes: Int
        /// Where the cut-off bytes were kept, for forensics.
        public let quarantinePath: String?
    }

    static let magic: [UInt8] = Array("WRITAUD1".utf8)

    /// The file's path.
    public let path: String
    /// What opening repaired.
    public let recovery: Recovery
    private let fd: Int32
    private let queue = DispatchQueue(label: "writ.audit.file-store")
    private let state: Mutex<State>

    private struct State {
        var offsets: [UInt64]  // byte offset of each frame
        var end: UInt64
        var failed: String?
    }

    private init(path: String, fd: Int32, offsets: [UInt64], end: UInt64, recovery: Recovery) {
        self.path = path
        self.fd = fd
        self.recovery = recovery
        state = Mutex(State(offsets: offsets, end: end))
    }

    deinit { close(fd) }

    /// Opens (or creates) the log file at `path`, repairing a torn final write.
    ///
    /// - Throws: ``AuditError/Code/storeFailure`` when the file cannot be opened, locked or repaired;
    ///   ``AuditError/Code/conflict`` when another process holds it; ``AuditError/Code/tampered`` when a frame in
    ///   the middle is damaged; ``AuditError/Code/invalidEncoding`` when the file is not an audit log.
    public static func open(path: String) throws -> FileAuditStore {
        let fd = systemOpen(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AuditError(.storeFailure, "cannot open '\(path)': \(errnoText())") }
        do {
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                throw AuditError(.conflict, "'\(path)' is locked by another writer")
            }
            var bytes = try readAll(fd: fd, path: path)
            if bytes.isEmpty {
                try writeFully(fd: fd, magic, at: 0, path: path)
                guard fsync(fd) == 0 else { throw AuditError(.storeFailure, "cannot sync '\(path)': \(errnoText())") }
                syncDirectory(of: path)
                bytes = magic
            }
            let frames = try parse(bytes, path: path)
            if let damage = frames.damage {
                throw AuditError(
                    .tampered,
                    "'\(path)' entry \(damage.entryIndex) at byte \(damage.byteOffset): \(damage.reason)"
                )
            }
            var recovery = Recovery(repairedBytes: 0, quarantinePath: nil)
            if frames.tornTailBytes > 0 {
                let quarantine = "\(path).torn-\(frames.end)"
                let q = systemOpen(quarantine, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
                if q >= 0 {
                    try? writeFully(fd: q, Array(bytes[Int(frames.end)...]), at: 0, path: quarantine)
                    _ = fsync(q)
                    close(q)
                }
                guard ftruncate(fd, off_t(frames.end)) == 0, fsync(fd) == 0 else {
                    throw AuditError(.storeFailure, "cannot cut the torn tail of '\(path)': \(errnoText())")
                }
                recovery = Recovery(repairedBytes: frames.tornTailBytes, quarantinePath: q >= 0 ? quarantine : nil)
            }
            return FileAuditStore(path: path, fd: fd, offsets: frames.offsets, end: frames.end, recovery: recovery)
        } catch {
            close(fd)
            throw error
        }
    }

    /// Reads the log file at `path` without changing it (for verification).
    ///
    /// - Throws: ``AuditError/Code/storeFailure`` when it cannot be read, ``AuditError/Code/invalidEncoding`` when
    ///   it is not an audit log.
    public static func scan(path: String) throws -> Scan {
        let fd = systemOpen(path, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { throw AuditError(.storeFailure, "cannot open '\(path)': \(errnoText())") }
        defer { close(fd) }
        let bytes = try readAll(fd: fd, path: path)
        let frames = try parse(bytes, path: path)
        let entries = zip(frames.offsets, frames.lengths).map { offset, length in
            Array(bytes[Int(offset) + 4..<Int(offset) + 4 + length])
        }
        return Scan(entries: entries, damage: frames.damage, tornTailBytes: frames.tornTailBytes)
    }

    // MARK: AuditStore

    public func count() async throws -> UInt64 { UInt64(state.withLock { $0.offsets.count }) }

    public func append(_ entries: [[UInt8]], firstIndex: UInt64) async throws {
        guard !entries.isEmpty else { return }
        var buffer = [UInt8]()
        buffer.reserveCapacity(entries.reduce(0) { $0 + $1.count + 8 })
        var relative: [UInt64] = []
        relative.reserveCapacity(entries.count)
        for entry in entries {
            guard entry.count <= EntryCodec.maxEntryBytes else {
                throw AuditError(.oversized, "entry of \(entry.count) bytes")
            }
            relative.append(UInt64(buffer.count))
            let start = buffer.count
            let length = UInt32(entry.count)
            for shift in stride(from: 24, through: 0, by: -8) {
                buffer.append(UInt8(truncatingIfNeeded: length >> UInt32(shift)))
            }
            buffer.append(contentsOf: entry)
            let crc = buffer.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[start...])) }
            for shift in stride(from: 24, through: 0, by: -8) {
                buffer.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift)))
            }
        }
        let offset = try state.withLock { s -> UInt64 in
            if let failed = s.failed { throw AuditError(.storeFailure, "store failed earlier: \(failed)") }
            guard firstIndex == UInt64(s.offsets.count) else {
                throw AuditError(.conflict, "append at \(firstIndex) but the file holds \(s.offsets.count) entries")
            }
            return s.end
        }
        let fd = self.fd
        let path = self.path
        let frozen = buffer
        let result: Result<Void, AuditError> = await withCheckedContinuation { continuation in
            queue.async {
                do {
                    try Self.writeFully(fd: fd, frozen, at: offset, path: path)
                    guard Self.dataSync(fd) == 0 else {
                        throw AuditError(.storeFailure, "cannot sync '\(path)': \(errnoText())")
                    }
                    continuation.resume(returning: .success(()))
                } catch {
                    // Undo the partial batch so the file stays a clean prefix; the store refuses further appends.
                    _ = ftruncate(fd, off_t(offset))
                    continuation.resume(
                        returning: .failure(error as? AuditError ?? AuditError(.storeFailure, "\(error)"))
                    )
                }
            }
        }
        try state.withLock { s in
            switch result {
            case .success:
                s.offsets.append(contentsOf: relative.map { $0 + offset })
                s.end = offset + UInt64(frozen.count)
            case .failure(let error):
                s.failed = error.context
                throw error
            }
        }
    }

    public func read(_ range: Range<UInt64>) async throws -> [[UInt8]] {
        let (start, end, offsets) = try state.withLock { s -> (UInt64, UInt64, [UInt64]) in
            guard range.upperBound <= UInt64(s.offsets.count) else {
                throw AuditError(.outOfRange, "read up to \(range.upperBound) but the file holds \(s.offsets.count)")
            }
            guard !range.isEmpty else { return (0, 0, []) }
            let lower = Int(range.lowerBound)
            let upper = Int(range.upperBound)
            let end = upper < s.offsets.count ? s.offsets[upper] : s.end
            return (s.offsets[lower], end, Array(s.offsets[lower..<upper]))
        }
        guard !offsets.isEmpty else { return [] }
        var bytes = [UInt8](repeating: 0, count: Int(end - start))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + done, $0.count - done, off_t(start) + off_t(done))
            }
            guard n > 0 else { throw AuditError(.storeFailure, "cannot read '\(path)': \(errnoText())") }
            done += n
        }
        return offsets.map { offset in
            let at = Int(offset - start)
            let length = Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            return Array(bytes[at + 4..<at + 4 + length])
        }
    }

    // MARK: File helpers

    struct Frames {
        var offsets: [UInt64] = []
        var lengths: [Int] = []
        var end: UInt64 = 0
        var damage: Damage?
        var tornTailBytes = 0
    }

    /// Splits file bytes into frames; classifies the first bad frame as torn tail or damage.
    static func parse(_ bytes: [UInt8], path: String) throws -> Frames {
        guard bytes.count >= magic.count, Array(bytes[0..<magic.count]) == magic else {
            throw AuditError(.invalidEncoding, "'\(path)' is not a Writ audit log")
        }
        var frames = Frames()
        var offset = magic.count
        while offset < bytes.count {
            switch frame(in: bytes, at: offset) {
            case .ok(let length):
                frames.offsets.append(UInt64(offset))
                frames.lengths.append(length)
                offset += length + 8
            case .bad(let reason):
                frames.end = UInt64(offset)
                if let next = nextIntactFrame(in: bytes, after: offset) {
                    frames.damage = Damage(
                        entryIndex: UInt64(frames.offsets.count),
                        byteOffset: UInt64(offset),
                        reason: "\(reason), yet an intact frame follows at byte \(next): modified on disk"
                    )
                } else {
                    frames.tornTailBytes = bytes.count - offset
                }
                return frames
            }
        }
        frames.end = UInt64(offset)
        return frames
    }

    enum FrameCheck {
        case ok(Int)
        case bad(String)
    }

    static func frame(in bytes: [UInt8], at offset: Int) -> FrameCheck {
        guard bytes.count - offset >= 4 else { return .bad("incomplete frame header") }
        let length =
            Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8
            | Int(bytes[offset + 3])
        guard length > 0, length <= EntryCodec.maxEntryBytes else { return .bad("frame length \(length) out of range") }
        guard bytes.count - offset >= length + 8 else { return .bad("incomplete frame") }
        let stored = bytes[offset + 4 + length..<offset + 8 + length].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let crc = bytes.withUnsafeBytes {
            CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[offset..<offset + 4 + length]))
        }
        guard crc == stored else { return .bad("frame checksum mismatch") }
        return .ok(length)
    }

    static func nextIntactFrame(in bytes: [UInt8], after offset: Int) -> Int? {
        var candidate = offset + 1
        while candidate + 8 < bytes.count {
            if case .ok = frame(in: bytes, at: candidate) { return candidate }
            candidate += 1
        }
        return nil
    }

    static func readAll(fd: Int32, path: String) throws -> [UInt8] {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw AuditError(.storeFailure, "cannot stat '\(path)': \(errnoText())") }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, off_t(done)) }
            guard n > 0 else { throw AuditError(.storeFailure, "cannot read '\(path)': \(errnoText())") }
            done += n
        }
        return bytes
    }

    static func writeFully(fd: Int32, _ bytes: [UInt8], at offset: UInt64, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes {
                pwrite(fd, $0.baseAddress! + done, $0.count - done, off_t(offset) + off_t(done))
            }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw AuditError(.storeFailure, "cannot write '\(path)': \(errnoText())") }
            done += n
        }
    }

    static func dataSync(_ fd: Int32) -> Int32 {
        #if canImport(Darwin)
        return fsync(fd)
        #else
        return fdatasync(fd)
        #endif
    }

    static func syncDirectory(of path: String) {
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let dfd = systemOpen(directory.isEmpty ? "/" : directory, O_RDONLY | O_CLOEXEC, 0)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }
}

private func errnoText() -> String { String(cString: strerror(errno)) }

/// `open(2)`, named apart from ``FileAuditStore/open(path:)``.
private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
    #if canImport(Darwin)
    return Darwin.open(path, flags, mode)
    #elseif canImport(Musl)
    return Musl.open(path, flags, mode)
    #else
    return Glibc.open(path, flags, mode)
    #endif
}
