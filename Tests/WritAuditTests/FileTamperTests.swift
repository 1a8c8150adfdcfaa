import Foundation
import Testing
import WritAudit
import WritCrypto
import WritTesting

/// Tampering with a file log on disk — every change is detected and the first bad entry named.
@Suite("File store tampering")
struct FileTamperTests {
    /// A 10-entry file log, its signed checkpoint and key.
    struct Fixture {
        let directory: TemporaryDirectory
        let path: String
        let checkpoint: SignedCheckpoint
        let key: Ed25519.PublicKey

        /// The file's frames: magic, then one `[UInt8]` per frame (length, entry, CRC).
        func frames() throws -> [[UInt8]] {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            var frames: [[UInt8]] = []
            var offset = 8
            while offset < bytes.count {
                let length =
                    Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8
                    | Int(bytes[offset + 3])
                frames.append(Array(bytes[offset..<offset + length + 8]))
                offset += length + 8
            }
            return frames
        }

        func write(frames: [[UInt8]], tail: [UInt8] = []) throws {
            let bytes = Array("WRITAUD1".utf8) + frames.flatMap { $0 } + tail
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }

        func verify() throws -> AuditVerificationReport {
            try AuditVerifier.verify(fileAt: path, checkpoints: [checkpoint], logKey: key)
        }
    }

    static func fixture(count: Int = 10) async throws -> Fixture {
        let directory = try TemporaryDirectory()
        let path = directory.path("audit.writ")
        let key = Ed25519.PrivateKey()
        let checkpoint: SignedCheckpoint
        do {
            let store = try FileAuditStore.open(path: path)
            let log = try await AuditLog.open(
                store: store,
                service: "billing",
                signingKey: key,
                salt: AuditSalt(),
                clock: ManualClock()
            )
            for i in 0..<count {
                _ = try await log.record(
                    AuditEvent(.used, agent: "a", task: "t", tokenID: "tok-\(i)", decision: .allow)
                )
            }
            checkpoint = try log.checkpoint()
        }
        return Fixture(directory: directory, path: path, checkpoint: checkpoint, key: key.publicKey)
    }

    /// Rebuilds a frame around entry bytes (what a careful attacker would do to pass the CRC).
    static func frame(_ entry: [UInt8]) -> [UInt8] {
        let length = UInt32(entry.count)
        var out = (0..<4).map { UInt8(truncatingIfNeeded: length >> UInt32(24 - 8 * $0)) } + entry
        let crc = out.withUnsafeBytes { crc32($0) }
        out += (0..<4).map { UInt8(truncatingIfNeeded: crc >> UInt32(24 - 8 * $0)) }
        return out
    }

    static func crc32(_ buffer: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in buffer {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        }
        return ~crc
    }

    static func entry(of frame: [UInt8]) -> [UInt8] { Array(frame[4..<frame.count - 4]) }

    @Test("an untouched log verifies against its checkpoint")
    func clean() async throws {
        let f = try await Self.fixture()
        let report = try f.verify()
        #expect(report.isValid, "\(report)")
        #expect(report.entryCount == 10)
        #expect(report.checkpointsVerified == 1)
    }

    @Test("a flipped byte in entry 4 is named")
    func flippedByte() async throws {
        let f = try await Self.fixture()
        var frames = try f.frames()
        frames[4][20] ^= 0x01
        try f.write(frames: frames)
        let failure = try #require(try f.verify().failure)
        #expect(failure.index == 4)
        #expect(failure.problem == .modifiedEntry)
        #expect(throws: AuditError(.tampered, "")) { try FileAuditStore.open(path: f.path) }
    }

    @Test("a modified entry with a recomputed frame checksum is named through the chain")
    func modifiedWithValidFrame() async throws {
        let f = try await Self.fixture()
        var frames = try f.frames()
        var entry = Self.entry(of: frames[4])
        entry[entry.count - 2] ^= 0x01  // inside the decision/token id
        frames[4] = Self.frame(entry)
        try f.write(frames: frames)
        let failure = try #require(try f.verify().failure)
        #expect(failure.index == 4, "\(failure)")
        #expect(failure.problem == .brokenChain || failure.problem == .modifiedEntry)
        // The store opens (frames are intact) but the log refuses the broken chain.
        await #expect(throws: AuditError(.tampered, "")) {
            _ = try await AuditLog.open(
                store: try FileAuditStore.open(path: f.path),
                service: "billing",
                signingKey: Ed25519.PrivateKey(),
                salt: AuditSalt()
            )
        }
    }

    @Test("a deleted entry is named")
    func deleted() async throws {
        let f = try await Self.fixture()
        var frames = try f.frames()
        frames.remove(at: 4)
        try f.write(frames: frames)
        let failure = try #require(try f.verify().failure)
        #expect(failure.index == 4)
        #expect(failure.problem == .misplacedEntry)
    }

    @Test("two swapped entries are named")
    func swapped() async throws {
        let f = try await Self.fixture()
        var frames = try f.frames()
        frames.swapAt(3, 4)
        try f.write(frames: frames)
        let failure = try #require(try f.verify().failure)
        #expect(failure.index == 3)
        #expect(failure.problem == .misplacedEntry)
    }

    @Test("an inserted forged entry is named")
    func inserted() async throws {
        let f = try await Self.fixture()
        var frames = try f.frames()
        // A well-formed forgery that claims index 4 and links correctly to entry 3.
        let link = AuditEntry.leafHash(of: Self.entry(of: frames[3]))
        var event = AuditEvent(
            .used,
            time: Timestamp(millisecondsSinceEpoch: 0),
            agent: "a",
            task: "t",
            tokenID: "forged",
            decision: .allow
        )
        event.service = "billing"
        let forged = try AuditEntry(index: 4, previousHash: link, event: event).encoded()
        frames.insert(Self.frame(forged), at: 4)
        try f.write(frames: frames)
        let failure = try #require(try f.verify().failure)
        #expect(failure.index == 4, "\(failure)")
        #expect(failure.problem == .misplacedEntry)
    }

    @Test("a forged history re-chained to the end is caught by the checkpoint")
    func rechained() async throws {
        let f = try await Self.fixture()
        let frames = try f.frames()
        var entries = try frames.map { try AuditEntry(decoding: Self.entry(of: $0)) }
        var event = entries[4].event
        event.decision = .deny
        entries[4] = try AuditEntry(index: 4, previousHash: entries[4].previousHash, event: event)
        var rebuilt: [[UInt8]] = []
        var link = AuditEntry.genesisHash
        for entry in entries {
            let bytes = try AuditEntry(index: entry.index, previousHash: link, event: entry.event).encoded()
            rebuilt.append(Self.frame(bytes))
            link = AuditEntry.leafHash(of: bytes)
        }
        try f.write(frames: rebuilt)
        #expect(AuditVerifier.verify(entries: rebuilt.map(Self.entry(of:))).isValid)  // chain alone is fooled
        let failure = try #require(try f.verify().failure)
        #expect(failure.problem == .checkpointMismatch)
    }

    @Test("a truncated tail is named against a checkpoint", arguments: [false, true])
    func truncated(midFrame: Bool) async throws {
        let f = try await Self.fixture()
        let frames = try f.frames()
        try f.write(frames: Array(frames[0..<7]), tail: midFrame ? Array(frames[7].prefix(10)) : [])
        let failure = try #require(try f.verify().failure)
        #expect(failure.index == 7)
        #expect(failure.problem == .truncated)
        // Without a checkpoint the shorter log is self-consistent: truncation needs a checkpoint held elsewhere.
        #expect(try AuditVerifier.verify(fileAt: f.path).isValid)
    }

    @Test("a checkpoint signed by another key is refused")
    func wrongKey() async throws {
        let f = try await Self.fixture()
        let report = try AuditVerifier.verify(
            fileAt: f.path,
            checkpoints: [f.checkpoint],
            logKey: Ed25519.PrivateKey().publicKey
        )
        #expect(report.failure?.problem == .badCheckpoint)
    }

    @Test("a torn final write is cut off on open, kept aside, and appending continues")
    func tornTail() async throws {
        let f = try await Self.fixture()
        let frames = try f.frames()
        try f.write(frames: frames, tail: Array(frames[9].prefix(13)))
        let store = try FileAuditStore.open(path: f.path)
        #expect(store.recovery.repairedBytes == 13)
        #expect(store.recovery.quarantinePath.map { FileManager.default.fileExists(atPath: $0) } == true)
        #expect(try await store.count() == 10)
        let log = try await AuditLog.open(
            store: store,
            service: "billing",
            signingKey: Ed25519.PrivateKey(),
            salt: AuditSalt()
        )
        #expect(try await log.record(AuditEvent(.taskClosed)) == 10)
        #expect(try AuditVerifier.verify(fileAt: f.path, checkpoints: [f.checkpoint], logKey: f.key).isValid)
    }
}
