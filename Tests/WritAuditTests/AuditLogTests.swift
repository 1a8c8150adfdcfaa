import Foundation
import Testing
import WritAudit
import WritCrypto
import WritTesting

@Suite("Audit log: events, chain, tree, group commit")
struct AuditLogTests {
    static func makeLog(
        _ store: some AuditStore = InMemoryAuditStore(),
        service: String = "gateway",
        clock: ManualClock = ManualClock()
    ) async throws -> AuditLog {
        try await AuditLog.open(
            store: store,
            service: service,
            signingKey: key,
            salt: AuditSalt(),
            clock: clock
        )
    }

    /// One key for every log in these tests, so that a reopened log can check its stored checkpoint.
    static let key = Ed25519.PrivateKey()

    static func sampleEvent(_ i: Int = 0) -> AuditEvent {
        AuditEvent(
            .used,
            agent: "spiffe://example.org/agent/coder/1",
            task: "task-\(i % 3)",
            step: "s\(i)",
            tokenID: "tok-\(i)",
            parentTokenID: "tok-root",
            revocationID: RevocationID(high: 1, low: UInt64(i)),
            audience: "billing",
            action: "read",
            resource: "/invoices/\(i)",
            decision: .allow,
            reason: "policy0",
            traceID: "trace-\(i)",
            attributes: ["b": "2", "a": "1", "é": "x"]
        )
    }

    @Test("an entry round-trips through its canonical encoding, byte for byte")
    func roundTrip() throws {
        var event = Self.sampleEvent(7)
        event.time = Timestamp(millisecondsSinceEpoch: 1_767_225_600_123)
        event.service = "gateway"
        event.sensitiveAttributes = ["apiKey": SensitiveValue("sk-live-123").hashed(with: AuditSalt())]
        let entry = try AuditEntry(index: 5, previousHash: [UInt8](repeating: 9, count: 32), event: event)
        let bytes = try entry.encoded()
        let decoded = try AuditEntry(decoding: bytes)
        #expect(decoded == entry)
        #expect(try decoded.encoded() == bytes)
    }

    @Test("the encoding does not depend on dictionary order")
    func deterministic() throws {
        var a = Self.sampleEvent()
        a.time = Timestamp(millisecondsSinceEpoch: 1)
        a.service = "s"
        var b = a
        b.attributes = [:]
        for key in ["é", "a", "b"] { b.attributes[key] = a.attributes[key] }
        let ea = try AuditEntry(index: 0, previousHash: AuditEntry.genesisHash, event: a).encoded()
        let eb = try AuditEntry(index: 0, previousHash: AuditEntry.genesisHash, event: b).encoded()
        #expect(ea == eb)
    }

    @Test("decoding rejects unknown versions, kinds, fields, trailing junk and bad UTF-8")
    func strictDecoding() throws {
        var event = AuditEvent(.issued, time: Timestamp(millisecondsSinceEpoch: 0))
        event.service = "s"
        let good = try AuditEntry(index: 0, previousHash: AuditEntry.genesisHash, event: event).encoded()
        var badVersion = good
        badVersion[0] = 2
        var badKind = good
        badKind[41] = 99
        var unknownField = good
        unknownField += [16, 0, 0]
        var truncated = good
        truncated.removeLast()
        var badUTF8 = good
        badUTF8[badUTF8.count - 1] = 0xff
        for bad in [badVersion, badKind, unknownField, truncated, badUTF8] {
            #expect(throws: AuditError(.invalidEncoding, "")) { try AuditEntry(decoding: bad) }
        }
    }

    /// Found by FuzzAuditEntry: two attribute keys with different bytes but equal as Swift strings ("e" + U+0301
    /// and "é") decoded into one dictionary entry, so the decoded entry differed from the bytes its leaf covers.
    @Test("attribute keys that are canonically equivalent text are refused, not merged")
    func canonicallyEquivalentKeys() throws {
        let bytes = try #require(
            Hex.decode(
                "0100000000000000000000000000000000000000000000000000000000000000000000000000000000040000019b76daa8"
                    + "000100047265706f0e0006000365cc81610e00050002c3a962"
            )
        )
        #expect(throws: AuditError(.invalidEncoding, "")) { try AuditEntry(decoding: bytes) }
    }

    @Test("oversized fields are refused")
    func oversized() async throws {
        let log = try await Self.makeLog()
        await #expect(throws: AuditError(.oversized, "")) {
            try await log.record(AuditEvent(.anomaly, reason: String(repeating: "x", count: 5000)))
        }
    }

    @Test("records are stamped, chained and form the Merkle tree")
    func chainAndTree() async throws {
        let store = InMemoryAuditStore()
        let clock = ManualClock()
        let log = try await Self.makeLog(store, clock: clock)
        for i in 0..<10 {
            clock.advance(by: .seconds(1))
            let index = try await log.record(Self.sampleEvent(i))
            #expect(index == UInt64(i))
        }
        let entries = try await log.entries(0..<10)
        var previous = AuditEntry.genesisHash
        var tree = MerkleTree()
        for (i, entry) in entries.enumerated() {
            #expect(entry.index == UInt64(i))
            #expect(entry.previousHash == previous)
            #expect(entry.event.service == "gateway")
            #expect(entry.event.time == Timestamp(secondsSinceEpoch: 1_767_225_600 + Int64(i) + 1))
            previous = AuditEntry.leafHash(of: try entry.encoded())
            tree.append(leafHash: previous)
        }
        #expect(try log.root() == tree.root())
        let proof = try log.inclusionProof(index: 4)
        try MerkleProof.verifyInclusion(
            index: 4,
            treeSize: 10,
            leafHash: try log.leafHash(at: 4),
            proof: proof,
            root: try log.root()
        )
    }

    @Test("sensitive values are stored only as salted digests that the salt holder can match")
    func sensitiveValues() async throws {
        let salt = AuditSalt()
        let store = InMemoryAuditStore()
        let log = try await AuditLog.open(
            store: store,
            service: "broker",
            signingKey: Ed25519.PrivateKey(),
            salt: salt,
            clock: ManualClock()
        )
        let secret = "sk-live-very-secret-value"
        _ = try await log.record(AuditEvent(.used, sensitiveAttributes: ["apiKey": SensitiveValue(secret)]))
        let raw = try await store.read(0..<1)[0]
        #expect(!String(decoding: raw, as: UTF8.self).contains(secret))
        #expect(raw.firstRange(of: Array(secret.utf8)) == nil)
        let entry = try await log.entries(0..<1)[0]
        let digest = try #require(entry.event.sensitiveAttributes["apiKey"]?.digest)
        #expect(salt.matches(secret, digest: digest))
        #expect(!salt.matches("sk-live-other", digest: digest))
        #expect(!AuditSalt().matches(secret, digest: digest))
        #expect(SensitiveValue(secret).description == "<redacted>")
        #expect(
            !String(describing: AuditEvent(.used, sensitiveAttributes: ["k": SensitiveValue(secret)])).contains(secret)
        )
    }

    @Test("an unhashed sensitive value refuses JSON encoding; a hashed one round-trips")
    func sensitiveJSON() throws {
        let raw = AuditEvent(.used, sensitiveAttributes: ["k": SensitiveValue("secret")])
        #expect(throws: EncodingError.self) { try JSONEncoder().encode(raw) }
        var hashed = Self.sampleEvent()
        hashed.time = Timestamp(millisecondsSinceEpoch: 42)
        hashed.sensitiveAttributes = ["k": SensitiveValue("secret").hashed(with: AuditSalt())]
        let json = try JSONEncoder().encode(hashed)
        #expect(try JSONDecoder().decode(AuditEvent.self, from: json) == hashed)
    }

    @Test("many tasks appending at once keep one valid chain with distinct indices")
    func concurrentAppends() async throws {
        let store = InMemoryAuditStore()
        let log = try await Self.makeLog(store)
        let indices = try await withThrowingTaskGroup(of: UInt64.self) { group in
            for i in 0..<400 { group.addTask { try await log.record(Self.sampleEvent(i)) } }
            var all: [UInt64] = []
            for try await index in group { all.append(index) }
            return all
        }
        #expect(Set(indices) == Set(0..<400))
        #expect(log.durableSize == 400)
        let report = try await AuditVerifier.verify(store: store)
        #expect(report.isValid, "\(report)")
        // Reopening rebuilds the same tree.
        let reopened = try await Self.makeLog(store)
        #expect(try reopened.root() == log.root())
    }

    @Test("a store failure fails the append; the next append recovers from what is durable")
    func failThenRecover() async throws {
        let store = FaultInjectingAuditStore(InMemoryAuditStore())
        let log = try await Self.makeLog(store)
        _ = try await log.record(Self.sampleEvent())
        store.failNextAppends()
        await #expect(throws: AuditError(.storeFailure, "")) { try await log.record(Self.sampleEvent(1)) }
        await #expect(throws: AuditError(.storeFailure, "")) { try await log.record(Self.sampleEvent(2)) }
        #expect(log.durableSize == 1)
        store.heal()
        #expect(try await log.record(Self.sampleEvent(3)) == 1)  // entry 1 was never stored: its index is reused
        let stored = try await store.readAll().map { try AuditEntry(decoding: $0).event.tokenID }
        #expect(stored == ["tok-0", "tok-3"])
        let report = try await AuditVerifier.verify(
            store: store,
            keys: AuditKeyring(logKey: Self.key.publicKey, name: "gateway")
        )
        #expect(report.isVerified, "\(report)")
    }

    @Test("a failing sink reports an error to the caller")
    func failingSink() async throws {
        let sink: any AuditSink = FailingAuditSink()
        await #expect(throws: AuditError(.storeFailure, "")) { try await sink.record(AuditEvent(.used)) }
    }

    @Test("opening a store whose chain is broken is refused")
    func openBroken() async throws {
        let store = InMemoryAuditStore()
        let log = try await Self.makeLog(store)
        for i in 0..<3 { _ = try await log.record(Self.sampleEvent(i)) }
        let other = InMemoryAuditStore()
        let entries = try await store.readAll()
        let checkpoint = SignedCheckpoint.sign(
            try LogCheckpoint(origin: "gateway", size: 2, rootHash: try log.root(size: 2)),
            name: "gateway",
            key: Self.key
        )
        // The frontier a store would keep for the forged pair: it cannot match the signed root.
        var forged = MerkleTree()
        for bytes in [entries[0], entries[2]] { forged.append(leafHash: AuditEntry.leafHash(of: bytes)) }
        try await other.append(
            [entries[0], entries[2]],
            firstIndex: 0,
            checkpoint: checkpoint,
            frontier: try forged.frontier(size: 2)
        )
        await #expect(throws: AuditError(.tampered, "")) { try await Self.makeLog(other) }
    }

    @Test("a stored log is reopened only by the service that owns it")
    func ownership() async throws {
        let store = InMemoryAuditStore()
        _ = try await Self.makeLog(store, service: "gateway").record(Self.sampleEvent())
        await #expect(throws: AuditError(.conflict, "")) { try await Self.makeLog(store, service: "billing") }
        #expect(try await Self.makeLog(store, service: "gateway").size == 1)
    }
}
