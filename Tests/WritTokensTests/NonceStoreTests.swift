import Foundation
import Synchronization
import Testing
import WritCrypto
import WritTesting
import WritTokens

@Suite("Nonce stores")
struct NonceStoreTests {
    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "writ-nonces-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("the conformance suite passes for the in-memory replay cache")
    func inMemoryConforms() async throws {
        let shared = Mutex<InMemoryReplayCache?>(nil)
        let suite = NonceStoreConformance(
            makeStore: { clock in
                let cache = InMemoryReplayCache(capacity: 1000, clock: clock)
                shared.withLock { $0 = cache }
                return cache
            },
            reopen: { _ in try #require(shared.withLock { $0 }) },
            openPeer: { _ in try #require(shared.withLock { $0 }) }
        )
        #expect(try await suite.run() == [])
    }

    @Test("the conformance suite passes for the file store (a peer is a second handle on the same file)")
    func fileConforms() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/nonces"
        let suite = NonceStoreConformance(
            makeStore: { clock in try FileNonceStore(path: path, clock: clock, compactionThreshold: 16) },
            reopen: { clock in try FileNonceStore(path: path, clock: clock, compactionThreshold: 16) },
            openPeer: { clock in try FileNonceStore(path: path, clock: clock, compactionThreshold: 16) }
        )
        #expect(try await suite.run() == [])
    }

    @Test("the conformance suite fails against a store that forgets")
    func suiteCatchesForgetfulStore() async throws {
        let suite = NonceStoreConformance(
            makeStore: { _ in ForgetfulNonceStore() },
            reopen: { _ in ForgetfulNonceStore() },
            openPeer: { _ in ForgetfulNonceStore() }
        )
        let failures = try await suite.run()
        #expect(failures.contains("the same nonce again is a replay"))
        #expect(failures.contains { $0.hasPrefix("concurrent offers") })
    }

    @Test("a full in-memory cache throws NonceStoreError.full instead of forgetting a nonce")
    func inMemoryFull() async throws {
        let clock = ManualClock()
        let cache = InMemoryReplayCache(capacity: 1, clock: clock)
        let expiry = clock.now().advanced(by: .seconds(90))
        #expect(try await cache.insertIfAbsent(.random(), expiresAt: expiry))
        let error = await #expect(throws: NonceStoreError.self) {
            try await cache.insertIfAbsent(.random(), expiresAt: expiry)
        }
        #expect(error?.code == .full)
    }

    @Test("record(_:options:at:) throws replayedNonce on the second use of a proof")
    func recordProof() async throws {
        let clock = ManualClock()
        let cache = InMemoryReplayCache(capacity: 16, clock: clock)
        let proof = try ProofOfPossession(
            timestamp: clock.now(),
            nonce: .random(),
            signature: [UInt8](repeating: 0, count: 64)
        )
        try await cache.record(proof, at: clock.now())
        let error = await #expect(throws: TokenError.self) { try await cache.record(proof, at: clock.now()) }
        #expect(error?.code == .replayedNonce)
        // Remembered one millisecond past the last instant it is accepted: timestamp + 60 s + 30 s.
        #expect(
            proof.nonceExpiry(options: .init(), now: clock.now()) == clock.now().advanced(by: .milliseconds(90_001))
        )
    }

    @Test("a new nonce file is created with mode 0600 and starts with the header")
    func fileCreated() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/nonces"
        let store = try FileNonceStore(path: path)
        #expect(try await store.insertIfAbsent(.random(), expiresAt: SystemClock().now().advanced(by: .seconds(60))))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasPrefix(FileNonceStore.header + "\n"))
        #expect(text.utf8.count == FileNonceStore.header.utf8.count + 1 + 67)
    }

    @Test("a damaged record fails closed: corrupt, naming the file and the line")
    func tamperedRecord() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/nonces"
        let clock = ManualClock()
        let store = try FileNonceStore(path: path, clock: clock)
        for _ in 0..<3 {
            _ = try await store.insertIfAbsent(.random(), expiresAt: clock.now().advanced(by: .seconds(60)))
        }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let line3 = FileNonceStore.header.utf8.count + 1 + 67  // the start of the second record (line 3)
        bytes[line3 + 5] = bytes[line3 + 5] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        try bytes.write(to: URL(fileURLWithPath: path))

        let error = #expect(throws: NonceStoreError.self) { try FileNonceStore(path: path, clock: clock) }
        #expect(error?.code == .corrupt)
        #expect(error?.path == path)
        #expect(error?.line == 3)
        #expect(error?.description.contains("checksum") == true)
    }

    @Test("a handle that already read the file fails closed when a later line is damaged or the file shrinks")
    func tamperUnderOpenHandle() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/nonces"
        let clock = ManualClock()
        let store = try FileNonceStore(path: path, clock: clock)
        let expiry = clock.now().advanced(by: .seconds(60))
        _ = try await store.insertIfAbsent(.random(), expiresAt: expiry)
        // Another handle appends a good record (line 3), then something appends a damaged line (line 4).
        _ = try await FileNonceStore(path: path, clock: clock).insertIfAbsent(.random(), expiresAt: expiry)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(String(repeating: "z", count: 66).utf8 + [UInt8(ascii: "\n")]))
        try handle.close()
        let error = await #expect(throws: NonceStoreError.self) {
            try await store.insertIfAbsent(.random(), expiresAt: expiry)
        }
        #expect(error?.code == .corrupt)
        #expect(error?.line == 4)
        // And again, at the same line, on every later use: the damaged line is never skipped.
        let again = await #expect(throws: NonceStoreError.self) {
            try await store.insertIfAbsent(.random(), expiresAt: expiry)
        }
        #expect(again?.line == 4)

        let fresh = dir + "/shrunk"
        let other = try FileNonceStore(path: fresh, clock: clock)
        _ = try await other.insertIfAbsent(.random(), expiresAt: expiry)
        try Data((FileNonceStore.header + "\n").utf8).write(to: URL(fileURLWithPath: fresh))
        let shrunk = await #expect(throws: NonceStoreError.self) {
            try await other.insertIfAbsent(.random(), expiresAt: expiry)
        }
        #expect(shrunk?.code == .corrupt)
    }

    @Test("a file that is not a nonce file is refused and left untouched")
    func notANonceFile() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/issuer.key"
        let contents = Data("writsk1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n".utf8)
        try contents.write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: NonceStoreError.self) { try FileNonceStore(path: path) }
        #expect(error?.code == .corrupt)
        #expect(error?.line == 1)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == contents)
    }

    @Test("a torn final record is cut off; unterminated bytes longer than a record are refused")
    func tornTail() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/nonces"
        let clock = ManualClock()
        let kept = ReplayNonce.random()
        let expiry = clock.now().advanced(by: .seconds(60))
        do {
            let store = try FileNonceStore(path: path, clock: clock)
            _ = try await store.insertIfAbsent(kept, expiresAt: expiry)
        }
        let intact = try Data(contentsOf: URL(fileURLWithPath: path))
        try (intact + Data(String(repeating: "a", count: 40).utf8)).write(to: URL(fileURLWithPath: path))
        let reopened = try FileNonceStore(path: path, clock: clock)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == intact)
        #expect(!(try await reopened.insertIfAbsent(kept, expiresAt: expiry)))

        try (intact + Data(String(repeating: "a", count: 80).utf8)).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: NonceStoreError.self) { try FileNonceStore(path: path, clock: clock) }
        #expect(error?.code == .corrupt)
        #expect(error?.line == 3)
    }

    @Test("a symbolic link, a directory and a world-writable file are refused as unsafe paths")
    func unsafePaths() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: dir + "/target")
        #expect(throws: NonceStoreError.self) { try FileNonceStore(path: dir + "/link") }
        #expect(!FileManager.default.fileExists(atPath: dir + "/target"))
        let linkError = #expect(throws: NonceStoreError.self) { try FileNonceStore(path: dir + "/link") }
        #expect(linkError?.code == .unsafePath)
        let directoryError = #expect(throws: NonceStoreError.self) { try FileNonceStore(path: dir) }
        #expect(directoryError?.code == .unsafePath || directoryError?.code == .unavailable)
        _ = FileManager.default.createFile(atPath: dir + "/open", contents: nil, attributes: [.posixPermissions: 0o666])
        chmod(dir + "/open", 0o666)
        let openError = #expect(throws: NonceStoreError.self) { try FileNonceStore(path: dir + "/open") }
        #expect(openError?.code == .unsafePath)
    }

    @Test("compaction drops expired records, keeps unexpired ones, and a peer handle follows the new file")
    func compaction() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/nonces"
        let clock = ManualClock()
        let store = try FileNonceStore(path: path, clock: clock, compactionThreshold: 16)
        let peer = try FileNonceStore(path: path, clock: clock, compactionThreshold: 16)
        let longLived = ReplayNonce.random()
        _ = try await store.insertIfAbsent(longLived, expiresAt: clock.now().advanced(by: .seconds(3600)))
        for _ in 0..<20 {
            _ = try await store.insertIfAbsent(.random(), expiresAt: clock.now().advanced(by: .seconds(10)))
        }
        clock.advance(by: .seconds(11))
        for _ in 0..<20 {
            _ = try await peer.insertIfAbsent(.random(), expiresAt: clock.now().advanced(by: .seconds(10)))
        }
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber).intValue
        #expect(size < (FileNonceStore.header.utf8.count + 1) + 41 * 67, "the file was compacted (\(size) bytes)")
        // Both handles still see the long-lived nonce and each other's new ones.
        #expect(!(try await store.insertIfAbsent(longLived, expiresAt: clock.now().advanced(by: .seconds(3600)))))
        #expect(!(try await peer.insertIfAbsent(longLived, expiresAt: clock.now().advanced(by: .seconds(3600)))))
        let fresh = ReplayNonce.random()
        #expect(try await peer.insertIfAbsent(fresh, expiresAt: clock.now().advanced(by: .seconds(10))))
        #expect(!(try await store.insertIfAbsent(fresh, expiresAt: clock.now().advanced(by: .seconds(10)))))
        try await store.compact()
        #expect(try await peer.unexpiredCount() == 22)
        let reopened = try FileNonceStore(path: path, clock: clock)
        #expect(try await reopened.unexpiredCount() == 22)
    }

    @Test("concurrent inserts from three handles while compaction runs: each contended nonce is inserted once")
    func concurrentWithCompaction() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/nonces"
        let clock = ManualClock()
        let handles = try (0..<3).map { _ in try FileNonceStore(path: path, clock: clock, compactionThreshold: 16) }
        let contended = (0..<200).map { _ in ReplayNonce.random() }
        let live = clock.now().advanced(by: .seconds(600))
        let expired = clock.now()  // recorded already expired: filler that makes compaction worthwhile
        let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
            for (i, nonce) in contended.enumerated() {
                for handle in handles {
                    group.addTask { try await handle.insertIfAbsent(nonce, expiresAt: live) }
                    group.addTask {
                        _ = try await handle.insertIfAbsent(.random(), expiresAt: expired)
                        return false
                    }
                }
                if i % 10 == 0 {
                    group.addTask {
                        try await handles[i % 3].compact()
                        return false
                    }
                }
            }
            var count = 0
            for try await inserted in group where inserted { count += 1 }
            return count
        }
        #expect(wins == contended.count)
        #expect(try await FileNonceStore(path: path, clock: clock).unexpiredCount() == contended.count)
    }
}
