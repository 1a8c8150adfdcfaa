import Dispatch
import Synchronization
import WritFileSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An ``AuditStore`` in one append-only file, with group commit, a signed checkpoint per batch, and torn-write
/// repair.
///
/// Layout (format 2): the 8-byte magic `WRITAUD2`, then frames, big-endian:
/// - an entry frame `u32 length ‖ entry bytes ‖ u32 CRC-32 of (length ‖ entry)`;
/// - a frontier frame `u32 (0x4000_0000 | length) ‖ u64 distance back to the last entry frame ‖ frontier ‖ u32
///   CRC-32`, the tree's ``AuditFrontier`` after the entries before it (unsigned: the log checks it against the
///   signed root);
/// - a checkpoint frame `u32 (0x8000_0000 | length) ‖ signed-note text ‖ u32 CRC-32`, the log's signed checkpoint
///   of every entry before it.
///
/// ``append(_:firstIndex:checkpoint:frontier:)`` writes a batch's entry frames, its frontier frame and its
/// checkpoint frame with one `pwrite` and one `fdatasync` on a dedicated queue (never blocking Swift's cooperative
/// pool), and returns once they are durable. (Files written before frontier frames have none; they open with a
/// full scan.) So every acknowledged entry lies before a checkpoint frame, and the bytes after the last
/// checkpoint frame are the only ones that can be an unacknowledged torn write.
///
/// Beside the log, `<path>.checkpoint` (``checkpointFilePath(forLogAt:)``) holds the latest checkpoint as plain
/// signed-note text, for verifiers and witnesses and to expose a log rolled back on its own. It is replaced
/// atomically (write a temporary file, `fsync`, `rename`, `fsync` the directory), so a crash leaves the old or the
/// new note, never a torn one. The first batch writes it before it is acknowledged; later batches hand it to a
/// background writer that keeps only the newest note and writes at most every 50 ms, so it lags the log by at most
/// that and the batches in flight, and costs the append path no second sync. ``flushCheckpointFile()`` waits for it; releasing the store does too.
///
/// ``open(path:checking:)`` with ``AuditOpenCheck/tail`` (the default) reads only the end of the file when it ends with
/// an intact batch (last entry frame, frontier frame, checkpoint frame) and `<path>.checkpoint` is present: O(log n)
/// work, whatever the file's length. Every other file, and every file with ``AuditOpenCheck/everyEntry``, is scanned
/// whole:
/// - a damaged frame followed by any intact frame (an entry or a checkpoint covering it) is damage or tampering:
///   ``open(path:)`` refuses the file (``AuditError/Code/tampered`` naming the entry), never repairs it;
/// - the bytes after the last checkpoint frame (entries and partial frames) were never acknowledged: they are moved
///   to `<path>.torn-<offset>` and cut off — unless `<path>.checkpoint` covers more entries than the log's last
///   checkpoint frame, which means acknowledged entries were removed or their checkpoint damaged (refused);
/// - `<path>.checkpoint` missing while the log holds two checkpoint frames, or damaged, is refused.
///
/// A tail open leaves frames before the last batch unread until a ``read(_:)`` reaches them: then the store reads
/// and checks every frame before the tail once (``AuditError/Code/tampered`` when one is damaged).
///
/// An exclusive `flock` keeps a second process from writing the same file: one writer per log. Any number of
/// ``Access/readOnly`` handles (verifiers, a second process) may read it; they see each batch once its checkpoint
/// frame is written, and refuse appends (``AuditError/Code/conflict``). The store never signs: the
/// ``AuditLog`` signs each batch's checkpoint with its key and checks the latest one when it opens.
public final class FileAuditStore: AuditStore {
    /// A frame that failed its checksum or length check and is followed by intact frames.
    public struct Damage: Sendable, Hashable {
        /// The index of the entry whose frame is damaged (the entry the frame would have been).
        public let entryIndex: UInt64
        /// The frame's byte offset in the file.
        public let byteOffset: UInt64
        /// What was wrong.
        public let reason: String
    }

    /// A checkpoint frame found in the log file.
    public struct StoredCheckpoint: Sendable, Hashable {
        /// Number of entry frames before it: the size it must cover.
        public let afterEntries: UInt64
        /// The frame's byte offset in the file.
        public let byteOffset: UInt64
        /// The signed-note text as stored (parse it with ``signed()``).
        public let note: [UInt8]

        /// The stored signed checkpoint.
        ///
        /// - Throws: ``AuditError/Code/invalidEncoding`` when the note does not parse.
        public func signed() throws -> SignedCheckpoint {
            guard let text = String(validating: note, as: UTF8.self) else {
                throw AuditError(.invalidEncoding, "checkpoint frame at byte \(byteOffset) is not UTF-8")
            }
            return try SignedCheckpoint(text: text)
        }
    }

    /// What `<path>.checkpoint` holds.
    public enum CheckpointFile: Sendable, Hashable {
        /// There is no such file.
        case missing
        /// The file exists but is not a signed checkpoint (never the result of a crash: it is replaced atomically).
        case damaged(String)
        /// The file holds this signed checkpoint.
        case present(SignedCheckpoint)

        /// The checkpoint, when present.
        public var checkpoint: SignedCheckpoint? {
            if case .present(let checkpoint) = self { return checkpoint }
            return nil
        }
    }

    /// What a read-only scan of a log file found.
    public struct Scan: Sendable {
        /// The entries of every intact entry frame before the first bad frame (including entries after the last
        /// checkpoint frame, which no stored checkpoint covers).
        public let entries: [[UInt8]]
        /// The checkpoint frames, in file order.
        public let checkpoints: [StoredCheckpoint]
        /// A damaged frame that is followed by intact frames (tampering or media damage).
        public let damage: Damage?
        /// Bytes at the end that form no complete frame.
        public let tornTailBytes: Int
        /// What `<path>.checkpoint` holds.
        public let checkpointFile: CheckpointFile
        /// The file format: 2, or 1 for a log written before per-batch checkpoints (it has no checkpoint frames).
        public let format: Int

        /// The entries after the last checkpoint frame: acknowledged by no checkpoint stored in the log.
        public var entriesAfterLastCheckpoint: Range<UInt64> {
            (checkpoints.last?.afterEntries ?? 0)..<UInt64(entries.count)
        }
    }

    /// What opening the file repaired.
    public struct Recovery: Sendable, Hashable {
        /// Bytes after the last checkpoint frame that were cut off (0 when the file was clean).
        public let repairedBytes: Int
        /// Complete entries among them (written, but their batch never reached its checkpoint).
        public let discardedEntries: Int
        /// Where the cut-off bytes were kept, for forensics.
        public let quarantinePath: String?
    }

    static let magic: [UInt8] = Array("WRITAUD2".utf8)
    static let legacyMagic: [UInt8] = Array("WRITAUD1".utf8)
    static let checkpointFlag: UInt32 = 0x8000_0000
    static let frontierFlag: UInt32 = 0x4000_0000
    static let kindMask: UInt32 = 0xC000_0000

    /// What a handle may do.
    public enum Access: Sendable, Hashable {
        /// The single writer: takes the file's exclusive lock, repairs a torn tail.
        case readWrite
        /// A reader beside the writer (another process): no lock, no repair; sees each batch once its checkpoint
        /// frame is written; appends fail with ``AuditError/Code/conflict``.
        case readOnly
    }

    /// The file's path.
    public let path: String
    /// What opening repaired.
    public let recovery: Recovery
    /// What this handle may do.
    public let access: Access
    let fd: Int32
    private let queue = DispatchQueue(label: "writ.audit.file-store")
    let state: Mutex<State>
    let sidecar: CheckpointFileWriter

    struct State {
        var base: UInt64 = 0  // index of the first entry in `offsets`: entries before it are not indexed yet
        var offsets: [UInt64]  // byte offset of each entry frame from `base` on
        var end: UInt64
        var latest: SignedCheckpoint?
        var frontier: AuditFrontier?
        var failed: String?
        var closed = false

        var count: UInt64 { base + UInt64(offsets.count) }
    }

    init(
        path: String,
        fd: Int32,
        access: Access = .readWrite,
        state: State,
        recovery: Recovery,
        sidecar: CheckpointFileWriter
    ) {
        self.path = path
        self.fd = fd
        self.access = access
        self.recovery = recovery
        self.sidecar = sidecar
        self.state = Mutex(state)
    }

    deinit {
        close()
    }

    /// Writes the pending checkpoint file, releases the file's lock and closes it; later calls fail with
    /// ``AuditError/Code/storeFailure``. Releasing the store does the same.
    public func close() {
        let open = state.withLock { s -> Bool in
            defer { s.closed = true }
            return !s.closed
        }
        guard open else { return }
        sidecar.drain()
        POSIXFile.close(fd)
    }

    /// The path of the checkpoint file kept beside the log at `path`: `<path>.checkpoint`.
    public static func checkpointFilePath(forLogAt path: String) -> String { path + ".checkpoint" }

    /// Opens (or creates) the log file at `path`, cutting off an unacknowledged torn write after its last
    /// checkpoint.
    ///
    /// - Parameters:
    ///   - checking: ``AuditOpenCheck/tail`` (O(log n) when the file ends with an intact batch) or
    ///     ``AuditOpenCheck/everyEntry``.
    ///   - access: ``Access/readWrite`` for the log's writer (the default), ``Access/readOnly`` for a reader
    ///     beside it (which never creates, locks or repairs the file, and reads it whole).
    ///
    /// - Throws: ``AuditError/Code/storeFailure`` when the file cannot be opened, locked or repaired;
    ///   ``AuditError/Code/conflict`` when another writer still holds it after a second;
    ///   ``AuditError/Code/tampered`` when a frame that a checkpoint covers is damaged, a checkpoint frame does not
    ///   match its position, or `<path>.checkpoint` is damaged, missing or covers entries the log no longer holds;
    ///   ``AuditError/Code/invalidEncoding`` when the file is not an audit log of format 2.
    public static func open(
        path: String,
        checking: AuditOpenCheck = .tail,
        access: Access = .readWrite
    ) throws -> FileAuditStore {
        if access == .readOnly { return try openReadOnly(path: path) }
        let fd = POSIXFile.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AuditError(.storeFailure, "cannot open '\(path)': \(POSIXFile.errnoText())") }
        do {
            guard POSIXFile.lockExclusive(fd) else {
                throw AuditError(.conflict, "'\(path)' is locked by another writer")
            }
            if checking == .tail, let store = try openTail(fd: fd, path: path) { return store }
            var bytes = try readAll(fd: fd, path: path)
            if bytes.isEmpty {
                try writeFully(fd: fd, magic, at: 0, path: path)
                guard fsync(fd) == 0 else {
                    throw AuditError(.storeFailure, "cannot sync '\(path)': \(POSIXFile.errnoText())")
                }
                POSIXFile.syncDirectory(of: path)
                bytes = magic
            }
            let frames = try parse(bytes, path: path)
            guard frames.format == 2 else {
                throw AuditError(
                    .invalidEncoding,
                    "'\(path)' is a format 1 audit log (no per-batch checkpoints): verify it, then start a new log"
                )
            }
            if let damage = frames.damage {
                throw AuditError(
                    .tampered,
                    "'\(path)' entry \(damage.entryIndex) at byte \(damage.byteOffset): \(damage.reason)"
                )
            }
            let last = frames.checkpoints.last
            var latest: SignedCheckpoint?
            if let last {
                let signed: SignedCheckpoint
                do {
                    signed = try last.signed()
                } catch {
                    throw AuditError(.tampered, "'\(path)' checkpoint frame at byte \(last.byteOffset): \(error)")
                }
                guard signed.checkpoint.size == last.afterEntries else {
                    throw AuditError(
                        .tampered,
                        "'\(path)' checkpoint frame at byte \(last.byteOffset) covers \(signed.checkpoint.size) "
                            + "entries but \(last.afterEntries) precede it: entries were removed or inserted"
                    )
                }
                latest = signed
            }
            let covered = last?.afterEntries ?? 0
            let coveredEnd = last.map { $0.byteOffset + 8 + UInt64($0.note.count) } ?? UInt64(magic.count)
            let sidecarPath = checkpointFilePath(forLogAt: path)
            let file = readCheckpointFile(at: sidecarPath)
            switch file {
            case .damaged(let reason):
                throw AuditError(.tampered, "'\(sidecarPath)' is damaged (\(reason)); it is never written in place")
            case .present(let signed) where signed.checkpoint.size > covered:
                throw AuditError(
                    .tampered,
                    "'\(sidecarPath)' covers \(signed.checkpoint.size) entries but the log's last checkpoint covers "
                        + "\(covered): acknowledged entries \(covered)..<\(signed.checkpoint.size) were removed or "
                        + "their checkpoint damaged"
                )
            case .missing where frames.checkpoints.count >= 2:
                throw AuditError(
                    .tampered,
                    "'\(sidecarPath)' is missing although the log holds \(frames.checkpoints.count) batches "
                        + "(it is written before the first batch is acknowledged)"
                )
            default: break
            }
            var recovery = Recovery(repairedBytes: 0, discardedEntries: 0, quarantinePath: nil)
            if UInt64(bytes.count) > coveredEnd {
                let quarantine = "\(path).torn-\(coveredEnd)"
                let q = POSIXFile.open(quarantine, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
                if q >= 0 {
                    try? writeFully(fd: q, Array(bytes[Int(coveredEnd)...]), at: 0, path: quarantine)
                    _ = fsync(q)
                    POSIXFile.close(q)
                }
                guard ftruncate(fd, off_t(coveredEnd)) == 0, fsync(fd) == 0 else {
                    throw AuditError(.storeFailure, "cannot cut the torn tail of '\(path)': \(POSIXFile.errnoText())")
                }
                recovery = Recovery(
                    repairedBytes: bytes.count - Int(coveredEnd),
                    discardedEntries: frames.offsets.count - Int(covered),
                    quarantinePath: q >= 0 ? quarantine : nil
                )
            }
            let writer = CheckpointFileWriter(path: sidecarPath, exists: file != .missing)
            if let latest, file.checkpoint?.checkpoint.size != latest.checkpoint.size {
                try writer.writeNow(latest)
            }
            // The frontier counts only when it is the frame just before the last checkpoint frame.
            var frontier: AuditFrontier?
            if let last, let stored = frames.frontiers.last, stored.afterEntries == covered,
                stored.byteOffset + 8 + UInt64(stored.payload.count) == last.byteOffset, stored.payload.count > 8
            {
                frontier = try? AuditFrontier(rawRepresentation: stored.payload.dropFirst(8))
                if frontier?.size != covered { frontier = nil }
            }
            return FileAuditStore(
                path: path,
                fd: fd,
                state: State(
                    offsets: Array(frames.offsets.prefix(Int(covered))),
                    end: coveredEnd,
                    latest: latest,
                    frontier: frontier
                ),
                recovery: recovery,
                sidecar: writer
            )
        } catch {
            POSIXFile.close(fd)
            throw error
        }
    }

    /// Reads the log file at `path` and its `<path>.checkpoint` without changing them (for verification).
    ///
    /// - Throws: ``AuditError/Code/storeFailure`` when it cannot be read, ``AuditError/Code/invalidEncoding`` when
    ///   it is not an audit log.
    public static func scan(path: String) throws -> Scan {
        let fd = POSIXFile.open(path, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { throw AuditError(.storeFailure, "cannot open '\(path)': \(POSIXFile.errnoText())") }
        defer { POSIXFile.close(fd) }
        let bytes = try readAll(fd: fd, path: path)
        let frames = try parse(bytes, path: path)
        let entries = zip(frames.offsets, frames.lengths).map { offset, length in
            Array(bytes[Int(offset) + 4..<Int(offset) + 4 + length])
        }
        return Scan(
            entries: entries,
            checkpoints: frames.checkpoints,
            damage: frames.damage,
            tornTailBytes: frames.tornTailBytes,
            checkpointFile: readCheckpointFile(at: checkpointFilePath(forLogAt: path)),
            format: frames.format
        )
    }

    /// Waits until `<path>.checkpoint` holds the checkpoint of the latest durable batch.
    ///
    /// - Throws: ``AuditError/Code/storeFailure`` when the file could not be written.
    public func flushCheckpointFile() async throws {
        try await sidecar.flush()
    }

    // MARK: AuditStore

    public func count() async throws -> UInt64 {
        try refresh()
        return state.withLock { $0.count }
    }

    public func latestCheckpoint() async throws -> SignedCheckpoint? {
        try refresh()
        return state.withLock { $0.latest }
    }

    public func latestFrontier() async throws -> AuditFrontier? {
        try refresh()
        return state.withLock { $0.frontier }
    }

    public func append(
        _ entries: [[UInt8]],
        firstIndex: UInt64,
        checkpoint: SignedCheckpoint,
        frontier: AuditFrontier
    ) async throws {
        guard access == .readWrite else {
            throw AuditError(.conflict, "'\(path)' is open read-only: the log has one writer")
        }
        guard !entries.isEmpty else { return }
        try checkpoint.checkStored(size: firstIndex + UInt64(entries.count), frontier: frontier)
        let note = Array(checkpoint.text.utf8)
        guard note.count <= EntryCodec.maxEntryBytes else {
            throw AuditError(.oversized, "checkpoint of \(note.count) bytes")
        }
        var buffer = [UInt8]()
        buffer.reserveCapacity(entries.reduce(note.count + 8) { $0 + $1.count + 8 })
        var relative: [UInt64] = []
        relative.reserveCapacity(entries.count)
        for entry in entries {
            guard entry.count <= EntryCodec.maxEntryBytes else {
                throw AuditError(.oversized, "entry of \(entry.count) bytes")
            }
            relative.append(UInt64(buffer.count))
            Self.appendFrame(entry, header: UInt32(entry.count), to: &buffer)
        }
        var frontierPayload: [UInt8] = []
        let back = UInt64(buffer.count) - relative[relative.count - 1]
        for shift in stride(from: 56, through: 0, by: -8) {
            frontierPayload.append(UInt8(truncatingIfNeeded: back >> UInt64(shift)))
        }
        frontierPayload.append(contentsOf: frontier.rawRepresentation)
        Self.appendFrame(frontierPayload, header: Self.frontierFlag | UInt32(frontierPayload.count), to: &buffer)
        Self.appendFrame(note, header: Self.checkpointFlag | UInt32(note.count), to: &buffer)
        let offset = try state.withLock { s -> UInt64 in
            if s.closed { throw AuditError(.storeFailure, "'\(self.path)' was closed") }
            if let failed = s.failed { throw AuditError(.storeFailure, "store failed earlier: \(failed)") }
            guard firstIndex == s.count else {
                throw AuditError(.conflict, "append at \(firstIndex) but the file holds \(s.count) entries")
            }
            return s.end
        }
        let fd = self.fd
        let path = self.path
        let frozen = buffer
        let sidecar = self.sidecar
        let result: Result<Void, FailedWrite> = await withCheckedContinuation { continuation in
            queue.async {
                var written = false
                do {
                    try Self.writeFully(fd: fd, frozen, at: offset, path: path)
                    written = true
                    guard POSIXFile.dataSync(fd) else {
                        throw AuditError(.storeFailure, "cannot sync '\(path)': \(POSIXFile.errnoText())")
                    }
                    // The checkpoint file exists before the first batch is acknowledged; later ones trail.
                    if sidecar.exists {
                        sidecar.submit(checkpoint)
                    } else {
                        try sidecar.writeNow(checkpoint)
                    }
                    continuation.resume(returning: .success(()))
                } catch {
                    // Undo the partial batch so the file stays a clean prefix. A failed write (a full disk) that
                    // was cut off cleanly leaves the store usable; after a failed sync, or a failed cut, what the
                    // file holds is unknown until it is reopened, so the store refuses further appends.
                    let cut = ftruncate(fd, off_t(offset)) == 0
                    let sticky = written || !cut
                    continuation.resume(
                        returning: .failure(
                            FailedWrite(
                                error: error as? AuditError
                                    ?? AuditError(.storeFailure, "appending to '\(path)'", underlying: error),
                                sticky: sticky
                            )
                        )
                    )
                }
            }
        }
        try state.withLock { s in
            switch result {
            case .success:
                s.offsets.append(contentsOf: relative.map { $0 + offset })
                s.end = offset + UInt64(frozen.count)
                s.latest = checkpoint
                s.frontier = frontier
            case .failure(let failure):
                if failure.sticky { s.failed = failure.error.context }
                throw failure.error
            }
        }
    }

    public func read(_ range: Range<UInt64>) async throws -> [[UInt8]] {
        try refresh()
        if !range.isEmpty, range.lowerBound < state.withLock({ $0.base }) { try loadIndex() }
        let (start, end, offsets) = try state.withLock { s -> (UInt64, UInt64, [UInt64]) in
            if s.closed { throw AuditError(.storeFailure, "'\(path)' was closed") }
            guard range.upperBound <= s.count else {
                throw AuditError(.outOfRange, "read up to \(range.upperBound) but the file holds \(s.count)")
            }
            guard !range.isEmpty else { return (0, 0, []) }
            let lower = Int(range.lowerBound - s.base)
            let upper = Int(range.upperBound - s.base)
            let end = upper < s.offsets.count ? s.offsets[upper] : s.end
            return (s.offsets[lower], end, Array(s.offsets[lower..<upper]))
        }
        guard !offsets.isEmpty else { return [] }
        let bytes = try Self.readRange(fd: fd, path: path, start..<end)
        return offsets.map { offset in
            let at = Int(offset - start)
            let length = Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            return Array(bytes[at + 4..<at + 4 + length])
        }
    }

    /// Why an append's write failed, and whether the file is left in a state the store can append after.
    struct FailedWrite: Error {
        let error: AuditError
        let sticky: Bool
    }

    // MARK: File helpers

    static func appendFrame(_ payload: [UInt8], header: UInt32, to buffer: inout [UInt8]) {
        let start = buffer.count
        for shift in stride(from: 24, through: 0, by: -8) {
            buffer.append(UInt8(truncatingIfNeeded: header >> UInt32(shift)))
        }
        buffer.append(contentsOf: payload)
        let crc = buffer.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        for shift in stride(from: 24, through: 0, by: -8) {
            buffer.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift)))
        }
    }

    /// A frontier frame: the frontier after `afterEntries` entries, prefixed by the u64 distance back to the last
    /// entry frame.
    struct StoredFrontier {
        var afterEntries: UInt64
        var byteOffset: UInt64
        var payload: [UInt8]
    }

    struct Frames {
        var format = 2
        var offsets: [UInt64] = []
        var lengths: [Int] = []
        var checkpoints: [StoredCheckpoint] = []
        var frontiers: [StoredFrontier] = []
        var end: UInt64 = 0
        var damage: Damage?
        var tornTailBytes = 0
    }

    /// Splits file bytes into frames; classifies the first bad frame as torn tail or damage.
    static func parse(_ bytes: [UInt8], path: String) throws -> Frames {
        var frames = Frames()
        guard bytes.count >= magic.count else {
            throw AuditError(.invalidEncoding, "'\(path)' is not a Writ audit log")
        }
        let head = Array(bytes[0..<magic.count])
        if head == legacyMagic {
            frames.format = 1
        } else if head != magic {
            throw AuditError(.invalidEncoding, "'\(path)' is not a Writ audit log")
        }
        var offset = magic.count
        while offset < bytes.count {
            switch frame(in: bytes, at: offset, allowCheckpoints: frames.format == 2) {
            case .entry(let length):
                frames.offsets.append(UInt64(offset))
                frames.lengths.append(length)
                offset += length + 8
            case .checkpoint(let length):
                frames.checkpoints.append(
                    StoredCheckpoint(
                        afterEntries: UInt64(frames.offsets.count),
                        byteOffset: UInt64(offset),
                        note: Array(bytes[offset + 4..<offset + 4 + length])
                    )
                )
                offset += length + 8
            case .frontier(let length):
                frames.frontiers.append(
                    StoredFrontier(
                        afterEntries: UInt64(frames.offsets.count),
                        byteOffset: UInt64(offset),
                        payload: Array(bytes[offset + 4..<offset + 4 + length])
                    )
                )
                offset += length + 8
            case .bad(let reason):
                frames.end = UInt64(offset)
                if let next = nextIntactFrame(in: bytes, after: offset, allowCheckpoints: frames.format == 2) {
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
        case entry(Int)
        case checkpoint(Int)
        case frontier(Int)
        case bad(String)
    }

    static func frame(in bytes: [UInt8], at offset: Int, allowCheckpoints: Bool = true) -> FrameCheck {
        guard bytes.count - offset >= 4 else { return .bad("incomplete frame header") }
        let header =
            UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
            | UInt32(bytes[offset + 3])
        let kind = allowCheckpoints ? header & kindMask : 0
        guard kind != kindMask else { return .bad("unknown frame kind") }
        let isCheckpoint = kind == checkpointFlag
        let length = Int(header & ~kind)
        guard length > 0, length <= EntryCodec.maxEntryBytes else { return .bad("frame length \(length) out of range") }
        guard bytes.count - offset >= length + 8 else { return .bad("incomplete frame") }
        let stored = bytes[offset + 4 + length..<offset + 8 + length].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let crc = bytes.withUnsafeBytes {
            CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[offset..<offset + 4 + length]))
        }
        guard crc == stored else { return .bad("frame checksum mismatch") }
        if kind == frontierFlag { return .frontier(length) }
        return isCheckpoint ? .checkpoint(length) : .entry(length)
    }

    static func nextIntactFrame(in bytes: [UInt8], after offset: Int, allowCheckpoints: Bool) -> Int? {
        var candidate = offset + 1
        while candidate + 8 < bytes.count {
            switch frame(in: bytes, at: candidate, allowCheckpoints: allowCheckpoints) {
            case .entry, .checkpoint, .frontier: return candidate
            case .bad: candidate += 1
            }
        }
        return nil
    }

    static func readCheckpointFile(at path: String) -> CheckpointFile {
        let fd = POSIXFile.open(path, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { return errno == ENOENT ? .missing : .damaged("cannot open: \(POSIXFile.errnoText())") }
        defer { POSIXFile.close(fd) }
        guard let bytes = try? readAll(fd: fd, path: path, limit: 1 << 20) else { return .damaged("cannot read") }
        guard let text = String(validating: bytes, as: UTF8.self) else { return .damaged("not UTF-8") }
        do {
            return .present(try SignedCheckpoint(text: text))
        } catch {
            return .damaged("\(error)")
        }
    }

    static func readAll(fd: Int32, path: String, limit: Int = .max) throws -> [UInt8] {
        guard let size = POSIXFile.size(fd) else {
            throw AuditError(.storeFailure, "cannot stat '\(path)': \(POSIXFile.errnoText())")
        }
        guard size <= UInt64(limit) else { throw AuditError(.oversized, "'\(path)' is larger than \(limit) bytes") }
        return try readRange(fd: fd, path: path, 0..<size)
    }

    static func writeFully(fd: Int32, _ bytes: [UInt8], at offset: UInt64, path: String) throws {
        if let message = POSIXFile.write(fd, bytes, at: offset) {
            throw AuditError(.storeFailure, "cannot write '\(path)': \(message)")
        }
    }
}

/// Keeps `<log>.checkpoint` holding the newest checkpoint: replaced atomically, written on its own queue, at most
/// once per ``interval``, keeping only the newest pending note (so it never holds up the log's appends, and its
/// syncs do not compete with the log's on a busy file system).
final class CheckpointFileWriter: Sendable {
    /// The least time between two background writes.
    static let interval = DispatchTimeInterval.milliseconds(50)

    let path: String
    private let queue = DispatchQueue(label: "writ.audit.checkpoint-file")
    private let state: Mutex<(exists: Bool, pending: SignedCheckpoint?, writing: Bool, error: String?)>

    init(path: String, exists: Bool) {
        self.path = path
        state = Mutex((exists, nil, false, nil))
    }

    /// Whether the file has been written (or was found) since the store opened.
    var exists: Bool { state.withLock { $0.exists } }

    /// Writes `checkpoint` now and returns once it is durable.
    func writeNow(_ checkpoint: SignedCheckpoint) throws {
        try queue.sync { try Self.replace(path, with: checkpoint) }
        state.withLock { $0.exists = true }
    }

    /// Queues `checkpoint` for the background writer (replacing any note still pending).
    func submit(_ checkpoint: SignedCheckpoint) {
        let start = state.withLock { s -> Bool in
            s.pending = checkpoint
            if s.writing { return false }
            s.writing = true
            return true
        }
        if start { queue.async { self.drainPending() } }
    }

    /// Writes the pending note, if any, and waits for it.
    ///
    /// - Throws: ``AuditError/Code/storeFailure`` when the last write failed.
    func flush() async throws {
        await withCheckedContinuation { continuation in
            queue.async {
                self.writePending()
                continuation.resume()
            }
        }
        if let error = state.withLock({ $0.error }) {
            throw AuditError(.storeFailure, "cannot write '\(path)': \(error)")
        }
    }

    /// Writes the pending note, if any, blocking the caller.
    func drain() { queue.sync { _ = writePending() } }

    /// On the queue: writes the pending note, then looks again after ``interval``.
    private func drainPending() {
        guard writePending() else {
            return
        }
        queue.asyncAfter(deadline: .now() + Self.interval) { self.drainPending() }
    }

    /// On the queue: writes the pending note; `false` (and no longer writing) when there was none.
    @discardableResult
    private func writePending() -> Bool {
        let next = state.withLock { s -> SignedCheckpoint? in
            let next = s.pending
            s.pending = nil
            if next == nil { s.writing = false }
            return next
        }
        guard let next else { return false }
        do {
            try Self.replace(path, with: next)
            state.withLock { $0.error = nil }
        } catch {
            state.withLock { $0.error = "\(error)" }
        }
        return true
    }

    /// Replaces `path` durably: a temporary file, synced, renamed over it, the directory synced.
    static func replace(_ path: String, with checkpoint: SignedCheckpoint) throws {
        do {
            try POSIXFile.replaceFile(path, with: Array(checkpoint.text.utf8))
        } catch {
            throw AuditError(.storeFailure, error.description)
        }
    }
}

/// Names in a directory (`opendir`/`readdir`), without Foundation.
enum FileSystemListing {
    static func names(in directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }
}
