import FuzzSupport
import WritCrypto
@_spi(Testing) import WritRevocation

/// Revocation feed records: every decoder on arbitrary bytes, then a follower syncing a feed whose second entry is
/// the input. A record that decodes keeps its exact bytes; a follower applies the input only if it really is the
/// signed, linked successor of the fixed first entry — anything else leaves the feed refused (never "fresh").
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Harness.run(data, size) { bytes in
        if let mark = try? SignedFeedMark(bytes: bytes, kind: .head) {
            Harness.check(mark.bytes == bytes, "a decoded head keeps its bytes")
            _ = mark.description
        }
        if let floor = try? SignedFeedMark(bytes: bytes, kind: .floor) {
            _ = floor.isSigned(by: FeedFixture.revocationKey.publicKey)
        }
        if let report = try? WatermarkReport(bytes: bytes) { _ = report.description }
        guard let entry = try? SignedRevocationEntry(bytes: bytes) else { return }
        Harness.check(entry.bytes == bytes, "a decoded entry keeps its bytes")
        _ = entry.description
        let applied = Harness.wait { () async -> Bool in
            let store = InMemoryRevocationStore()
            store.overwrite(
                with: RevocationFeedPage(entries: [FeedFixture.entries[0], entry], head: FeedFixture.head)
            )
            let follower = try! RevocationFeedFollower(
                verifier: "fuzz",
                store: store,
                trustedKeys: [FeedFixture.revocationKey.publicKey],
                snapshot: RevocationSnapshot(maxStaleness: .seconds(30)),
                clock: FixedClock()
            )
            let synced = (try? await follower.syncOnce())?.caughtUp ?? false
            return synced
        }
        // The head names entry #3, so the feed can only be fresh if the input were #2 *and* #3 were present:
        // with #3 missing it must never be.
        Harness.check(!applied, "a feed ending before its signed head was taken as fresh")
    }
}

/// A clock fixed at the fixture's time.
struct FixedClock: WallClock {
    func now() -> Timestamp { Fixture.now }
}
