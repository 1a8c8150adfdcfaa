import Foundation
import Synchronization
import Testing
import WritAudit
import WritCrypto
import WritTesting

@Suite("Signed checkpoints and witnessing")
struct CheckpointTests {
    static func log(
        _ service: String,
        entries: Int,
        store: InMemoryAuditStore = InMemoryAuditStore(),
        key: Ed25519.PrivateKey = Ed25519.PrivateKey()
    ) async throws -> AuditLog {
        let log = try await AuditLog.open(
            store: store,
            service: service,
            signingKey: key,
            salt: AuditSalt(),
            clock: ManualClock()
        )
        for i in 0..<entries { _ = try await log.record(AuditEvent(.used, tokenID: "t\(i)")) }
        return log
    }

    @Test("a checkpoint is C2SP signed-note text that parses back and verifies")
    func format() async throws {
        let log = try await Self.log("example.com/billing", entries: 5)
        let signed = try log.checkpoint()
        let text = signed.text
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "example.com/billing")
        #expect(lines[1] == "5")
        #expect(lines[2].count == 44)  // base64 of 32 bytes
        #expect(lines[3] == "")
        #expect(lines[4].hasPrefix("\u{2014} example.com/billing "))
        let parsed = try SignedCheckpoint(text: text)
        #expect(parsed == signed)
        try parsed.verify(name: "example.com/billing", key: log.publicKey)
        #expect(parsed.checkpoint.rootHash == (try log.root()))
    }

    @Test("a changed size, root or signature fails verification")
    func tampered() async throws {
        let log = try await Self.log("svc", entries: 3)
        let text = try log.checkpoint().text
        for bad in [
            text.replacingOccurrences(of: "\n3\n", with: "\n4\n"),
            text.replacingOccurrences(of: "svc\n3", with: "evil\n3"),
        ] {
            let parsed = try SignedCheckpoint(text: bad)
            #expect(throws: AuditError(.invalidSignature, "")) {
                try parsed.verify(name: parsed.checkpoint.origin, key: log.publicKey)
            }
        }
        #expect(throws: AuditError(.invalidSignature, "")) {
            try SignedCheckpoint(text: text).verify(name: "svc", key: Ed25519.PrivateKey().publicKey)
        }
    }

    @Test(
        "malformed notes are rejected",
        arguments: [
            "svc\n3\nAAAA\n\n", "svc\n03\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n\u{2014} svc AAAAAAA=\n",
            "svc\n3\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "no blank line",
            "svc\n3\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n- svc AAAAAAA=\n",
        ]
    )
    func malformed(text: String) {
        #expect(throws: AuditError.self) { try SignedCheckpoint(text: text) }
    }

    @Test("verifier keys round-trip and name their key (64 random keys, so base64 with '+' occurs)")
    func verifierKeys() throws {
        for _ in 0..<64 {
            let key = Ed25519.PrivateKey().publicKey
            let text = NoteKey.verifierKey(name: "svc", key: key, witness: Bool.random())
            let parsed = try NoteKey.parse(text)
            #expect(parsed.name == "svc" && parsed.key == key)
            #expect(throws: AuditError(.invalidEncoding, "")) {
                try NoteKey.parse("other" + text.dropFirst(3))
            }
        }
    }

    @Test("a witness cosigns a consistent checkpoint, and refuses a rewritten history")
    func witness() async throws {
        let store = InMemoryAuditStore()
        let key = Ed25519.PrivateKey()
        let gateway = try await Self.log("gateway", entries: 4, store: store, key: key)
        let witness = try await Self.log("witness", entries: 0)
        let first = try gateway.checkpoint()
        let cosigned = try witness.cosign(first, logKey: gateway.publicKey)
        #expect(cosigned.isCosigned(by: "witness", key: witness.publicKey))
        #expect(cosigned.isSigned(by: "gateway", key: gateway.publicKey))
        #expect(try SignedCheckpoint(text: cosigned.text).isCosigned(by: "witness", key: witness.publicKey))

        // The log grows honestly: accepted with a consistency proof.
        for i in 0..<3 { _ = try await gateway.record(AuditEvent(.used, tokenID: "more\(i)")) }
        let second = try gateway.checkpoint()
        _ = try witness.cosign(
            second,
            logKey: gateway.publicKey,
            consistencyProof: try gateway.consistencyProof(from: 4)
        )

        // The owner rewrites history with the same key: a fresh log of the same origin and size.
        let forged = try await Self.log("gateway", entries: 7, key: key)
        #expect(throws: AuditError(.inconsistent, "")) {
            try witness.cosign(try forged.checkpoint(), logKey: gateway.publicKey)
        }
        // Rolling back is refused too.
        #expect(throws: AuditError(.inconsistent, "")) { try witness.cosign(first, logKey: gateway.publicKey) }
        // Growing from a forged history fails the consistency proof.
        _ = try await forged.record(AuditEvent(.revoked))
        #expect(throws: AuditError(.inconsistent, "")) {
            try witness.cosign(
                try forged.checkpoint(),
                logKey: gateway.publicKey,
                consistencyProof: try forged.consistencyProof(from: 7)
            )
        }
        // A checkpoint not signed by the log's key is refused.
        #expect(throws: AuditError(.invalidSignature, "")) { try witness.cosign(second, logKey: witness.publicKey) }
    }

    @Test("the verifier checks a log against several checkpoints, including an empty one")
    func severalCheckpoints() async throws {
        let store = InMemoryAuditStore()
        let log = try await Self.log("svc", entries: 0, store: store)
        let empty = try log.checkpoint()
        for i in 0..<6 { _ = try await log.record(AuditEvent(.issued, tokenID: "\(i)")) }
        let six = try log.checkpoint()
        let report = try await AuditVerifier.verify(store: store, checkpoints: [six, empty], logKey: log.publicKey)
        #expect(report.isValid, "\(report)")
        #expect(report.isVerified, "\(report)")
        #expect(report.checkpointsVerified == 3)  // the store's latest, and the two given
    }

    @Test("periodic checkpoints are signed and published until the task is cancelled")
    func periodic() async throws {
        let log = try await Self.log("svc", entries: 2)
        let published = RecordingCheckpoints()
        let task = Task { await log.publishCheckpoints(every: .milliseconds(5)) { published.add($0) } }
        while published.count < 3 { try await Task.sleep(for: .milliseconds(2)) }
        task.cancel()
        await task.value
        #expect(published.all.allSatisfy { $0.isSigned(by: "svc", key: log.publicKey) && $0.checkpoint.size == 2 })
    }
}

/// Collects published checkpoints across tasks.
final class RecordingCheckpoints: Sendable {
    private let items = Mutex<[SignedCheckpoint]>([])
    func add(_ c: SignedCheckpoint) { items.withLock { $0.append(c) } }
    var count: Int { items.withLock { $0.count } }
    var all: [SignedCheckpoint] { items.withLock { $0 } }
}
