import Foundation
import Testing
import WritCrypto
import WritRevocation

/// The feed's binary format (Docs/RevocationFeed.md): fixed vectors, and strict parsing of everything else.
@Suite("Revocation feed format")
struct FeedFormatTests {
    /// One vector: a record's bytes and (for entries) its hash, made with a fixed key so signatures are stable.
    struct Vector: Codable, Equatable {
        var name: String
        var kind: String
        var hex: String
        var hash: String?
    }

    static let vectorsURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Vectors/feed-vectors.json")

    /// The vector key: seed bytes 0x00…0x1f.
    static func key() throws -> Ed25519.PrivateKey {
        try Ed25519.PrivateKey(seed: SecureBytes(Array(0..<32)))
    }

    /// Builds every vector from its definition.
    static func makeVectors() throws -> [Vector] {
        let key = try key()
        let t0 = Timestamp(millisecondsSinceEpoch: 1_767_225_600_000)
        let targets: [(String, RevocationTarget, RevocationReason)] = [
            ("entry-block", .block(RevocationID(high: 0x0102_0304_0506_0708, low: 0x090A_0B0C_0D0E_0F10)), .anomaly),
            ("entry-task", .task("task-42"), .completed),
            ("entry-agent", .agent("spiffe://acme.dev/agent/planner/1"), .handedOff),
            ("entry-issuer-key", .issuerKey(try KeyID(bytes: [9, 8, 7, 6, 5, 4, 3, 2])), .keyCompromised),
        ]
        var vectors: [Vector] = []
        var previous = RevocationFeedHash.zero
        for (index, (name, target, reason)) in targets.enumerated() {
            let entry = try SignedRevocationEntry(
                signing: RevocationEntry(
                    sequence: UInt64(index + 1),
                    target: target,
                    reason: reason,
                    revokedAt: t0.advanced(by: .seconds(Int64(index))),
                    coversUntil: t0.advanced(by: .seconds(600))
                ),
                previousHash: previous,
                signer: key
            )
            vectors.append(
                Vector(name: name, kind: "entry", hex: Hex.encode(entry.bytes), hash: Hex.encode(entry.hash.bytes))
            )
            previous = entry.hash
        }
        let head = try SignedFeedMark(
            signing: .head,
            sequence: 4,
            hash: previous,
            issuedAt: t0.advanced(by: .seconds(5)),
            signer: key
        )
        vectors.append(Vector(name: "head", kind: "head", hex: Hex.encode(head.bytes), hash: nil))
        let floor = try SignedFeedMark(
            signing: .floor,
            sequence: 2,
            hash: try RevocationFeedHash(bytes: Hex.decode(vectors[1].hash!)!),
            issuedAt: t0.advanced(by: .seconds(700)),
            signer: key
        )
        vectors.append(Vector(name: "floor", kind: "floor", hex: Hex.encode(floor.bytes), hash: nil))
        let report = try WatermarkReport(
            verifier: "repo",
            sequence: 4,
            hash: previous,
            recordedAt: t0.advanced(by: .seconds(6)),
            signer: key
        )
        vectors.append(
            Vector(name: "watermark-report", kind: "watermark-report", hex: Hex.encode(report.bytes), hash: nil)
        )
        return vectors
    }

    @Test("the committed vectors are what this code writes, and parse back to the same records")
    func vectors() throws {
        let made = try Self.makeVectors()
        if ProcessInfo.processInfo.environment["WRIT_WRITE_FEED_VECTORS"] == "1" {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(made).write(to: Self.vectorsURL)
        }
        let committed = try JSONDecoder().decode([Vector].self, from: Data(contentsOf: Self.vectorsURL))
        #expect(committed == made)
        let key = try Self.key().publicKey
        for vector in committed {
            let bytes = try #require(Hex.decode(vector.hex))
            switch vector.kind {
            case "entry":
                let entry = try SignedRevocationEntry(bytes: bytes)
                #expect(entry.isSigned(by: key) && Hex.encode(entry.hash.bytes) == vector.hash)
            case "head", "floor":
                #expect(
                    try SignedFeedMark(bytes: bytes, kind: vector.kind == "head" ? .head : .floor).isSigned(by: key)
                )
            default:
                #expect(try WatermarkReport(bytes: bytes).isSigned(by: key))
            }
        }
    }

    @Test("every truncation, every extension, and every byte flip of an entry is refused or fails its signature")
    func strictParsing() throws {
        let key = try Self.key().publicKey
        let bytes = try #require(Hex.decode(try Self.makeVectors()[2].hex))
        for length in 0..<bytes.count {
            #expect(throws: RevocationError.self) { try SignedRevocationEntry(bytes: Array(bytes.prefix(length))) }
        }
        #expect(throws: RevocationError(.malformed, "")) { try SignedRevocationEntry(bytes: bytes + [0]) }
        for offset in 0..<bytes.count {
            var flipped = bytes
            flipped[offset] ^= 0x01
            if let entry = try? SignedRevocationEntry(bytes: flipped) {
                #expect(!entry.isSigned(by: key), "flip at \(offset) still verifies")
            }
        }
    }

    /// entry-block: version (0), kind (1), sequence (2…9), previous hash (10…41), target kind (42), target length
    /// (43…44), target (45…60), reason (61).
    @Test("unknown versions, kinds, target kinds and reasons are refused", arguments: [0, 1, 42, 61])
    func unknownFields(offset: Int) throws {
        var bytes = try #require(Hex.decode(try Self.makeVectors()[0].hex))
        bytes[offset] = 0x7F
        #expect(throws: RevocationError(.malformed, "")) { try SignedRevocationEntry(bytes: bytes) }
    }

    @Test("a record of one kind is not accepted as another")
    func kindConfusion() throws {
        let vectors = try Self.makeVectors()
        let head = try #require(Hex.decode(vectors[4].hex))
        let entry = try #require(Hex.decode(vectors[0].hex))
        #expect(throws: RevocationError.self) { try SignedRevocationEntry(bytes: head) }
        #expect(throws: RevocationError.self) { try SignedFeedMark(bytes: head, kind: .floor) }
        #expect(throws: RevocationError.self) { try SignedFeedMark(bytes: entry, kind: .head) }
        #expect(throws: RevocationError.self) { try WatermarkReport(bytes: head) }
    }
}
