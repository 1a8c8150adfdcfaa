#if HTTP
public import AsyncHTTPClient
public import WritAudit
public import WritCrypto

extension WritWire {
    /// `GET /v1/audit?after=N&limit=M` on a service (operator): entries `N ..< N + M` of its audit log (capped at
    /// the checkpoint's size and at ``maximumLimit``), each with its RFC 6962 inclusion proof against the latest
    /// signed checkpoint, so the caller verifies the page with the service's audit public key alone
    /// (``verified(service:logKey:after:limit:)``).
    public struct AuditPageBody: Sendable, Hashable, Codable {
        /// The most entries one answer holds.
        public static let maximumLimit = 1000

        /// One entry and its inclusion proof.
        public struct Entry: Sendable, Hashable, Codable {
            /// Its index in the log.
            public var index: UInt64
            /// base64url of the entry's canonical bytes.
            public var entry: String
            /// base64url of each hash of its inclusion proof in the tree of the checkpoint's size.
            public var proof: [String]

            /// Creates an entry.
            public init(index: UInt64, entry: [UInt8], proof: [[UInt8]]) {
                self.index = index
                self.entry = Base64URL.encode(entry)
                self.proof = proof.map { Base64URL.encode($0) }
            }
        }

        /// The log's service (the checkpoint's origin).
        public var service: String
        /// The latest signed checkpoint (C2SP signed note text).
        public var checkpoint: String
        /// The entries, from index `after` on.
        public var entries: [Entry]

        /// Creates a body.
        public init(service: String, checkpoint: SignedCheckpoint, entries: [Entry]) {
            self.service = service
            self.checkpoint = checkpoint.text
            self.entries = entries
        }

        /// The page, verified: the checkpoint is `service`'s and signed by `logKey`; the page holds exactly the
        /// entries `after ..< min(after + limit, size)` of the checkpoint's tree (limit capped at
        /// ``maximumLimit``), each at its index, of `service`, linked to its predecessor, and included in the
        /// signed root.
        ///
        /// - Throws: ``WritEvidenceError``: `malformed` (undecodable checkpoint or entry, extra entries),
        ///   `wrongSubject` (another log's checkpoint or entry), `badSignature` (not signed by `logKey`),
        ///   `truncated` (fewer entries than the checkpoint covers), `misplaced` (an entry at another index),
        ///   `modified` (an entry the signed root does not include, or a broken link).
        public func verified(
            service expected: String,
            logKey: Ed25519.PublicKey,
            after: UInt64,
            limit: Int
        ) throws(WritEvidenceError) -> WritVerifiedAuditPage {
            let signed: SignedCheckpoint
            do { signed = try SignedCheckpoint(text: checkpoint) } catch {
                throw WritEvidenceError(.malformed, "the checkpoint does not parse", underlying: error)
            }
            guard signed.checkpoint.origin == expected, service == expected else {
                throw WritEvidenceError(
                    .wrongSubject,
                    "the checkpoint is of '\(signed.checkpoint.origin)''s log, not '\(expected)''s"
                )
            }
            guard signed.isSigned(by: expected, key: logKey) else {
                throw WritEvidenceError(
                    .badSignature,
                    "the checkpoint of '\(expected)' (size \(signed.checkpoint.size)) is not signed by its audit key "
                        + "\(logKey.keyID)"
                )
            }
            let size = signed.checkpoint.size
            let cap = UInt64(max(0, min(limit, Self.maximumLimit)))
            let expectedCount = after >= size ? 0 : min(cap, size - after)
            guard UInt64(entries.count) >= expectedCount else {
                throw WritEvidenceError(
                    .truncated,
                    "the answer holds \(entries.count) entries from \(after); the signed checkpoint of size \(size) "
                        + "covers \(expectedCount)"
                )
            }
            guard UInt64(entries.count) == expectedCount else {
                throw WritEvidenceError(
                    .malformed,
                    "the answer holds \(entries.count) entries from \(after); at most \(expectedCount) exist"
                )
            }
            var decoded: [AuditEntry] = []
            var previousLeaf: [UInt8]?
            for (k, item) in entries.enumerated() {
                let index = after + UInt64(k)
                guard item.index == index else {
                    throw WritEvidenceError(.misplaced, "answer position \(k) holds index \(item.index), not \(index)")
                }
                guard let bytes = Base64URL.decode(item.entry) else {
                    throw WritEvidenceError(.malformed, "entry \(index) is not base64url")
                }
                let entry: AuditEntry
                do { entry = try AuditEntry(decoding: bytes) } catch {
                    throw WritEvidenceError(.modified, "entry \(index) does not decode", underlying: error)
                }
                guard entry.index == index else {
                    throw WritEvidenceError(.misplaced, "position \(index) holds entry \(entry.index)")
                }
                guard entry.event.service == expected else {
                    throw WritEvidenceError(
                        .wrongSubject,
                        "entry \(index) names service '\(entry.event.service ?? "")', not '\(expected)'"
                    )
                }
                let leaf = AuditEntry.leafHash(of: bytes)
                if let previousLeaf, entry.previousHash != previousLeaf {
                    throw WritEvidenceError(.modified, "entry \(index) does not link to entry \(index - 1)")
                }
                var proof: [[UInt8]] = []
                for text in item.proof {
                    guard let hash = Base64URL.decode(text) else {
                        throw WritEvidenceError(.malformed, "entry \(index)'s proof is not base64url")
                    }
                    proof.append(hash)
                }
                do {
                    try MerkleProof.verifyInclusion(
                        index: index,
                        treeSize: size,
                        leafHash: leaf,
                        proof: proof,
                        root: signed.checkpoint.rootHash
                    )
                } catch {
                    throw WritEvidenceError(
                        .modified,
                        "entry \(index) is not in the signed tree of size \(size)",
                        underlying: error
                    )
                }
                previousLeaf = leaf
                decoded.append(entry)
            }
            return WritVerifiedAuditPage(checkpoint: signed, entries: decoded)
        }
    }
}

/// A page of a service's audit log whose every entry was proven included in a checkpoint signed by the log's key.
public struct WritVerifiedAuditPage: Sendable {
    /// The signed checkpoint the entries were proven against.
    public let checkpoint: SignedCheckpoint
    /// The entries, in index order.
    public let entries: [AuditEntry]

    /// The size of the log the checkpoint signs (the next page starts at `entries.last.index + 1`).
    public var size: UInt64 { checkpoint.checkpoint.size }
}

/// Reads a Writ-protected service's audit log over HTTP (`GET /v1/audit`, signed by an operator key) and verifies
/// every page with the log's public key before returning it.
///
/// Redirects are never followed (the requests are signed for the service's origin).
public final class WritServiceAuditClient: Sendable {
    private let transport: WritAuthorityClient
    /// The service's name: its audience, and its audit log's origin.
    public let service: String

    /// Creates a client.
    ///
    /// - Parameters:
    ///   - origin: the service's origin.
    ///   - service: the service's name (its audience and audit origin).
    ///   - httpClient: an `HTTPClient` to use (redirects disallowed), or `nil` to create one (``shutdown()``).
    ///   - clock: the clock proofs are timestamped with.
    ///   - timeout: per call.
    public init(
        origin: WritOrigin,
        service: String,
        httpClient: HTTPClient? = nil,
        clock: any WallClock = SystemClock(),
        timeout: Duration = .seconds(10)
    ) {
        self.service = service
        transport = WritAuthorityClient(
            origin: origin,
            audience: service,
            httpClient: httpClient,
            clock: clock,
            timeout: timeout
        )
    }

    /// Shuts down the HTTP client if this client created it.
    public func shutdown() async throws { try await transport.shutdown() }

    /// The page of entries `after ..< after + limit` as the service answered it (not verified).
    public func page(after: UInt64, limit: Int, operatorKey: Ed25519.PrivateKey) async throws -> WritWire.AuditPageBody
    {
        let capped = max(0, min(limit, WritWire.AuditPageBody.maximumLimit))
        return try await transport.call(
            "GET",
            "/v1/audit?after=\(after)&limit=\(capped)",
            signedBy: (.key(operatorKey.publicKey), operatorKey)
        )
    }

    /// The page of entries `after ..< after + limit`, verified with the log's public key.
    ///
    /// - Throws: ``WritHTTPError`` for the call, ``WritEvidenceError`` when the answer does not verify.
    public func verifiedPage(
        after: UInt64,
        limit: Int = WritWire.AuditPageBody.maximumLimit,
        operatorKey: Ed25519.PrivateKey,
        logKey: Ed25519.PublicKey
    ) async throws -> WritVerifiedAuditPage {
        try await page(after: after, limit: limit, operatorKey: operatorKey)
            .verified(service: service, logKey: logKey, after: after, limit: limit)
    }
}
#endif
