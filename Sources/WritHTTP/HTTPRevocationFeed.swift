#if HTTP
public import WritCrypto
public import WritRevocation

/// The authority's signed revocation feed read over HTTP (`GET /v1/feed`, long-poll), shaped as a read-only
/// ``RevocationStore`` so a ``RevocationFeedFollower`` follows it as it would a local store.
///
/// The feed is self-authenticating: the follower verifies every entry, the chain and the signed head with the
/// revocation keys it was given; this reader only moves bytes. A transport failure throws (the follower's
/// snapshot goes stale and the service fails closed). Writes throw ``WritHTTPError/Code/readOnly``.
public struct HTTPRevocationFeed: RevocationStore {
    /// The client.
    public let client: WritAuthorityClient
    /// How long a page request may wait for new entries (at most 30 s).
    public let wait: Duration

    /// Creates a reader.
    public init(client: WritAuthorityClient, wait: Duration = .zero) {
        self.client = client
        self.wait = wait
    }

    /// Refused: this reader cannot write.
    public func append(
        _ revocations: [RevocationRequest],
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws -> [SignedRevocationEntry] {
        throw WritHTTPError(.readOnly, "the HTTP feed reader cannot append")
    }

    /// Refused: this reader cannot write.
    public func publishHead(
        at time: Timestamp,
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws
        -> SignedFeedMark
    {
        throw WritHTTPError(.readOnly, "the HTTP feed reader cannot publish heads")
    }

    /// A page from the authority (long-polled for ``wait`` when nothing is new).
    public func page(after sequence: UInt64, limit: Int) async throws -> RevocationFeedPage {
        guard limit >= 1 else { throw RevocationError(.invalidArgument, "limit must be at least 1") }
        return try await client.feedPage(after: sequence, limit: min(limit, 10_000), wait: wait)
    }

    /// Refused: this reader cannot write.
    public func prune(expiredBefore time: Timestamp, at now: Timestamp, signer: some Signer) async throws -> Int {
        throw WritHTTPError(.readOnly, "the HTTP feed reader cannot prune")
    }
}

/// A ``WatermarkStore`` that posts a verifier's signed reports to the authority (`POST /v1/watermarks`), signed
/// in by the verifier's own service key, for a ``RevocationFeedFollower``'s `watermarks`.
public struct HTTPWatermarkReporter: WatermarkStore {
    /// The client.
    public let client: WritAuthorityClient
    private let key: Ed25519.PrivateKey

    /// Creates a reporter signing in with `key` (the verifier's report key).
    public init(client: WritAuthorityClient, key: Ed25519.PrivateKey) {
        self.client = client
        self.key = key
    }

    /// Posts the report.
    public func record(_ report: WatermarkReport) async throws { try await client.postWatermark(report, key: key) }

    /// This reporter keeps nothing locally.
    public func reports() async throws -> [WatermarkReport] { [] }

    /// Nothing to remove locally.
    public func removeVerifier(_ verifier: String) async throws {}
}
#endif
