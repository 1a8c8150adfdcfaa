#if SQLite
import Testing
import WritCrypto
import WritRevocation
import WritSQLite
import WritTesting

/// The store announces its own writes, so a held feed long-poll or a follower in the same process reads at once
/// instead of at its next poll (what makes revoke → denial one round trip in `writ serve`).
@Suite("SQLiteRevocationStore announcements")
struct AnnouncementTests {
    @Test("appends and heads written through the store are announced with the new tip; other handles' are not")
    func announcesOwnWrites() async throws {
        let path = freshPath()
        let store = try SQLiteRevocationStore(path: path)
        let clock = ManualClock()
        let key = Ed25519.PrivateKey()
        var announcements = try #require(store.announcements()).makeAsyncIterator()
        let appended = try await store.append(
            [RevocationRequest(.task("t1"), reason: .manual, at: clock.now(), coversUntil: clock.now())],
            signer: key,
            minimum: nil
        )
        #expect(await announcements.next() == appended.last?.sequence)
        let head = try await store.publishHead(at: clock.now(), signer: key, minimum: nil)
        #expect(await announcements.next() == head.sequence)
        // A write through another handle on the same file is not announced here (its followers poll); the next
        // announcement is this store's own next write.
        let other = try SQLiteRevocationStore(path: path)
        _ = try await other.append(
            [RevocationRequest(.task("t2"), reason: .manual, at: clock.now(), coversUntil: clock.now())],
            signer: key,
            minimum: nil
        )
        let third = try await store.append(
            [RevocationRequest(.task("t3"), reason: .manual, at: clock.now(), coversUntil: clock.now())],
            signer: key,
            minimum: nil
        )
        #expect(third.last?.sequence == 3)
        #expect(await announcements.next() == 3)
    }
}
#endif
