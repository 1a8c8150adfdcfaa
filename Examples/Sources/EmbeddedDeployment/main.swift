// An authority, one agent with a sub-agent, and one service, in one process. In production each is its own
// process; the calls are the same. Run: `swift run --package-path Examples EmbeddedDeployment`.
import Writ

let clock = SystemClock()
let issuerKey = Ed25519.PrivateKey()
let revocationKey = Ed25519.PrivateKey()
let planner = try AgentClass(
    name: "planner", defaultTTL: .seconds(60), maximumTTL: .seconds(300), maximumDelegationDepth: 1,
    mayDelegate: true, refreshLimit: 3)
let reader = try AgentClass(name: "reader", defaultTTL: .seconds(30), maximumTTL: .seconds(60))
let classes = [planner, reader]
let attestor = JoinTokenAttestor(clock: clock)
let auditLog = try await AuditLog.open(
    store: InMemoryAuditStore(), service: "authority", signingKey: Ed25519.PrivateKey(), salt: AuditSalt())
let agentKey = Ed25519.PrivateKey()
let agentID = try AgentIdentity("spiffe://acme.example/agent/planner/1")
let joinToken = try await attestor.issueJoinToken(for: agentID, agentClass: "planner", ttl: .seconds(60))

// README: authority
let revocations = RevocationPublisher(
    store: InMemoryRevocationStore(), signer: revocationKey, clock: clock, watermarks: InMemoryWatermarkStore())
let authority = CredentialAuthority(.init(
    issuerKey: issuerKey, agentClasses: classes,
    entitlements: EntitlementTable(["planner": [Entitlement(audience: "repo", actions: ["read", "write"], resources: ["repo/*"])]]),
    revocations: revocations, audit: auditLog, clock: clock, attestor: attestor))
let document = try await authority.attest(joinToken.evidence(signingKey: agentKey))
let task = try await authority.openTask(for: document.identity, objective: "Fix bug #42", intent: "fix-bug", deadline: .seconds(600))
// README: end

// The service: its own key for watermark reports, a snapshot that follows the signed feed, its own audit log.
let serviceKey = Ed25519.PrivateKey()
revocations.register(verifier: "repo", key: serviceKey.publicKey)
let policyText = """
    permit (principal, action in [Action::"read", Action::"write"], resource)
    when { context.intent == "fix-bug" };
    """
// README: follower
let snapshot = RevocationSnapshot(maxStaleness: .seconds(10))
let follower = try RevocationFeedFollower(
    verifier: "repo", store: revocations.store, trustedKeys: [revocationKey.publicKey], snapshot: snapshot,
    clock: clock, reportSigner: serviceKey, watermarks: revocations.watermarks)
try await revocations.publishHead()               // the authority runs `revocations.run()`: a signed head every second
try await follower.syncOnce()                     // the service runs `follower.run()`
// README: end
let serviceLog = try await AuditLog.open(
    store: InMemoryAuditStore(), service: "repo", signingKey: Ed25519.PrivateKey(), salt: AuditSalt())
let readerKey = Ed25519.PrivateKey()
let readerID = try AgentIdentity("spiffe://acme.example/agent/reader/1")
try await authority.register(readerID, publicKey: readerKey.publicKey, agentClass: "reader", supervisor: agentID)

// README: agent
let provider = CredentialProvider(identity: document.identity, key: agentKey, source: authority)
try await provider.begin(task: task, step: StepGrant(name: "read", audience: "repo", actions: ["read"], resources: ["repo/writ/*"], duration: .seconds(30)))
let credential = try await provider.credential(audience: "repo", action: "read", resource: "repo/writ/README.md")
// send credential.token and credential.proof with the request
let subToken = try await provider.delegate(to: readerID, publicKey: readerKey.publicKey, agentClass: "reader", actions: ["read"], resources: ["repo/writ/src/*"])
// README: end

func serve(_ granted: GrantedRequest) { print("allowed: \(granted.agent) for task \(granted.taskID ?? "-")") }
func refuse(_ code: GateDenial.Code) { print("denied: \(code)") }
func askForApproval(_ reason: String) { print("re-authorise first: \(reason)") }
let token = credential.token
let proof = credential.proof

// README: service
let gatekeeper = Gatekeeper(.init(
    audience: "repo", trustBundle: TrustBundle(trusting: authority.issuerPublicKey), agentClasses: classes,
    policies: try PolicySet(text: policyText), revocation: snapshot, audit: serviceLog))
switch await gatekeeper.authorize(.init(token: token, proof: proof, action: "read", resource: "repo/writ/README.md")) {
case .allow(let granted): serve(granted)
case .deny(let denial): refuse(denial.code)            // typed: revoked, replayed, token-rejected, policy, …
case .reauthorize(let reason, _): askForApproval(reason)
}
// README: end

// The same proof again is a replay.
let replay = await gatekeeper.authorize(.init(token: token, proof: proof, action: "read", resource: "repo/writ/README.md"))
guard replay.denialCode == .replayed else { fatalError("a replayed proof was not denied: \(replay)") }
print("delegated to the reader: \(subToken.blockCount) blocks")

// README: completion
try await authority.complete(task: task)          // revokes everything the task held
try await follower.syncOnce()
let proofOfRevocation = try await revocations.revocationProof(for: revocations.tip?.sequence ?? 0)
print(proofOfRevocation)                          // revocation #… applied by all 1 verifiers
// README: end

let after = try await provider.credential(audience: "repo", action: "read", resource: "repo/writ/README.md")
let denied = await gatekeeper.authorize(.init(token: after.token, proof: after.proof, action: "read", resource: "repo/writ/README.md"))
guard denied.denialCode == .revoked, proofOfRevocation.isComplete else {
    fatalError("after completion: \(denied), \(proofOfRevocation)")
}
print("after completion the token is denied: \(denied.denialCode?.description ?? "?")")
