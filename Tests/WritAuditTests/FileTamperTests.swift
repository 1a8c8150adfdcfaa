import Foundation
import Testing
import WritAudit
import WritCrypto
import WritTesting

/// Tampering with a file log at rest (log file and `<log>.checkpoint`), each case with the expected outcome of the
/// verifier given the log's key and of reopening the log with its writer.
@Suite("File store tampering")
struct FileTamperTests {
    /// One frame of the log file.
    struct Frame {
        var bytes: [UInt8]
        var isCheckpoint: Bool { bytes[0] & 0xc0 == 0x80 }
        var isFrontier: Bool { bytes[0] & 0xc0 == 0x40 }
        var isEntry: Bool { bytes[0] & 0xc0 == 0 }
        var payload: [UInt8] { Array(bytes[4..<bytes.count - 4]) }
    }

    /// A 10-entry file log written one batch per entry (10 checkpoint frames), at rest; plus a copy of the log and
    /// its checkpoint file taken after 6 entries, and a witness's copy of the final checkpoint.
    struct Fixture {
        let directory: TemporaryDirectory
        let path: String
        let key: Ed25519.PrivateKey
        let oldLog: Data
        let oldCheckpointFile: Data
        let witnessed: SignedCheckpoint
        var checkpointFile: String { FileAuditStore.checkpointFilePath(forLogAt: path) }
        var keys: AuditKeyring { AuditKeyring(logKey: key.publicKey, name: "billing") }

        func frames() throws -> [Frame] {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            var frames: [Frame] = []
            var offset = 8
            while offset < bytes.count {
                let length =
                    Int(bytes[offset] & 0x3f) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8
                    | Int(bytes[offset + 3])
                frames.append(Frame(bytes: Array(bytes[offset..<offset + length + 8])))
                offset += length + 8
            }
            return frames
        }

        /// Index in `frames()` of entry `i`'s frame.
        func frameIndex(ofEntry i: Int) throws -> Int {
            try frames().enumerated().filter { $0.element.isEntry }[i].offset
        }

        func write(_ frames: [Frame], tail: [UInt8] = []) throws {
            let bytes = Array("WRITAUD2".utf8) + frames.flatMap(\.bytes) + tail
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }

        func verify(keys: AuditKeyring? = nil, witness: Bool = false) throws -> AuditVerificationReport {
            try AuditVerifier.verify(
                fileAt: path,
                keys: keys ?? self.keys,
                checkpoints: witness ? [CheckpointEvidence(witnessed, source: .elsewhere("witness"))] : []
            )
        }

        /// Reopens the log with its writer: `nil` when it opened, else the error code. `.tail` reads only the last
        /// batch; `.everyEntry` (the default here) reads the whole file, as the verifier does.
        func reopen(checking: AuditOpenCheck = .everyEntry) async -> AuditError.Code? {
            do {
                let store = try await reopenFileStore(path: path, checking: checking)
                _ = try await AuditLog.open(
                    store: store,
                    service: "billing",
                    signingKey: key,
                    salt: AuditSalt(),
                    checking: checking
                )
                return nil
            } catch let error as AuditError {
                return error.code
            } catch {
                return .storeFailure
            }
        }
    }

    static func fixture() async throws -> Fixture {
        let directory = try TemporaryDirectory()
        let path = directory.path("audit.writ")
        let key = Ed25519.PrivateKey()
        let witnessKey = Ed25519.PrivateKey()
        var oldLog = Data()
        var oldCheckpointFile = Data()
        let final: SignedCheckpoint
        do {
            let store = try FileAuditStore.open(path: path)
            let log = try await AuditLog.open(
                store: store,
                service: "billing",
                signingKey: key,
                salt: AuditSalt(),
                clock: ManualClock()
            )
            for i in 0..<10 {
                if i == 6 {
                    try await store.flushCheckpointFile()
                    oldLog = try Data(contentsOf: URL(fileURLWithPath: path))
                    oldCheckpointFile = try Data(
                        contentsOf: URL(fileURLWithPath: FileAuditStore.checkpointFilePath(forLogAt: path))
                    )
                }
                _ = try await log.record(
                    AuditEvent(.used, agent: "a", task: "t", tokenID: "tok-\(i)", decision: .allow)
                )
            }
            try await store.flushCheckpointFile()
            final = try log.checkpoint()
        }
        return Fixture(
            directory: directory,
            path: path,
            key: key,
            oldLog: oldLog,
            oldCheckpointFile: oldCheckpointFile,
            witnessed: final.cosigned(by: "auditor", key: witnessKey, at: Timestamp(millisecondsSinceEpoch: 0))
        )
    }

    /// Rebuilds a frame around a payload (what a careful attacker does to pass the CRC).
    static func frame(_ payload: [UInt8], checkpoint: Bool = false) -> Frame {
        let length = UInt32(payload.count) | (checkpoint ? 0x8000_0000 : 0)
        var out = (0..<4).map { UInt8(truncatingIfNeeded: length >> UInt32(24 - 8 * $0)) } + payload
        let crc = out.withUnsafeBytes { crc32($0) }
        out += (0..<4).map { UInt8(truncatingIfNeeded: crc >> UInt32(24 - 8 * $0)) }
        return Frame(bytes: out)
    }

    static func crc32(_ buffer: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in buffer {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        }
        return ~crc
    }

    /// The entries of `frames`, re-chained from `index` on after `change`, re-framed; checkpoint frames signed by
    /// `signer` (or dropped when `nil`).
    static func rechain(
        _ frames: [Frame],
        signer: Ed25519.PrivateKey?,
        change: (inout [AuditEntry]) throws -> Void
    ) throws -> [Frame] {
        var entries = try frames.filter(\.isEntry).map { try AuditEntry(decoding: $0.payload) }
        try change(&entries)
        var out: [Frame] = []
        var link = AuditEntry.genesisHash
        var tree = MerkleTree()
        for (i, entry) in entries.enumerated() {
            let bytes = try AuditEntry(index: UInt64(i), previousHash: link, event: entry.event).encoded()
            out.append(frame(bytes))
            link = AuditEntry.leafHash(of: bytes)
            tree.append(leafHash: link)
            if let signer {
                let cp = SignedCheckpoint.sign(
                    try LogCheckpoint(origin: "billing", size: tree.size, rootHash: try tree.root()),
                    name: "billing",
                    key: signer
                )
                out.append(frame(Array(cp.text.utf8), checkpoint: true))
            }
        }
        return out
    }

    // MARK: Untouched

    @Test("an untouched log is fully covered by verified signatures and reopens")
    func clean() async throws {
        let f = try await Self.fixture()
        let report = try f.verify()
        #expect(report.isVerified, "\(report)")
        #expect(report.entryCount == 10 && report.coveredSize == 10)
        #expect(report.checkpoints.contains { $0.source == .checkpointFile })
        #expect(await f.reopen(checking: .tail) == nil)
        #expect(await f.reopen() == nil)
    }

    @Test("without keys nothing is called verified")
    func noKeys() async throws {
        let f = try await Self.fixture()
        let report = try f.verify(keys: AuditKeyring())
        #expect(report.isValid && !report.isVerified && !report.signaturesChecked)
        #expect(!report.description.contains("verified") && report.description.contains("NOT checked"))
        #expect(report.checkpointsVerified == 0)
    }

    // MARK: Entries

    @Test("a flipped byte in any entry, the last included, is named and never repaired", arguments: 0..<10)
    func flippedByte(entry: Int) async throws {
        let f = try await Self.fixture()
        var frames = try f.frames()
        frames[try f.frameIndex(ofEntry: entry)].bytes[20] ^= 0x01
        try f.write(frames)
        let failure = try #require(try f.verify().failure)
        #expect(failure.index == UInt64(entry), "\(failure)")
        #expect(failure.problem == .modifiedEntry)
        // A tail open reads only the last batch: a change before it is the verifier's to find.
        #expect(await f.reopen(checking: .tail) == (entry == 9 ? .tampered : nil))
        #expect(await f.reopen() == .tampered)
    }

    @Test("a re-checksummed change to the last entry fails its signed root", arguments: [9, 4])
    func rechecksummed(entry: Int) async throws {
        let f = try await Self.fixture()
        var frames = try f.frames()
        let at = try f.frameIndex(ofEntry: entry)
        let original = try AuditEntry(decoding: frames[at].payload)
        var event = original.event
        event.decision = .deny  // a well-formed change, re-framed with a valid CRC
        frames[at] = Self.frame(
            try AuditEntry(index: original.index, previousHash: original.previousHash, event: event).encoded()
        )
        try f.write(frames)
        let failure = try #require(try f.verify().failure)
        #expect(failure.index == UInt64(entry), "\(failure)")
        #expect(failure.problem == (entry == 9 ? .checkpointMismatch : .brokenChain))
        // A tail open reads only the last batch: a change before it is the verifier's to find.
        #expect(await f.reopen(checking: .tail) == (entry == 9 ? .tampered : nil))
        #expect(await f.reopen() == .tampered)
    }

    @Test("a deleted entry frame is named, the last one included", arguments: [4, 9])
    func deletedEntry(entry: Int) async throws {
        let f = try await Self.fixture()
        var frames = try f.frames()
        frames.remove(at: try f.frameIndex(ofEntry: entry))
        try f.write(frames)
        let failure = try #require(try f.verify().failure)
        #expect(failure.index == UInt64(entry), "\(failure)")
        #expect(failure.problem == .misplacedEntry)
        // A tail open reads only the last batch: a change before it is the verifier's to find.
        #expect(await f.reopen(checking: .tail) == (entry == 9 ? .tampered : nil))
        #expect(await f.reopen() == .tampered)
    }

    @Test("the last batch dropped with its checkpoint frame is exposed by the checkpoint file")
    func droppedLastBatch() async throws {
        let f = try await Self.fixture()
        try f.write(Array(try f.frames()[..<f.frameIndex(ofEntry: 9)]))
        let failure = try #require(try f.verify().failure)
        #expect(failure.index == 9 && failure.problem == .truncated, "\(failure)")
        #expect(await f.reopen(checking: .tail) == .tampered)
        #expect(await f.reopen() == .tampered)
    }

    @Test("two swapped entries are named")
    func swapped() async throws {
        let f = try await Self.fixture()
        var frames = try f.frames()
        frames.swapAt(try f.frameIndex(ofEntry: 3), try f.frameIndex(ofEntry: 4))
        try f.write(frames)
        let failure = try #require(try f.verify().failure)
        #expect(failure.index == 3 && failure.problem == .misplacedEntry, "\(failure)")
        // A tail open reads only the last batch: a change before it is the verifier's to find.
        #expect(await f.reopen(checking: .tail) == nil)
        #expect(await f.reopen() == .tampered)
    }

    @Test("an inserted forged entry is named")
    func inserted() async throws {
        let f = try await Self.fixture()
        var frames = try f.frames()
        let link = AuditEntry.leafHash(of: frames[try f.frameIndex(ofEntry: 3)].payload)
        var event = AuditEvent(.used, time: Timestamp(millisecondsSinceEpoch: 0), tokenID: "forged", decision: .allow)
        event.service = "billing"
        let forged = try AuditEntry(index: 4, previousHash: link, event: event).encoded()
        frames.insert(Self.frame(forged), at: try f.frameIndex(ofEntry: 4))
        try f.write(frames)
        let failure = try #require(try f.verify().failure)
        #expect(failure.index == 4 && failure.problem == .misplacedEntry, "\(failure)")
        // A tail open reads only the last batch: a change before it is the verifier's to find.
        #expect(await f.reopen(checking: .tail) == nil)
        #expect(await f.reopen() == .tampered)
    }

    @Test("a history rewritten and re-chained, checkpoints dropped, fails the signed roots")
    func rechainedUnsigned() async throws {
        let f = try await Self.fixture()
        let frames = try Self.rechain(try f.frames(), signer: nil) { entries in
            var event = entries[4].event
            event.decision = .deny
            entries[4] = try AuditEntry(index: 4, previousHash: entries[4].previousHash, event: event)
        }
        try f.write(frames)
        #expect(!(try f.verify().isValid))
        #expect(await f.reopen(checking: .tail) == .tampered)
        #expect(await f.reopen() == .tampered)
    }

    @Test("a history re-chained and re-signed by another key, with a forged checkpoint file, covers nothing")
    func rechainedForged() async throws {
        let f = try await Self.fixture()
        let attacker = Ed25519.PrivateKey()
        let frames = try Self.rechain(try f.frames(), signer: attacker) { entries in
            var event = entries[4].event
            event.decision = .deny
            entries[4] = try AuditEntry(index: 4, previousHash: entries[4].previousHash, event: event)
        }
        try f.write(frames)
        let last = try #require(frames.last).payload
        try Data(last).write(to: URL(fileURLWithPath: f.checkpointFile))
        let report = try f.verify()
        #expect(!report.isVerified)
        #expect(report.coveredSize == 0 && report.checkpointsVerified == 0)
        #expect(report.failure?.problem == .badCheckpoint, "\(report)")
        #expect(report.checkpoints.contains { if case .unknownKey = $0.status { true } else { false } })
        #expect(await f.reopen(checking: .tail) == .invalidSignature)
        #expect(await f.reopen() == .invalidSignature)
        // The chain alone is fooled: only the keys tell.
        #expect(try f.verify(keys: AuditKeyring()).isValid)
    }

    // MARK: Cuts and rollbacks

    @Test("a cut at an entry boundary, at a batch boundary or mid-entry is exposed", arguments: [0, 1, 2])
    func cut(kind: Int) async throws {
        let f = try await Self.fixture()
        let frames = try f.frames()
        let entry7 = try f.frameIndex(ofEntry: 7)
        let entry8 = try f.frameIndex(ofEntry: 8)
        switch kind {
        case 0: try f.write(Array(frames[...entry7]))  // entry 7 without its frontier and checkpoint
        case 1: try f.write(Array(frames[..<entry8]))  // after entry 7's checkpoint
        default: try f.write(Array(frames[..<entry8]), tail: Array(frames[entry8].bytes.prefix(10)))
        }
        let failure = try #require(try f.verify().failure)
        #expect(failure.problem == .truncated, "\(failure)")
        #expect(await f.reopen(checking: .tail) == .tampered)
        #expect(await f.reopen() == .tampered)
    }

    @Test("a rollback of the log alone is exposed by the checkpoint file")
    func rollbackLog() async throws {
        let f = try await Self.fixture()
        try f.oldLog.write(to: URL(fileURLWithPath: f.path))
        let failure = try #require(try f.verify().failure)
        #expect(failure.index == 6 && failure.problem == .truncated, "\(failure)")
        #expect(await f.reopen(checking: .tail) == .tampered)
        #expect(await f.reopen() == .tampered)
    }

    @Test("a rollback of log and checkpoint file together needs a witness, which exposes it")
    func rollbackBoth() async throws {
        let f = try await Self.fixture()
        try f.oldLog.write(to: URL(fileURLWithPath: f.path))
        try f.oldCheckpointFile.write(to: URL(fileURLWithPath: f.checkpointFile))
        // Documented limit: a consistent older state verifies on its own.
        #expect(try f.verify().isVerified)
        // A checkpoint held elsewhere (given, or a witness copy beside the log) exposes it.
        let given = try f.verify(witness: true)
        #expect(given.failure?.problem == .truncated && given.failure?.index == 6, "\(given)")
        try Data(f.witnessed.text.utf8).write(to: URL(fileURLWithPath: f.path + ".witness-auditor.checkpoint"))
        var keys = f.keys
        keys.add(witnessKey: Ed25519.PrivateKey().publicKey, name: "someone-else")
        #expect(try f.verify(keys: keys).failure?.problem == .truncated)
    }

    @Test("a witness's cosignature is reported when its key is given")
    func witnessed() async throws {
        let f = try await Self.fixture()
        let witnessKey = Ed25519.PrivateKey()
        let cosigned = try SignedCheckpoint(text: f.witnessed.text)
            .cosigned(by: "auditor2", key: witnessKey, at: Timestamp(millisecondsSinceEpoch: .min))
        try Data(cosigned.text.utf8).write(to: URL(fileURLWithPath: f.path + ".witness-auditor2.checkpoint"))
        var keys = f.keys
        keys.add(witnessKey: witnessKey.publicKey, name: "auditor2")
        let report = try f.verify(keys: keys)
        #expect(report.isVerified && report.witnessedSize == 10, "\(report)")
    }

    // MARK: The checkpoints themselves

    @Test("a flipped byte in the last checkpoint frame is exposed by the checkpoint file")
    func damagedLastCheckpointFrame() async throws {
        let f = try await Self.fixture()
        var frames = try f.frames()
        frames[frames.count - 1].bytes[30] ^= 0x01
        try f.write(frames)
        let failure = try #require(try f.verify().failure)
        #expect(failure.problem == .truncated, "\(failure)")
        #expect(await f.reopen(checking: .tail) == .tampered)
        #expect(await f.reopen() == .tampered)
    }

    @Test("a checkpoint file signed by another key is reported unverified and fails")
    func forgedCheckpointFile() async throws {
        let f = try await Self.fixture()
        let attacker = Ed25519.PrivateKey()
        let current = try #require(FileAuditStore.scan(path: f.path).checkpointFile.checkpoint)
        let forged = SignedCheckpoint.sign(current.checkpoint, name: "billing", key: attacker)
        try Data(forged.text.utf8).write(to: URL(fileURLWithPath: f.checkpointFile))
        let report = try f.verify()
        #expect(report.failure?.problem == .badCheckpoint, "\(report)")
        let result = try #require(report.checkpoints.first { $0.source == .checkpointFile })
        #expect("\(result)".contains("unverified: signed by unknown key billing+"))
    }

    @Test("a deleted or damaged checkpoint file is exposed", arguments: [false, true])
    func checkpointFileGone(damaged: Bool) async throws {
        let f = try await Self.fixture()
        if damaged {
            try Data("junk\n".utf8).write(to: URL(fileURLWithPath: f.checkpointFile))
        } else {
            try FileManager.default.removeItem(atPath: f.checkpointFile)
        }
        #expect(try f.verify().failure?.problem == .badCheckpoint)
        #expect(await f.reopen(checking: .tail) == .tampered)
        #expect(await f.reopen() == .tampered)
    }

    @Test("a checkpoint signed by an unknown key is never counted")
    func unknownKeyNotCounted() async throws {
        let f = try await Self.fixture()
        let report = try f.verify(keys: AuditKeyring(logKey: Ed25519.PrivateKey().publicKey, name: "billing"))
        #expect(!report.isVerified && report.checkpointsVerified == 0 && report.uncovered == 0..<10, "\(report)")
    }

    // MARK: Appended bytes

    @Test("junk appended after the last checkpoint is an unacknowledged torn write: reported, cut on reopen")
    func appendedJunk() async throws {
        let f = try await Self.fixture()
        try f.write(try f.frames(), tail: [0, 0, 1, 7, 9, 9, 9])
        let report = try f.verify()
        #expect(report.isVerified && report.tornTailBytes == 7, "\(report)")
        #expect(await f.reopen() == nil)
        #expect(try f.verify().tornTailBytes == 0)
    }

    @Test("a forged entry appended without a trusted checkpoint is uncovered", arguments: [false, true])
    func appendedEntry(withForgedCheckpoint: Bool) async throws {
        let f = try await Self.fixture()
        let attacker = Ed25519.PrivateKey()
        let frames = try Self.rechain(try f.frames(), signer: withForgedCheckpoint ? attacker : nil) { entries in
            var event = entries[9].event
            event.tokenID = "forged"
            entries.append(try AuditEntry(index: 10, previousHash: entries[9].previousHash, event: event))
        }
        // Keep the genuine frames for 0..<10, append the forgery (and its checkpoint).
        let original = try f.frames()
        let tail = withForgedCheckpoint ? Array(frames.suffix(2)) : Array(frames.suffix(1))
        try f.write(original + tail)
        let report = try f.verify()
        #expect(!report.isVerified && report.uncovered == 10..<11, "\(report)")
        #expect(await f.reopen() == (withForgedCheckpoint ? .invalidSignature : nil))
        if !withForgedCheckpoint { #expect(try f.verify().isVerified) }  // the uncovered entry was cut off
    }

    // MARK: Crash repair

    @Test("a torn final batch is cut off on open, kept aside, and appending continues")
    func tornTail() async throws {
        let f = try await Self.fixture()
        let frames = try f.frames()
        let entry9 = try f.frameIndex(ofEntry: 9)
        // Entry 9's batch as a crash leaves it: the entry written, its frontier frame torn, no checkpoint frame.
        // The checkpoint file trails the log, so it still covers 9.
        try f.write(Array(frames[...entry9]), tail: Array(frames[entry9 + 1].bytes.prefix(13)))
        try f.oldCheckpointFile.write(to: URL(fileURLWithPath: f.checkpointFile))
        let before = try f.verify()
        #expect(before.isValid && before.uncovered == 9..<10, "\(before)")
        let store = try await reopenFileStore(path: f.path)
        #expect(store.recovery.discardedEntries == 1)
        #expect(store.recovery.quarantinePath.map { FileManager.default.fileExists(atPath: $0) } == true)
        #expect(try await store.count() == 9)
        let log = try await AuditLog.open(store: store, service: "billing", signingKey: f.key, salt: AuditSalt())
        #expect(try await log.record(AuditEvent(.taskClosed)) == 9)
        try await store.flushCheckpointFile()
        #expect(try f.verify().isVerified)
    }

    // MARK: Totality

    @Test("entry times at the ends of Int64 are recorded, verified and merged without trapping")
    func extremeTimes() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("times.writ")
        let key = Ed25519.PrivateKey()
        let store = try FileAuditStore.open(path: path)
        let log = try await AuditLog.open(store: store, service: "t", signingKey: key, salt: AuditSalt())
        for ms in [Int64.min, Int64.max, 0, -1] {
            _ = try await log.record(AuditEvent(.used, time: Timestamp(millisecondsSinceEpoch: ms)))
        }
        try await store.flushCheckpointFile()
        let keys = AuditKeyring(logKey: key.publicKey)
        #expect(try AuditVerifier.verify(fileAt: path, keys: keys).isVerified)
        let timeline = try ForensicTimeline(sources: [try .init(fileAt: path, keys: keys)], requireVerified: true)
        #expect(timeline.rows.map { $0.event.time?.millisecondsSinceEpoch } == [.min, -1, 0, .max])
        _ = try log.cosign(try log.checkpoint(), logKey: key.publicKey)
    }
}
