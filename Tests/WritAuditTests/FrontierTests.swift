import Foundation
import Testing
import WritAudit
import WritCrypto
import WritTesting

@Suite("Frontier: O(log n) reopen")
struct FrontierTests {
    static func leaves(_ n: Int) -> [[UInt8]] { (0..<n).map { SHA256.hash(withUnsafeBytes(of: $0) { Array($0) }) } }

    @Test("a tree restored from any frontier gives the same roots, proofs and later frontiers", arguments: 1...40)
    func restoredTree(size: Int) throws {
        let leaves = Self.leaves(size + 9)
        var full = MerkleTree()
        for leaf in leaves[..<size] { full.append(leafHash: leaf) }
        let frontier = try full.frontier(size: UInt64(size))
        #expect(frontier.hashes.count == (size - 1).nonzeroBitCount)
        #expect(frontier.rootHash == (try full.root()))
        #expect(try AuditFrontier(rawRepresentation: frontier.rawRepresentation) == frontier)
        var restored = MerkleTree(frontier: frontier)
        #expect(restored.size == UInt64(size) && restored.restoredSize == UInt64(size - 1))
        for leaf in leaves[size...] {
            full.append(leafHash: leaf)
            restored.append(leafHash: leaf)
        }
        let from = UInt64(size - 1)
        for n in from...full.size {
            #expect(try restored.root(size: n) == full.root(size: n))
            if n > from { #expect(try restored.frontier(size: n) == full.frontier(size: n)) }
            for m in from..<n {
                #expect(try restored.inclusionProof(index: m, size: n) == full.inclusionProof(index: m, size: n))
                #expect(try restored.consistencyProof(from: m, to: n) == full.consistencyProof(from: m, to: n))
            }
        }
        if from > 1 {  // the empty tree's root needs no node
            #expect(throws: AuditError(.outOfRange, "")) { try restored.root(size: from - 1) }
            #expect(throws: AuditError(.outOfRange, "")) { try restored.inclusionProof(index: from - 1) }
        }
        // Cutting back and growing again gives the same tree.
        try restored.truncate(to: UInt64(size))
        try full.truncate(to: UInt64(size))
        restored.append(leafHash: leaves[0])
        full.append(leafHash: leaves[0])
        #expect(try restored.root() == full.root())
    }

    @Test("malformed frontiers are refused")
    func malformed() throws {
        let hash = [UInt8](repeating: 7, count: 32)
        #expect(throws: AuditError(.invalidEncoding, "")) { try AuditFrontier(size: 0, lastLeafHash: hash, hashes: []) }
        #expect(throws: AuditError(.invalidEncoding, "")) { try AuditFrontier(size: 4, lastLeafHash: hash, hashes: []) }
        let good = try AuditFrontier(size: 4, lastLeafHash: hash, hashes: [hash, hash])
        var bytes = good.rawRepresentation
        bytes.removeLast()
        #expect(throws: AuditError(.invalidEncoding, "")) { try AuditFrontier(rawRepresentation: bytes) }
        bytes = good.rawRepresentation
        bytes[0] = 2
        #expect(throws: AuditError(.invalidEncoding, "")) { try AuditFrontier(rawRepresentation: bytes) }
    }

    /// A file log of `count` entries written in batches, closed.
    static func fileLog(
        _ directory: TemporaryDirectory,
        key: Ed25519.PrivateKey,
        count: Int
    ) async throws -> (path: String, root: [UInt8]) {
        let path = directory.path("audit.writ")
        let store = try FileAuditStore.open(path: path)
        let log = try await AuditLog.open(store: store, service: "billing", signingKey: key, salt: AuditSalt())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<count {
                group.addTask { _ = try await log.record(AuditEvent(.used, task: "t", tokenID: "tok-\(i)")) }
            }
            try await group.waitForAll()
        }
        try await store.flushCheckpointFile()
        return (path, try log.root())
    }

    @Test("a file log reopens from its tail, proves new entries at once and old ones after loadFullTree()")
    func reopenFromTail() async throws {
        let directory = try TemporaryDirectory()
        let key = Ed25519.PrivateKey()
        let (path, root) = try await Self.fileLog(directory, key: key, count: 300)
        let store = try await reopenFileStore(path: path)
        let log = try await AuditLog.open(store: store, service: "billing", signingKey: key, salt: AuditSalt())
        #expect(log.durableSize == 300)
        #expect(try log.root() == root)
        #expect(try await log.record(AuditEvent(.taskClosed)) == 300)
        let proof = try log.inclusionProof(index: 300)
        try MerkleProof.verifyInclusion(
            index: 300,
            treeSize: 301,
            leafHash: try log.leafHash(at: 300),
            proof: proof,
            root: try log.root()
        )
        #expect(throws: AuditError(.outOfRange, "")) { try log.inclusionProof(index: 5) }
        #expect(try log.consistencyProof(from: 299).isEmpty == false)
        try await log.loadFullTree()
        let old = try log.inclusionProof(index: 5)
        try MerkleProof.verifyInclusion(
            index: 5,
            treeSize: 301,
            leafHash: try log.leafHash(at: 5),
            proof: old,
            root: try log.root()
        )
        #expect(try log.root(size: 300) == root)
        let report = try await AuditVerifier.verify(
            store: store,
            keys: AuditKeyring(logKey: key.publicKey, name: "billing")
        )
        #expect(report.isVerified, "\(report)")
    }

    @Test("a tail open reads entries before the tail only when asked, and then checks every frame")
    func lazyIndex() async throws {
        let directory = try TemporaryDirectory()
        let key = Ed25519.PrivateKey()
        let (path, _) = try await Self.fileLog(directory, key: key, count: 40)
        // Flip one byte inside entry 3's frame (not its header).
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let scan = try FileAuditStore.scan(path: path)
        var offset = 8
        for entry in scan.entries.prefix(3) { offset += entry.count + 8 }
        bytes[offset + 20] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let store = try await reopenFileStore(path: path)
        #expect(try await store.count() == 40)
        #expect(try await store.read(39..<40).count == 1)
        await #expect(throws: AuditError(.tampered, "")) { try await store.read(0..<1) }
    }

    @Test("a frontier that does not match the signed checkpoint is refused")
    func forgedFrontier() async throws {
        let store = InMemoryAuditStore()
        let key = Ed25519.PrivateKey()
        let log = try await AuditLog.open(store: store, service: "billing", signingKey: key, salt: AuditSalt())
        for i in 0..<5 { _ = try await log.record(AuditEvent(.used, tokenID: "tok-\(i)")) }
        let entries = try await store.readAll()
        let forged = InMemoryAuditStore()
        var tree = MerkleTree()
        for bytes in entries { tree.append(leafHash: AuditEntry.leafHash(of: bytes)) }
        let honest = try tree.frontier(size: 5)
        let bad = try AuditFrontier(
            size: 5,
            lastLeafHash: honest.lastLeafHash,
            hashes: [[UInt8](repeating: 0, count: 32)]
        )
        try await forged.append(entries, firstIndex: 0, checkpoint: try log.checkpoint(), frontier: bad)
        await #expect(throws: AuditError(.tampered, "")) {
            try await AuditLog.open(store: forged, service: "billing", signingKey: key, salt: AuditSalt())
        }
    }
}
