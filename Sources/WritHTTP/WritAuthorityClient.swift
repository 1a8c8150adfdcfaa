#if HTTP
public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
public import Writ
public import WritCrypto
public import WritIdentity
public import WritRevocation
import WritTokens

/// A client of a Writ authority over HTTP (`Docs/HTTPBinding.md` §6): every call is signed per the binding by the
/// credential given, answers are decoded, refusals become ``WritHTTPError/Code/refused`` with the server's
/// ``WritRefusal`` (or, for the token routes, the ``AuthorityError`` the authority raised, so a
/// ``CredentialProvider`` sees refusals as it would in-process).
///
/// Redirects are never followed (a signed request must not be replayed to another origin).
public final class WritAuthorityClient: Sendable {
    /// The authority's public origin.
    public let origin: WritOrigin
    /// The authority's audience (what proofs to it name).
    public let audience: String
    /// The largest answer accepted, in bytes.
    public let maximumResponseBytes: Int
    private let client: HTTPClient
    private let ownsClient: Bool
    private let clock: any WallClock
    private let timeout: Duration

    /// Creates a client.
    ///
    /// - Parameters:
    ///   - origin: the authority's origin (`https://authority.example`).
    ///   - audience: the authority's audience (default `writ-authority`).
    ///   - httpClient: an `HTTPClient` to use (its redirect setting should be `.disallow`), or `nil` to create one
    ///     (shut down by ``shutdown()``).
    ///   - clock: the clock proofs are timestamped with.
    ///   - timeout: per call (a long-poll adds its wait).
    public init(
        origin: WritOrigin,
        audience: String = "writ-authority",
        httpClient: HTTPClient? = nil,
        clock: any WallClock = SystemClock(),
        timeout: Duration = .seconds(10),
        maximumResponseBytes: Int = 4 << 20
    ) {
        self.origin = origin
        self.audience = audience
        if let httpClient {
            client = httpClient
            ownsClient = false
        } else {
            var configuration = HTTPClient.Configuration()
            configuration.redirectConfiguration = .disallow
            configuration.timeout = .init(connect: .seconds(5), read: .seconds(60))
            client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            ownsClient = true
        }
        self.clock = clock
        self.timeout = timeout
        self.maximumResponseBytes = maximumResponseBytes
    }

    /// Shuts down the HTTP client if this client created it.
    public func shutdown() async throws {
        if ownsClient { try await client.shutdown() }
    }

    // MARK: Anonymous routes

    /// The authority's trust bundle: issuer keys and revocation keys.
    public func trustBundle() async throws(WritHTTPError) -> (issuers: TrustBundle, revocation: TrustBundle) {
        let body: WritWire.TrustBundleBody = try await call("GET", "/v1/trust-bundle", signedBy: nil)
        func bundle(_ keys: [WritWire.Key]) throws(WritHTTPError) -> TrustBundle {
            var trusted: [TrustedKey] = []
            for key in keys {
                guard let value = key.trustedKey else {
                    throw WritHTTPError(.malformedResponse, "trust bundle key \(key.keyID) does not decode")
                }
                trusted.append(value)
            }
            return TrustBundle(trusted)
        }
        return (try bundle(body.issuerKeys), try bundle(body.revocationKeys))
    }

    /// A page of the signed feed after `sequence`, held up to `wait` until one is there (long-poll).
    public func feedPage(
        after sequence: UInt64,
        limit: Int,
        wait: Duration = .zero
    ) async throws(WritHTTPError)
        -> RevocationFeedPage
    {
        let waitSeconds = max(0, min(30, wait.components.seconds))
        let body: WritWire.FeedPageBody = try await call(
            "GET",
            "/v1/feed?after=\(sequence)&limit=\(max(1, limit))&wait=\(waitSeconds)",
            signedBy: nil,
            extraTime: .seconds(waitSeconds)
        )
        do { return try body.page() } catch {
            throw WritHTTPError(.malformedResponse, "the feed page does not decode", underlying: error)
        }
    }

    // MARK: Signed routes

    /// Attests a workload: the evidence, signed by its own key, for an identity document.
    public func attest(_ evidence: AttestationEvidence, key: Ed25519.PrivateKey) async throws -> IdentityDocument {
        let body: WritWire.IdentityBody = try await call(
            "POST",
            "/v1/attest",
            body: evidence,
            signedBy: (.key(key.publicKey), key)
        )
        return try IdentityDocument(text: body.identityDocument)
    }

    /// Opens a task for the calling agent.
    public func openTask(
        _ open: WritWire.OpenTaskBody,
        as agent: IdentityDocument,
        key: Ed25519.PrivateKey
    ) async throws -> String {
        let body: WritWire.TaskBody = try await call("POST", "/v1/tasks", body: open, signedBy: (.identity(agent), key))
        return body.task
    }

    /// Completes one of the calling agent's tasks.
    public func completeTask(_ task: String, as agent: IdentityDocument, key: Ed25519.PrivateKey) async throws {
        let _: WritWire.Empty = try await call(
            "POST",
            "/v1/tasks/\(Self.pathSegment(task))/complete",
            body: WritWire.Empty(),
            signedBy: (.identity(agent), key)
        )
    }

    /// Hands one of the calling agent's tasks off to a new objective; returns the new task's id.
    public func handOff(
        _ task: String,
        to open: WritWire.OpenTaskBody,
        as agent: IdentityDocument,
        key: Ed25519.PrivateKey
    ) async throws -> String {
        let body: WritWire.TaskBody = try await call(
            "POST",
            "/v1/tasks/\(Self.pathSegment(task))/hand-off",
            body: open,
            signedBy: (.identity(agent), key)
        )
        return body.task
    }

    /// The token exchange: issues (`step`) or refreshes (`refreshStep`) a step's token.
    public func exchange(
        _ exchange: WritWire.TokenExchangeBody,
        as agent: IdentityDocument,
        key: Ed25519.PrivateKey
    )
        async throws -> IssuedToken
    {
        let body: WritWire.TokenResponseBody = try await call(
            "POST",
            "/v1/token",
            body: exchange,
            signedBy: (.identity(agent), key)
        )
        return body.writ
    }

    /// Records a delegation the calling agent made.
    public func recordDelegation(
        _ token: CapabilityToken,
        to delegate: AgentIdentity,
        as agent: IdentityDocument,
        key: Ed25519.PrivateKey
    ) async throws {
        let _: WritWire.Empty = try await call(
            "POST",
            "/v1/delegations",
            body: WritWire.DelegationBody(token: token.text, delegate: delegate.description),
            signedBy: (.identity(agent), key)
        )
    }

    /// Reports an anomaly (a service key or an operator key).
    public func reportAnomaly(_ report: AnomalyReport, key: Ed25519.PrivateKey) async throws {
        let _: WritWire.Empty = try await call(
            "POST",
            "/v1/anomalies",
            body: report,
            signedBy: (.key(key.publicKey), key)
        )
    }

    /// Posts a verifier's signed watermark report (signed in by the same service key).
    public func postWatermark(_ report: WatermarkReport, key: Ed25519.PrivateKey) async throws {
        let _: WritWire.Empty = try await call(
            "POST",
            "/v1/watermarks",
            body: WritWire.WatermarkBody(report),
            signedBy: (.key(key.publicKey), key)
        )
    }

    /// A verifier's latest watermark reports as the authority stores them (an operator key), each checked here: it
    /// decodes, is the named verifier's, and is signed by `verifierKey`.
    ///
    /// - Parameters:
    ///   - verifier: the verifier's name (its service name).
    ///   - operatorKey: an operator key of the authority.
    ///   - verifierKey: the verifier's report key; `nil` to take the key the authority registered for the verifier
    ///     (its `serviceKeys`), which trusts the authority for that binding.
    /// - Returns: the verified reports (empty when the verifier has reported nothing).
    /// - Throws: ``WritHTTPError`` for the call; ``WritEvidenceError`` with code `badSignature` for a report not
    ///   signed by the key, `wrongSubject` for another verifier's report, `malformed` for one that does not decode,
    ///   `noKey` when no key was given and the authority names none.
    public func watermarks(
        verifier: String,
        operatorKey: Ed25519.PrivateKey,
        verifierKey: Ed25519.PublicKey? = nil
    ) async throws -> [WatermarkReport] {
        let query = verifier.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? verifier
        let body: WritWire.WatermarkReportsBody = try await call(
            "GET",
            "/v1/watermarks?verifier=\(query)",
            signedBy: (.key(operatorKey.publicKey), operatorKey)
        )
        return try body.verifiedReports(verifier: verifier, key: verifierKey)
    }

    /// Revokes a target (an operator key).
    public func revoke(_ revocation: WritWire.RevocationBody, operatorKey: Ed25519.PrivateKey) async throws {
        let _: WritWire.Empty = try await call(
            "POST",
            "/v1/revocations",
            body: revocation,
            signedBy: (.key(operatorKey.publicKey), operatorKey)
        )
    }

    /// Issues a one-time join token for an agent to attest with (an operator key).
    public func issueJoinToken(
        _ request: WritWire.JoinTokenRequestBody,
        operatorKey: Ed25519.PrivateKey
    ) async throws
        -> JoinToken
    {
        let body: WritWire.JoinTokenBody = try await call(
            "POST",
            "/v1/join-tokens",
            body: request,
            signedBy: (.key(operatorKey.publicKey), operatorKey)
        )
        return try JoinToken(text: body.joinToken)
    }

    /// The authority's latest audit checkpoint (signed note text; an operator key).
    public func auditCheckpoint(operatorKey: Ed25519.PrivateKey) async throws -> String {
        let bytes = try await raw(
            "GET",
            "/v1/audit/checkpoint",
            body: [],
            signedBy: (.key(operatorKey.publicKey), operatorKey)
        )
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: Transport

    func call<Answer: Decodable>(
        _ method: String,
        _ target: String,
        signedBy credential: (WritCredential, Ed25519.PrivateKey)?,
        extraTime: Duration = .zero
    ) async throws(WritHTTPError) -> Answer {
        try decode(try await raw(method, target, body: [], signedBy: credential, extraTime: extraTime))
    }

    func call<Body: Encodable, Answer: Decodable>(
        _ method: String,
        _ target: String,
        body: Body,
        signedBy credential: (WritCredential, Ed25519.PrivateKey)?
    ) async throws(WritHTTPError) -> Answer {
        let bytes: [UInt8]
        do { bytes = Array(try JSONEncoder().encode(body)) } catch {
            throw WritHTTPError(.malformedRequest, "the request body does not encode", underlying: error)
        }
        return try decode(try await raw(method, target, body: bytes, signedBy: credential))
    }

    private func decode<Answer: Decodable>(_ bytes: [UInt8]) throws(WritHTTPError) -> Answer {
        do { return try JSONDecoder().decode(Answer.self, from: Data(bytes)) } catch {
            throw WritHTTPError(.malformedResponse, "the answer does not decode as \(Answer.self)", underlying: error)
        }
    }

    /// Sends one request and returns the body of a 2xx answer.
    func raw(
        _ method: String,
        _ target: String,
        body: [UInt8],
        signedBy credential: (WritCredential, Ed25519.PrivateKey)?,
        extraTime: Duration = .zero
    ) async throws(WritHTTPError) -> [UInt8] {
        var request = HTTPClientRequest(url: origin.description + target)
        request.method = .init(rawValue: method)
        if let (credential, key) = credential {
            let mapped = try WritRouteMap().map(method: method, target: target)
            let fields = try WritHTTPSigner.headerFields(
                credential: credential,
                key: key,
                request: TokenRequest(audience: audience, action: mapped.action, resource: mapped.resource),
                method: method,
                origin: origin,
                target: target,
                body: body,
                at: clock.now()
            )
            for field in fields { request.headers.add(name: field.name, value: field.value) }
        }
        if method != "GET" {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(body)
        }
        let response: HTTPClientResponse
        let collected: ByteBuffer
        do {
            let seconds = (timeout + extraTime).components.seconds
            response = try await client.execute(request, timeout: .seconds(max(1, seconds)))
            collected = try await response.body.collect(upTo: maximumResponseBytes)
        } catch {
            throw WritHTTPError(.transport, "\(method) \(target) failed", underlying: error)
        }
        let bytes = Array(collected.readableBytesView)
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            let refusal = try? JSONDecoder().decode(WritRefusal.self, from: Data(bytes))
            throw WritHTTPError(
                .refused,
                "\(method) \(Self.clippedPath(target)) was refused: \(refusal?.description ?? "HTTP \(status)")",
                status: status,
                refusal: refusal
            )
        }
        return bytes
    }

    static func pathSegment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~"))) ?? text
    }

    static func clippedPath(_ target: String) -> String {
        String(target.split(separator: "?", maxSplits: 1).first ?? "")
    }
}

extension WritWire {
    /// `GET /v1/watermarks?verifier=NAME` (operator): the verifier's latest signed reports as stored, and the key
    /// the authority registered for it. The signatures are the caller's to check (``verifiedReports(verifier:key:)``).
    public struct WatermarkReportsBody: Sendable, Hashable, Codable {
        /// The verifier asked about.
        public var verifier: String
        /// base64url of the verifier's report key as registered with the authority, when it is.
        public var key: String?
        /// base64url of each signed report, exactly as stored.
        public var reports: [String]

        /// Creates a body.
        public init(verifier: String, key: Ed25519.PublicKey?, reports: [WatermarkReport]) {
            self.verifier = verifier
            self.key = key.map { Base64URL.encode($0.rawRepresentation) }
            self.reports = reports.map { Base64URL.encode($0.bytes) }
        }

        /// The reports, each checked: it decodes, is `verifier`'s, and is signed by `key` (or, when `key` is `nil`,
        /// by the registered key in the answer).
        ///
        /// - Throws: ``WritEvidenceError`` (`malformed`, `noKey`, `wrongSubject`, `badSignature`).
        public func verifiedReports(
            verifier expected: String,
            key: Ed25519.PublicKey?
        ) throws(WritEvidenceError) -> [WatermarkReport] {
            let verifyingKey: Ed25519.PublicKey
            if let key {
                verifyingKey = key
            } else if let text = self.key {
                guard let raw = Base64URL.decode(text), let registered = try? Ed25519.PublicKey(rawRepresentation: raw)
                else {
                    throw WritEvidenceError(.malformed, "the registered key of '\(expected)' does not decode")
                }
                verifyingKey = registered
            } else {
                throw WritEvidenceError(
                    .noKey,
                    "no report key given, and the authority registers none for '\(expected)'"
                )
            }
            var verified: [WatermarkReport] = []
            for (i, text) in reports.enumerated() {
                guard let bytes = Base64URL.decode(text) else {
                    throw WritEvidenceError(.malformed, "watermark report \(i) is not base64url")
                }
                let report: WatermarkReport
                do { report = try WatermarkReport(bytes: bytes) } catch {
                    throw WritEvidenceError(.malformed, "watermark report \(i) does not decode", underlying: error)
                }
                guard report.verifier == expected else {
                    throw WritEvidenceError(
                        .wrongSubject,
                        "watermark report \(i) is \(report.verifier)'s, not \(expected)'s"
                    )
                }
                guard report.isSigned(by: verifyingKey) else {
                    throw WritEvidenceError(
                        .badSignature,
                        "watermark report \(report) is not signed by \(expected)'s report key \(verifyingKey.keyID)"
                    )
                }
                verified.append(report)
            }
            return verified
        }
    }
}
#endif
