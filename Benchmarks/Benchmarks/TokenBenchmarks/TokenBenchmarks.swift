import Benchmark
import Foundation
import JWTKit
import Writ

// Token benchmarks, all measured in one run beside the physical limit: raw libsodium Ed25519 sign and verify
// (WritCrypto's wrappers are thin) over a message the size of a typical root block, and a peer (jwt-kit EdDSA
// JWT verify of a comparable payload). Docs/Performance.md reports each figure as a ratio to the raw figures.

/// Everything the benchmarks need, built once.
struct TokenFixture: Sendable {
    let issuer = Ed25519.PrivateKey()
    let agent = Ed25519.PrivateKey()
    let now = Timestamp(secondsSinceEpoch: 1_767_225_600)
    let orchestrator = try! AgentClass(
        name: "researcher",
        defaultTTL: .seconds(300),
        maximumTTL: .seconds(900),
        maximumDelegationDepth: 15,
        mayDelegate: true
    )
    let request = TokenRequest(audience: "api.acme.dev", action: "read", resource: "docs/public/a.txt")

    var claims: TokenClaims {
        TokenClaims(
            subject: try! AgentIdentity("spiffe://acme.dev/agent/researcher/7"),
            holder: agent.publicKey,
            agentClass: "researcher",
            audiences: ["api.acme.dev"],
            actions: ["read", "list"],
            resources: ["docs/*"],
            taskID: "task-42",
            step: 3,
            issuedAt: now,
            expiresAt: now.advanced(by: .seconds(300))
        )
    }

    var verifier: TokenVerifier {
        TokenVerifier(trustBundle: TrustBundle(trusting: issuer.publicKey), agentClasses: [orchestrator])
    }

    /// A token with `blocks` blocks and the final holder's key.
    func token(blocks: Int) -> (CapabilityToken, Ed25519.PrivateKey) {
        var token = try! CapabilityToken.mint(claims, agentClass: orchestrator, issuerKey: issuer)
        var key = agent
        for i in 1..<blocks {
            let next = Ed25519.PrivateKey()
            let attenuation =
                i == 1
                ? Attenuation(
                    holder: next.publicKey,
                    delegate: try! AgentIdentity("spiffe://acme.dev/agent/helper/\(i)"),
                    actions: ["read"],
                    resources: ["docs/public/*"],
                    expiresAt: now.advanced(by: .seconds(120))
                )
                : Attenuation(
                    holder: next.publicKey,
                    delegate: try! AgentIdentity("spiffe://acme.dev/agent/helper/\(i)")
                )
            token = try! token.delegating(attenuation, holderKey: key)
            key = next
        }
        return (token, key)
    }
}

/// Proofs with distinct nonces, handed out one per iteration; a fresh replay cache per pass.
final class ProofSupply: @unchecked Sendable {
    // @unchecked Sendable: used only from the single benchmark thread that runs one benchmark's closure.
    let proofs: [ProofOfPossession]
    var index = 0
    var cache = InMemoryReplayCache(capacity: 1_000_000)

    init(token: CapabilityToken, key: Ed25519.PrivateKey, request: TokenRequest, at now: Timestamp, count: Int) {
        proofs = (0..<count).map { _ in ProofOfPossession.sign(token: token, request: request, holderKey: key, at: now)
        }
    }

    func next() -> ProofOfPossession {
        if index == proofs.count {
            index = 0
            cache = InMemoryReplayCache(capacity: 1_000_000)
        }
        defer { index += 1 }
        return proofs[index]
    }
}

/// A JWT payload comparable to a typical root token: subject, audience, expiry, issue time, id, actions,
/// resources, task, step, class and the holder key thumbprint (`cnf`).
struct ComparablePayload: JWTPayload {
    var sub: SubjectClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim
    var iat: IssuedAtClaim
    var jti: IDClaim
    var act: [String]
    var res: [String]
    var task: String
    var step: Int
    var cls: String
    var cnf: String

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        try aud.verifyIntendedAudience(includes: "api.acme.dev")
    }
}

let maxIterations = 10_000

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        warmupIterations: 50,
        maxDuration: .seconds(3),
        maxIterations: maxIterations
    )
    let f = TokenFixture()
    let verifier = f.verifier
    let (one, oneKey) = f.token(blocks: 1)
    let (three, _) = f.token(blocks: 3)
    let (eight, _) = f.token(blocks: 8)
    // What mint signs for the typical root: a 19-byte domain tag and the block without its signature.
    let message = Array("writ.token.root.v1\0".utf8) + Array(one.bytes.dropLast(64))
    let signature = f.issuer.signature(for: message)
    let options = VerificationOptions()

    Benchmark("Token: raw libsodium Ed25519 sign (\(message.count) B)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(f.issuer.signature(for: message)) }
    }

    Benchmark("Token: raw libsodium Ed25519 verify (\(message.count) B)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(f.issuer.publicKey.isValidSignature(signature, for: message)) }
    }

    Benchmark("Token: mint typical root (\(one.bytes.count) B)") { benchmark in
        let claims = f.claims
        for _ in benchmark.scaledIterations {
            blackHole(try CapabilityToken.mint(claims, agentClass: f.orchestrator, issuerKey: f.issuer))
        }
    }

    Benchmark("Token: parse only, 1 block") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try CapabilityToken(bytes: one.bytes)) }
    }

    for (label, token) in [("1 block", one), ("3 blocks", three), ("8 blocks", eight)] {
        Benchmark("Token: verify \(label) (\(token.bytes.count) B): parse + chain + request") { benchmark in
            for _ in benchmark.scaledIterations {
                let verified = try verifier.verifyChain(bytes: token.bytes)
                try verified.checkRequest(f.request, at: f.now, options: options)
                blackHole(verified)
            }
        }
    }

    let supply = ProofSupply(token: one, key: oneKey, request: f.request, at: f.now, count: maxIterations + 200)
    Benchmark("Token: verify 1 block + proof of possession (replay cache, revocation check)") { benchmark in
        let revocation = NoRevocationChecker()
        for _ in benchmark.scaledIterations {
            let proof = supply.next()
            let verified = try verifier.verifyChain(bytes: one.bytes)
            try verified.authorize(
                f.request,
                proof: proof,
                at: f.now,
                options: options,
                replayCache: supply.cache,
                revocation: revocation
            )
            blackHole(verified)
        }
    }

    let cachedSupply = ProofSupply(token: one, key: oneKey, request: f.request, at: f.now, count: maxIterations + 200)
    let cached = try! verifier.verifyChain(one)
    Benchmark("Token: authorize cached VerifiedToken + proof (gatekeeper hit)") { benchmark in
        let revocation = NoRevocationChecker()
        for _ in benchmark.scaledIterations {
            let proof = cachedSupply.next()
            try cached.authorize(
                f.request,
                proof: proof,
                at: f.now,
                options: options,
                replayCache: cachedSupply.cache,
                revocation: revocation
            )
        }
    }

    // Peer: jwt-kit 5.8.0 EdDSA (swift-crypto Curve25519) JWT verify with expiry and audience checks.
    let keys = JWTKeyCollection()
    let jwtBox = JWTBox()
    Benchmark(
        "Token: jwt-kit EdDSA JWT verify (comparable payload)",
        configuration: .init(
            metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
            timeUnits: .nanoseconds,
            warmupIterations: 50,
            maxDuration: .seconds(3),
            maxIterations: maxIterations,
            setup: {
                await keys.add(eddsa: try EdDSA.PrivateKey(curve: .ed25519))
                let payload = ComparablePayload(
                    sub: "spiffe://acme.dev/agent/researcher/7",
                    aud: "api.acme.dev",
                    exp: .init(value: Date().addingTimeInterval(300)),
                    iat: .init(value: Date()),
                    jti: "01fa780e2296fe3b6675eef0e519b123",
                    act: ["read", "list"],
                    res: ["docs/*"],
                    task: "task-42",
                    step: 3,
                    cls: "researcher",
                    cnf: "f4a5304eaf85d63cf4a5304eaf85d63cf4a5304eaf85d63cf4a5304eaf85d63c"
                )
                jwtBox.token = try await keys.sign(payload)
            }
        )
    ) { benchmark in
        let token = jwtBox.token
        for _ in benchmark.scaledIterations {
            blackHole(try await keys.verify(token, as: ComparablePayload.self))
        }
    }
}

/// Holds the signed JWT made in setup.
final class JWTBox: @unchecked Sendable {
    // @unchecked Sendable: written once in the benchmark's setup, before its measured closure reads it.
    var token = ""
}
