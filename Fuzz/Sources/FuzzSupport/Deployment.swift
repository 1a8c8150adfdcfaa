public import Writ
import WritAudit
import WritCrypto
import WritIdentity
import WritPolicy
import WritRevocation
import WritTokens

/// A one-service deployment ("repo") for the gatekeeper harness, built around ``Fixture``.
public enum Deployment {
    /// The service's policies: work within the intent `fix-bug`, a checkpoint on merges, no deep writes.
    public static let policyText = """
        @id("work-within-intent")
        permit (principal, action in [Action::"read", Action::"write", Action::"merge"], resource)
        when { context.intent == "fix-bug" };

        @checkpoint("merging needs a human's approval")
        forbid (principal, action == Action::"merge", resource)
        unless { context.approvals.contains("merge") };

        @id("no-deep-writes")
        forbid (principal, action == Action::"write", resource)
        when { context.token.delegationDepth > 1 };
        """

    static let policies = try! PolicySet(text: policyText)

    /// The request an input's first byte selects (modulo the count).
    public static func request(_ selector: UInt8, token: [UInt8], proof: [UInt8]) -> Gatekeeper.Request {
        let chosen = requests[Int(selector) % requests.count]
        return Gatekeeper.Request(
            token: TokenFormat.textPrefix + Base64URL.encode(token),
            proof: ProofOfPossession.textPrefix + Base64URL.encode(proof),
            action: chosen.action,
            resource: chosen.resource,
            approvals: chosen.approved ? ["merge"] : []
        )
    }

    /// The requests an input can make: action and resource, and whether the merge checkpoint is approved.
    static let requests: [(action: String, resource: String, approved: Bool)] = [
        ("read", "repo/writ/a", false), ("write", "repo/writ/a", false), ("merge", "repo/writ/a", false),
        ("merge", "repo/writ/a", true),
    ]

    /// A revocation snapshot with nothing revoked, fresh at ``Fixture/now``.
    static let revocation: RevocationSnapshot = {
        let snapshot = RevocationSnapshot(maxStaleness: .seconds(86_400))
        snapshot.apply([], heardAt: Fixture.now)
        return snapshot
    }()

    /// Decides one request with a new gatekeeper, so nothing carries over from one input to the next (replay
    /// cache, verified-token cache, anomaly detectors, quarantine): a crash input reproduces on its own.
    ///
    /// Waits for the asynchronous decision (libFuzzer calls harnesses synchronously).
    public static func authorize(_ request: Gatekeeper.Request) -> GateDecision {
        let gatekeeper = Gatekeeper(
            .init(
                audience: "repo",
                trustBundle: TrustBundle(trusting: Fixture.issuerKey.publicKey),
                agentClasses: Fixture.classes,
                policies: policies,
                revocation: revocation,
                audit: DiscardingAuditSink(),
                clock: Fixture.clock,
                verifiedTokenCacheCapacity: 0
            )
        )
        return Harness.wait { await gatekeeper.authorize(request) }
    }
}

/// An audit sink that encodes each event as an audit log would (stamping the service), then forgets it.
struct DiscardingAuditSink: AuditSink {
    func record(_ event: AuditEvent) async throws -> UInt64 {
        var stamped = event
        stamped.service = "repo"
        _ = try AuditEntry(index: 0, previousHash: AuditEntry.genesisHash, event: stamped).encoded()
        return 0
    }
}
