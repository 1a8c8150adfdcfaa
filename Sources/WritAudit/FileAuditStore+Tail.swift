import Synchronization
import WritFileSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension FileAuditStore {
    /// The most bytes a batch's last entry, frontier and checkpoint frames can take.
    static let tailBytes = 3 * (EntryCodec.maxEntryBytes + 8)

    /// Opens from the end of the file: the last checkpoint frame ending at the end of the file, the frontier frame
    /// just before it, and the last entry frame the frontier points back to, all intact, and `<path>.checkpoint`
    /// present and not ahead of the log. `nil` when the file does not end that way (a torn write, a file without
    /// frontier frames, a missing checkpoint file): the caller then scans the whole file, which decides.
    ///
    /// - Throws: ``AuditError/Code/tampered`` when `<path>.checkpoint` is damaged or covers more entries.
    static func openTail(fd: Int32, path: String) throws -> FileAuditStore? {
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw AuditError(.storeFailure, "cannot stat '\(path)': \(POSIXFile.errnoText())")
        }
        let size = UInt64(info.st_size)
        guard size > UInt64(magic.count) else { return nil }
        guard try readRange(fd: fd, path: path, 0..<UInt64(magic.count)) == magic else { return nil }
        let tailStart = max(UInt64(magic.count), size - min(size, UInt64(tailBytes)))
        let tail = try readRange(fd: fd, path: path, tailStart..<size)
        guard let checkpointAt = frameEnding(at: tail.count, in: tail, kind: checkpointFlag),
            let frontierAt = frameEnding(at: checkpointAt, in: tail, kind: frontierFlag)
        else { return nil }
        let note = Array(tail[checkpointAt + 4..<tail.count - 4])
        let payload = Array(tail[frontierAt + 4..<checkpointAt - 4])
        guard payload.count > 8,
            let text = String(validating: note, as: UTF8.self),
            let checkpoint = try? SignedCheckpoint(text: text),
            let frontier = try? AuditFrontier(rawRepresentation: payload.dropFirst(8)),
            frontier.size == checkpoint.checkpoint.size
        else { return nil }
        let back = payload.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard back >= 9, back <= UInt64(frontierAt) else { return nil }
        let entryAt = frontierAt - Int(back)
        guard case .entry(let length) = frame(in: tail, at: entryAt), entryAt + length + 8 == frontierAt else {
            return nil
        }
        let sidecarPath = checkpointFilePath(forLogAt: path)
        let file = readCheckpointFile(at: sidecarPath)
        switch file {
        case .missing: return nil
        case .damaged(let reason):
            throw AuditError(.tampered, "'\(sidecarPath)' is damaged (\(reason)); it is never written in place")
        case .present(let signed) where signed.checkpoint.size > frontier.size:
            throw AuditError(
                .tampered,
                "'\(sidecarPath)' covers \(signed.checkpoint.size) entries but the log's last checkpoint covers "
                    + "\(frontier.size): acknowledged entries \(frontier.size)..<\(signed.checkpoint.size) were "
                    + "removed or their checkpoint damaged"
            )
        case .present: break
        }
        let writer = CheckpointFileWriter(path: sidecarPath, exists: true)
        if file.checkpoint?.checkpoint.size != frontier.size { try writer.writeNow(checkpoint) }
        return FileAuditStore(
            path: path,
            fd: fd,
            state: State(
                base: frontier.size - 1,
                offsets: [tailStart + UInt64(entryAt)],
                end: size,
                latest: checkpoint,
                frontier: frontier
            ),
            recovery: Recovery(repairedBytes: 0, discardedEntries: 0, quarantinePath: nil),
            sidecar: writer
        )
    }

    /// The start of the intact frame of `kind` that ends exactly at `end` in `bytes`, trying the shortest first.
    static func frameEnding(at end: Int, in bytes: [UInt8], kind: UInt32) -> Int? {
        var length = 1
        while length <= EntryCodec.maxEntryBytes, end - length - 8 >= 0 {
            let start = end - length - 8
            let header =
                UInt32(bytes[start]) << 24 | UInt32(bytes[start + 1]) << 16 | UInt32(bytes[start + 2]) << 8
                | UInt32(bytes[start + 3])
            if header == kind | UInt32(length) {
                switch frame(in: bytes, at: start) {
                case .checkpoint where kind == checkpointFlag, .frontier where kind == frontierFlag: return start
                default: break
                }
            }
            length += 1
        }
        return nil
    }

    /// Opens a reader beside the writer: no lock, no repair, no checkpoint file written.
    static func openReadOnly(path: String) throws -> FileAuditStore {
        let fd = POSIXFile.open(path, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { throw AuditError(.storeFailure, "cannot open '\(path)': \(POSIXFile.errnoText())") }
        let head: [UInt8]
        do {
            head = try readRange(fd: fd, path: path, 0..<UInt64(magic.count))
        } catch {
            POSIXFile.close(fd)
            throw error
        }
        guard head == magic else {
            POSIXFile.close(fd)
            throw AuditError(.invalidEncoding, "'\(path)' is not a Writ audit log of format 2")
        }
        let store = FileAuditStore(
            path: path,
            fd: fd,
            access: .readOnly,
            state: State(offsets: [], end: UInt64(magic.count)),
            recovery: Recovery(repairedBytes: 0, discardedEntries: 0, quarantinePath: nil),
            sidecar: CheckpointFileWriter(path: checkpointFilePath(forLogAt: path), exists: true)
        )
        try store.refresh()
        return store
    }

    /// For a read-only handle: takes in the batches the writer has completed since the last look (every frame up
    /// to the last checkpoint frame written so far).
    ///
    /// - Throws: ``AuditError/Code/tampered`` when the file shrank below what this handle has seen or a frame is
    ///   damaged before a later checkpoint frame.
    func refresh() throws {
        guard access == .readOnly, !state.withLock({ $0.closed }) else { return }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw AuditError(.storeFailure, "cannot stat '\(path)': \(POSIXFile.errnoText())")
        }
        let size = UInt64(info.st_size)
        let (seen, count) = state.withLock { ($0.end, $0.count) }
        guard size >= seen else {
            throw AuditError(.tampered, "'\(path)' shrank to \(size) bytes below the \(seen) already read")
        }
        guard size > seen else { return }
        let bytes = try Self.readRange(fd: fd, path: path, seen..<size)
        var offset = 0
        var entries: [UInt64] = []
        var committed: (entries: Int, end: Int, checkpoint: SignedCheckpoint, frontier: AuditFrontier?)?
        var frontier: AuditFrontier?
        scan: while offset < bytes.count {
            switch Self.frame(in: bytes, at: offset) {
            case .entry(let length):
                entries.append(seen + UInt64(offset))
                offset += length + 8
            case .frontier(let length):
                frontier = try? AuditFrontier(rawRepresentation: bytes[offset + 12..<offset + 4 + length])
                offset += length + 8
            case .checkpoint(let length):
                let note = Array(bytes[offset + 4..<offset + 4 + length])
                guard let text = String(validating: note, as: UTF8.self),
                    let signed = try? SignedCheckpoint(text: text),
                    signed.checkpoint.size == count + UInt64(entries.count)
                else {
                    throw AuditError(
                        .tampered,
                        "'\(path)' checkpoint frame at byte \(seen + UInt64(offset)) is damaged"
                    )
                }
                offset += length + 8
                committed = (entries.count, offset, signed, frontier?.size == signed.checkpoint.size ? frontier : nil)
            case .bad:
                break scan  // a batch still being written, or a torn tail the writer will cut
            }
        }
        guard let committed else { return }
        state.withLock { s in
            guard s.end == seen else { return }  // another refresh got there first
            s.offsets.append(contentsOf: entries.prefix(committed.entries))
            s.end = seen + UInt64(committed.end)
            s.latest = committed.checkpoint
            s.frontier = committed.frontier
        }
    }

    /// Reads and checks every frame before the first indexed entry (after a tail open), and indexes them.
    ///
    /// - Throws: ``AuditError/Code/tampered`` when a frame is damaged or the count does not match.
    func loadIndex() throws {
        let (base, first) = state.withLock { ($0.base, $0.offsets.first ?? $0.end) }
        guard base > 0 else { return }
        let bytes = try Self.readRange(fd: fd, path: path, 0..<first)
        let frames = try Self.parse(bytes, path: path)
        if let damage = frames.damage {
            throw AuditError(
                .tampered,
                "'\(path)' entry \(damage.entryIndex) at byte \(damage.byteOffset): \(damage.reason)"
            )
        }
        guard frames.tornTailBytes == 0, frames.end == first, UInt64(frames.offsets.count) == base else {
            throw AuditError(
                .tampered,
                "'\(path)' holds \(frames.offsets.count) intact entry frames before byte \(first), not \(base)"
            )
        }
        state.withLock { s in
            guard s.base == base else { return }
            s.offsets = frames.offsets + s.offsets
            s.base = 0
        }
    }

    /// `pread` of exactly `range`.
    static func readRange(fd: Int32, path: String, _ range: Range<UInt64>) throws -> [UInt8] {
        guard let bytes = POSIXFile.read(fd, count: Int(range.count), at: range.lowerBound) else {
            throw AuditError(.storeFailure, "cannot read '\(path)': \(POSIXFile.errnoText())")
        }
        return bytes
    }
}
