// Tokens alone, offline: mint, delegate to a sub-agent's own key, verify the chain, prove possession.
// Run: `swift run --package-path Examples OfflineTokens`.
import Writ

let issuerKey = Ed25519.PrivateKey()
let agentKey = Ed25519.PrivateKey()
let readerKey = Ed25519.PrivateKey()
let readerID = try AgentIdentity("spiffe://acme.example/agent/reader/1")
let planner = try AgentClass(
    name: "planner", defaultTTL: .seconds(60), maximumTTL: .seconds(300), maximumDelegationDepth: 1, mayDelegate: true)
let reader = try AgentClass(name: "reader", defaultTTL: .seconds(30), maximumTTL: .seconds(60))
let now = SystemClock().now()
let claims = TokenClaims(
    subject: try AgentIdentity("spiffe://acme.example/agent/planner/1"), holder: agentKey.publicKey,
    agentClass: "planner", audiences: ["repo"], actions: ["read", "write"], resources: ["repo/writ/*"],
    taskID: "task-42", step: 1, intent: "fix-bug", issuedAt: now, expiresAt: now.advanced(by: .seconds(60)))
let request = TokenRequest(audience: "repo", action: "read", resource: "repo/writ/README.md")
let checker = NoRevocationChecker()               // a service passes its revocation snapshot's checker

// README: tokens
let token = try CapabilityToken.mint(claims, agentClass: planner, issuerKey: issuerKey)
let narrower = try token.delegating(Attenuation(holder: readerKey.publicKey, delegate: readerID, delegateClass: "reader", actions: ["read"]), holderKey: agentKey)
let verifier = TokenVerifier(trustBundle: TrustBundle(trusting: issuerKey.publicKey), agentClasses: [planner, reader])
let verified = try verifier.verifyChain(narrower)
let proof = ProofOfPossession.sign(token: narrower, request: request, holderKey: readerKey, at: SystemClock().now())
try verified.authorize(request, proof: proof, at: SystemClock().now(), replayCache: InMemoryReplayCache(), revocation: checker)
// README: end

// A write is beyond the delegated token, and the delegator's key no longer proves possession.
do {
    let write = TokenRequest(audience: "repo", action: "write", resource: "repo/writ/README.md")
    let writeProof = ProofOfPossession.sign(token: narrower, request: write, holderKey: readerKey, at: SystemClock().now())
    try verified.authorize(write, proof: writeProof, at: SystemClock().now(), replayCache: InMemoryReplayCache(), revocation: checker)
    fatalError("a write was allowed on a read-only delegation")
} catch {
    print("write refused: \(error.code)")
}
print("verified \(narrower.blockCount)-block token \(verified.tokenID) for \(verified.delegates.last?.description ?? "?")")
