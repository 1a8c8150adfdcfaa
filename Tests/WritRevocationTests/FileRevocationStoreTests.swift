import Foundation
import Testing
import WritCrypto
import WritTesting

@_spi(Testing) @testable import WritRevocation

/// The suite over the file store: `overwrite` replaces both files as an attacker with write access would (by
/// rename, so handles that are open follow the new inode); `reopen` and `openPeer` open the path again (a restarted
/// process, another process).
let fileConformance = RevocationStoreConformance(
    makeStore: {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("writ-feed-\(UUID().uuidString)").path
        return try FileRevocationStore.open(path: path, mode: .create)
    },
    overwrite: { store, contents in
        try FileRevocationStore.overwrite(path: try #require(store as? FileRevocationStore).path, with: contents)
    },
    reopen: { store in
        try FileRevocationStore.open(path: try #require(store as? FileRevocationStore).path, mode: .readWrite)
    },
    openPeer: { store in
        try FileRevocationStore.open(path: try #require(store as? FileRevocationStore).path, mode: .readWrite)
    }
)

@Suite("File revocation store")
struct FileRevocationStoreTests {
    let clock = ManualClock()
    let key = Ed25519.PrivateKey()

    func block(_ n: some BinaryInteger) -> RevocationTarget { .block(RevocationID(high: 0xB10C, low: UInt64(n))) }
    func id(_ n: some BinaryInteger) -> RevocationID { RevocationID(high: 0xB10C, low: UInt64(n)) }

    func publisher(_ store: FileRevocationStore) -> RevocationPublisher {
        RevocationPublisher(store: store, signer: key, clock: clock)
    }

    /// What a verifier process started now believes of `block`: it opens the feed read-only and syncs once.
    func freshVerdict(_ path: String, _ target: RevocationID) async -> RevocationLookup {
        guard let store = try? FileRevocationStore.open(path: path, mode: .readOnly),
            let follower = try? RevocationFeedFollower(
                verifier: "svc",
                store: store,
                trustedKeys: [key.publicKey],
                snapshot: RevocationSnapshot(maxStaleness: .seconds(30)),
                clock: clock
            )
        else { return .stale(lastHeard: nil, bound: .seconds(30)) }  // refused to open: nothing is served
        _ = try? await follower.syncOnce()
        return follower.snapshot.status(of: target, now: clock.now())
    }

    /// A feed of three entries (#2 is the victim) and a head.
    func threeEntryFeed(_ directory: TemporaryDirectory) async throws -> String {
        let path = directory.file("revocations.log")
        let store = try FileRevocationStore.open(path: path, mode: .create)
        for n in 1...3 {
            try await publisher(store).revoke(
                block(n),
                reason: .anomaly,
                coversUntil: clock.now().advanced(by: .seconds(600))
            )
        }
        return path
    }

    @Test("keeps the shared store contract", arguments: RevocationStoreConformance.Check.allCases)
    func conformance(_ check: RevocationStoreConformance.Check) async throws {
        try await fileConformance.run(check)
    }

    @Test("entries and the head survive closing and reopening; sequences and retries continue")
    func durableAcrossReopen() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("revocations.log")
        var written: [SignedRevocationEntry] = []
        do {
            let store = try FileRevocationStore.open(path: path, mode: .create)
            for n in 1...5 {
                written.append(try await publisher(store).revoke(block(n), reason: .anomaly, coversUntil: clock.now()))
            }
            written.append(
                try await publisher(store).revoke(.task("tâche-Ω\t\n"), reason: .completed, coversUntil: clock.now())
            )
        }
        let reopened = try FileRevocationStore.open(path: path, mode: .readWrite)
        #expect(reopened.repairedTailBytes == 0)
        let contents = try await reopened.contents()
        #expect(contents.entries == written)
        #expect(contents.head?.sequence == 6)
        let again = try await publisher(reopened).revoke(
            .task("tâche-Ω\t\n"),
            reason: .completed,
            coversUntil: clock.now()
        )
        #expect(again == written[5], "a retried revocation after a restart returns the recorded entry")
        let next = try await publisher(reopened).revoke(block(99), reason: .manual, coversUntil: clock.now())
        #expect(next.sequence == 7 && next.previousHash == written[5].hash, "the chain continues after a restart")
    }

    /// Every single-bit flip anywhere in the feed file or its head file: a verifier started afterwards never finds
    /// the revoked token usable (it is revoked, or the feed is refused and it fails closed), and never crashes.
    @Test("a flipped bit anywhere in the files never un-revokes (every byte of feed and head)")
    func bitFlips() async throws {
        let directory = try TemporaryDirectory()
        let path = try await threeEntryFeed(directory)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let originalHead = try Data(contentsOf: URL(fileURLWithPath: path + ".head"))
        #expect(await freshVerdict(path, id(2)) != .notRevoked)
        var refused = 0
        for (file, bytes) in [(path, original), (path + ".head", originalHead)] {
            for offset in 0..<bytes.count {
                var tampered = bytes
                tampered[offset] ^= 0x10
                try tampered.write(to: URL(fileURLWithPath: file))
                let verdict = await freshVerdict(path, id(2))
                #expect(verdict != .notRevoked, "flip at \(file):\(offset) un-revoked #2")
                if case .stale = verdict { refused += 1 }
            }
            try bytes.write(to: URL(fileURLWithPath: file))
        }
        // Flips in #3 leave #1–#2 verified; everything else is refused or caught by the head.
        #expect(refused > original.count / 2)
    }

    @Test("a torn final record is cut off by a writer, ignored by a reader, and everything acknowledged kept")
    func tornTail() async throws {
        let directory = try TemporaryDirectory()
        let path = try await threeEntryFeed(directory)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0, 0, 0, 200, 1, 1, 0, 0]))  // a frame of 200 bytes, 4 written
        try handle.close()
        let size = try fileSize(path)
        let reader = try FileRevocationStore.open(path: path, mode: .readOnly)
        #expect(try await reader.contents().entries.count == 3)
        #expect(try fileSize(path) == size, "a reader never modifies the feed")
        let writer = try FileRevocationStore.open(path: path, mode: .readWrite)
        #expect(writer.repairedTailBytes == 8)
        #expect(try fileSize(path) == size - 8)
        #expect(await freshVerdict(path, id(2)) == .revoked(try await writer.contents().entries[1].entry))
    }

    @Test("the last entry cut off (covered by the signed head) is tampering, not a torn write")
    func truncatedUnderHead() async throws {
        let directory = try TemporaryDirectory()
        let path = try await threeEntryFeed(directory)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 10).write(to: URL(fileURLWithPath: path))
        #expect(throws: RevocationError(.tampered, "")) { try FileRevocationStore.open(path: path, mode: .readWrite) }
        #expect(await freshVerdict(path, id(3)) != .notRevoked)
    }

    @Test("a missing, empty or foreign feed is an error for readers, never an empty feed")
    func missingOrEmpty() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("revocations.log")
        #expect {
            try FileRevocationStore.open(path: path, mode: .readOnly)
        } throws: {
            ($0 as? RevocationError)?.code == .storeUnavailable && "\($0)".contains("does not exist")
        }
        #expect(!FileManager.default.fileExists(atPath: path), "a reader creates nothing")
        _ = FileManager.default.createFile(atPath: path, contents: Data())
        #expect {
            try FileRevocationStore.open(path: path, mode: .readOnly)
        } throws: { "\($0)".contains("is empty") }
        #expect(throws: RevocationError(.storeUnavailable, "")) {
            try FileRevocationStore.open(path: path, mode: .readWrite)
        }
        try Data("revoke\t1\tblock\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: RevocationError(.malformed, "")) { try FileRevocationStore.open(path: path, mode: .readOnly) }
        let other = try TemporaryDirectory()
        let readOnly = try FileRevocationStore.open(path: try await threeEntryFeed(other), mode: .readOnly)
        await #expect(throws: RevocationError(.invalidArgument, "")) {
            _ = try await readOnly.append([], signer: key, minimum: nil)
        }
    }

    @Test("prune rewrites the file behind a signed floor; other handles and new verifiers follow it")
    func prune() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("revocations.log")
        let store = try FileRevocationStore.open(path: path, mode: .create)
        let other = try FileRevocationStore.open(path: path, mode: .readOnly)
        for n in 1...4 {
            try await publisher(store).revoke(
                block(n),
                reason: .timeout,
                coversUntil: clock.now().advanced(by: .seconds(n <= 2 ? 10 : 600))
            )
        }
        #expect(try await publisher(store).prune(expiredBefore: clock.now().advanced(by: .seconds(60))) == 2)
        let contents = try await other.contents()
        #expect(contents.floor?.sequence == 2)
        #expect(contents.entries.map(\.sequence) == [3, 4])
        let next = try await publisher(store).revoke(block(5), reason: .manual, coversUntil: clock.now())
        #expect(next.sequence == 5)
        #expect(await freshVerdict(path, id(3)) == .revoked(contents.entries[0].entry))
    }

    func fileSize(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? -1
    }
}

/// A fresh directory under the system's temporary directory, removed when the value is released.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        path =
            FileManager.default.temporaryDirectory.appendingPathComponent("writ-revocations-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
