public import WritCrypto
public import WritRevocation

/// A signed revocation feed made with a fixed key: three entries and a head (the revocation-record harness's
/// seeds and trust).
public enum FeedFixture {
    /// The revocation key the harness trusts.
    public static let revocationKey = try! Ed25519.PrivateKey(seed: SecureBytes([UInt8](repeating: 7, count: 32)))

    /// Three chained entries, each signed by ``revocationKey``.
    public static let entries: [SignedRevocationEntry] = {
        var previous = RevocationFeedHash.zero
        let targets: [RevocationTarget] = [
            .block(RevocationID(high: 1, low: 2)), .task("task-1"), .agent("spiffe://fuzz.test/agent/a/1"),
        ]
        return targets.enumerated().map { index, target in
            let entry = try! SignedRevocationEntry(
                signing: RevocationEntry(
                    sequence: UInt64(index + 1),
                    target: target,
                    reason: .anomaly,
                    revokedAt: Fixture.now,
                    coversUntil: Fixture.now.advanced(by: .seconds(600))
                ),
                previousHash: previous,
                signer: revocationKey
            )
            previous = entry.hash
            return entry
        }
    }()

    /// A head over the last entry.
    public static let head = try! SignedFeedMark(
        signing: .head,
        sequence: 3,
        hash: entries[2].hash,
        issuedAt: Fixture.now,
        signer: revocationKey
    )
}
