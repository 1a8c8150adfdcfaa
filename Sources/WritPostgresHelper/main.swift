// Test support for WritPostgresTests: child processes sharing one PostgreSQL schema (built with the Postgres trait).
//
//   WritPostgresHelper authority <schema>   reads `issue <task> <n>`, `refresh <task> <n>`, `attest <join-token> <n>`
//   WritPostgresHelper gate <schema> <aud>  reads `authorize <token> <proof> <action> <resource>`
//   WritPostgresHelper follow <schema>      reads `wait <n>`: prints when its follower has applied block n
//
// Each prints `ready` once connected, then one line per command. Keys come from the hex seeds in
// WRIT_HELPER_ISSUER_SEED and WRIT_HELPER_REVOCATION_SEED; the server from WRIT_POSTGRES_URL.
#if Postgres
import Foundation
import Writ
import WritCrypto
import WritIdentity
@_spi(Testing) import WritPostgres
import WritRevocation
import WritTokens

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("WritPostgresHelper: \(message)\n".utf8))
    exit(2)
}

func seed(_ name: String) -> Ed25519.PrivateKey {
    guard let hex = ProcessInfo.processInfo.environment[name], let bytes = Hex.decode(hex),
        let key = try? Ed25519.PrivateKey(seed: SecureBytes(bytes))
    else { fail("\(name) must be a 32-byte hex seed") }
    return key
}

func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func errorCode(_ error: any Error) -> String {
    if let error = error as? AuthorityError { return "authority:\(error.code)" }
    return "untyped:\(String(describing: error).prefix(200))"
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else { fail("usage: WritPostgresHelper authority|gate|follow <schema> [audience]") }
let mode = arguments[1]
let configuration: WritPostgresConfiguration
do {
    guard let url = ProcessInfo.processInfo.environment["WRIT_POSTGRES_URL"] else { fail("WRIT_POSTGRES_URL unset") }
    var c = try WritPostgresConfiguration(url: url, schema: arguments[2])
    c.maximumConnections = 4
    configuration = c
} catch {
    fail("\(error)")
}
let service: WritPostgresService
do { service = try WritPostgresService(configuration: configuration, pollInterval: .milliseconds(200)) } catch {
    fail("\(error)")
}
let running = Task { try? await service.run() }
let issuerKey = seed("WRIT_HELPER_ISSUER_SEED")
let revocationKey = seed("WRIT_HELPER_REVOCATION_SEED")

/// The agent classes and entitlements the test's own authority uses too.
let classes = [
    try! AgentClass(name: "canary", defaultTTL: .seconds(60), maximumTTL: .seconds(60), refreshLimit: 100),
    try! AgentClass(name: "limited", defaultTTL: .seconds(60), maximumTTL: .seconds(60), refreshLimit: 2),
]

func authority() async throws -> CredentialAuthority {
    let store = PostgresAuthorityStore(service: service)
    let log = try await AuditLog.open(
        store: InMemoryAuditStore(),
        service: "authority",
        signingKey: Ed25519.PrivateKey(),
        salt: AuditSalt()
    )
    return CredentialAuthority(
        .init(
            issuerKey: issuerKey,
            agentClasses: classes,
            entitlements: EntitlementTable([
                "canary": [Entitlement(audience: "repo", actions: ["read"], resources: ["repo/*"])],
                "limited": [Entitlement(audience: "repo", actions: ["read"], resources: ["repo/*"])],
            ]),
            revocations: RevocationPublisher(
                store: PostgresRevocationStore(service: service),
                signer: revocationKey,
                clock: SystemClock()
            ),
            audit: log,
            store: store,
            attestor: JoinTokenAttestor(clock: SystemClock(), store: store)
        )
    )
}

let step = StepGrant(name: "probe", audience: "repo", actions: ["read"], resources: ["repo/a"])

func runAuthority() async throws {
    let authority = try await authority()
    say("ready")
    while let line = readLine() {
        let words = line.split(separator: " ").map(String.init)
        guard words.count == 3, let count = Int(words[2]) else { fail("bad command '\(line)'") }
        let results = await withTaskGroup(of: String.self) { group in
            for _ in 0..<count {
                group.addTask {
                    do {
                        switch words[0] {
                        case "issue":
                            return "ok \(try await authority.issue(task: words[1], step: step).token.id)"
                        case "refresh":
                            return "ok \(try await authority.refresh(task: words[1], step: "probe").token.id)"
                        case "attest":
                            let join = try JoinToken(text: words[1])
                            _ = try await authority.attest(join.evidence(signingKey: Ed25519.PrivateKey()))
                            return "ok"
                        default: fail("unknown command \(words[0])")
                        }
                    } catch {
                        return "err \(errorCode(error))"
                    }
                }
            }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        say(results.joined(separator: ";"))
    }
}

func runGate(audience: String) async throws {
    let snapshot = RevocationSnapshot(maxStaleness: .seconds(300))
    let follower = try RevocationFeedFollower(
        verifier: "gate-\(ProcessInfo.processInfo.processIdentifier)",
        store: PostgresRevocationStore(service: service),
        trustedKeys: [revocationKey.publicKey],
        snapshot: snapshot,
        clock: SystemClock(),
        configuration: .init(pollInterval: .milliseconds(200))
    )
    _ = try await follower.syncOnce()
    let following = Task { await follower.run() }
    defer { following.cancel() }
    let gatekeeper = Gatekeeper(
        .init(
            audience: audience,
            trustBundle: TrustBundle(trusting: issuerKey.publicKey),
            agentClasses: classes,
            policies: try PolicySet(text: "permit (principal, action, resource);"),
            revocation: snapshot,
            sharedNonces: PostgresNonceStore(service: service),
            audit: try await AuditLog.open(
                store: InMemoryAuditStore(),
                service: audience,
                signingKey: Ed25519.PrivateKey(),
                salt: AuditSalt()
            )
        )
    )
    say("ready")
    while let line = readLine() {
        let words = line.split(separator: " ").map(String.init)
        guard words.count == 5, words[0] == "authorize" else { fail("bad command '\(line)'") }
        let decision = await gatekeeper.authorize(
            Gatekeeper.Request(token: words[1], proof: words[2], action: words[3], resource: words[4])
        )
        switch decision {
        case .allow: say("allow")
        case .deny(let denial): say("deny \(denial.code)")
        case .reauthorize: say("reauthorize")
        }
    }
}

/// A store that never announces: its followers only poll (the LISTEN-less fallback, for the propagation numbers).
struct PollingOnly: RevocationStore {
    let base: PostgresRevocationStore
    func append(
        _ revocations: [RevocationRequest],
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws -> [SignedRevocationEntry] {
        try await base.append(revocations, signer: signer, minimum: minimum)
    }
    func publishHead(
        at time: Timestamp,
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws -> SignedFeedMark {
        try await base.publishHead(at: time, signer: signer, minimum: minimum)
    }
    func page(after sequence: UInt64, limit: Int) async throws -> RevocationFeedPage {
        try await base.page(after: sequence, limit: limit)
    }
    func prune(expiredBefore time: Timestamp, at now: Timestamp, signer: some Signer) async throws -> Int {
        try await base.prune(expiredBefore: time, at: now, signer: signer)
    }
    func announcements() -> AsyncStream<UInt64>? { nil }
}

/// A verifier process: says `applied <n>` as soon as its follower holds block (n, n); `wait <n>` arms it.
func runFollower() async throws {
    let pollMilliseconds = ProcessInfo.processInfo.environment["WRIT_HELPER_POLL_MS"].flatMap { Int64($0) } ?? 1000
    let snapshot = RevocationSnapshot(maxStaleness: .seconds(300))
    let base = PostgresRevocationStore(service: service)
    let store: any RevocationStore =
        ProcessInfo.processInfo.environment["WRIT_HELPER_NO_LISTEN"] == "1" ? PollingOnly(base: base) : base
    let follower = try RevocationFeedFollower(
        verifier: "follower-\(ProcessInfo.processInfo.processIdentifier)",
        store: store,
        trustedKeys: [revocationKey.publicKey],
        snapshot: snapshot,
        clock: SystemClock(),
        configuration: .init(pollInterval: .milliseconds(pollMilliseconds))
    )
    _ = try await follower.syncOnce()
    let following = Task { await follower.run() }
    defer { following.cancel() }
    while !service.isListening { try await Task.sleep(for: .milliseconds(10)) }
    say("ready")
    while let line = readLine() {
        let words = line.split(separator: " ")
        guard words.count == 2, words[0] == "wait", let n = UInt64(words[1]) else { fail("bad command '\(line)'") }
        let id = RevocationID(high: n, low: n)
        while !snapshot.contains(block: id) { try await Task.sleep(for: .microseconds(200)) }
        say("applied \(n)")
    }
}

let done = Task {
    do {
        switch mode {
        case "authority": try await runAuthority()
        case "gate": try await runGate(audience: arguments.count > 3 ? arguments[3] : "repo")
        case "follow": try await runFollower()
        default: fail("unknown mode \(mode)")
        }
    } catch {
        fail("\(String(reflecting: error))")
    }
}
await done.value
running.cancel()
#endif
