import Writ
import WritAudit
import WritCrypto
import WritIdentity
import WritPolicy
import WritRevocation
import WritTokens

/// The seed inputs of every harness, by target name: valid inputs built from the fixtures, plus known crash
/// inputs kept as regressions. `fuzz-seeds` writes them to `Seeds/<target>/<name>`.
public enum Seeds {
    /// Seeds by target, each a file name and its bytes.
    public static var all: [String: [(name: String, bytes: [UInt8])]] {
        let names = ["live", "expired", "delegated"]
        let tokens = zip(names, Fixture.tokens).map { (name: $0, token: $1.token, key: $1.holderKey) }
        let proofs = tokens.map { (name: "\($0.name)-read", proof: Fixture.proof(for: $0.token, key: $0.key)) }
        let crash = (name: "crash-int64-min-timestamp", bytes: Fixture.int64MinProof)
        let crashText = ProofOfPossession.textPrefix + Base64URL.encode(Fixture.int64MinProof)
        return [
            "FuzzTokenBytes": tokens.map { ($0.name, $0.token.bytes) },
            "FuzzTokenText": tokens.map { ($0.name, Array($0.token.text.utf8)) },
            "FuzzProofBytes": [(proofs[0].name, proofs[0].proof.bytes), crash],
            "FuzzProofText": [(proofs[0].name, Array(proofs[0].proof.text.utf8)), (crash.name, Array(crashText.utf8))],
            "FuzzProofVerify": proofs.map { ($0.name, $0.proof.bytes) } + [crash],
            "FuzzGatekeeper": gatekeeperSeeds(tokens.map { ($0.name, $0.token, $0.key) }),
            "FuzzCedarPolicy": [
                ("language.cedar", Array(CedarFixture.policies.utf8)),
                ("gatekeeper.cedar", Array(Deployment.policyText.utf8)),
            ],
            "FuzzCedarJSON": [
                ("entities.json", Array(CedarFixture.entitiesJSON.utf8)),
                ("request.json", Array(CedarFixture.requestJSON.utf8)),
            ],
            "FuzzAuditEntry": auditEntries + [("regression-equivalent-keys", equivalentKeysEntry)],
            "FuzzHTTPRequest": httpRequestSeeds(token: tokens[0].token, proof: proofs[0].proof),
            "FuzzRevocationRecord": [
                ("entry-1", FeedFixture.entries[0].bytes), ("entry-2", FeedFixture.entries[1].bytes),
                ("entry-3", FeedFixture.entries[2].bytes), ("head", FeedFixture.head.bytes),
            ],
        ]
    }

    /// Requests as the HTTP binding receives them (request line, then header block): a well-formed one, one with the
    /// token in the wrong header, and one with a bare key credential and two proofs.
    private static func httpRequestSeeds(
        token: CapabilityToken,
        proof: ProofOfPossession
    ) -> [(name: String, bytes: [UInt8])] {
        func request(_ line: String, _ headers: [String]) -> [UInt8] {
            Harness.join(Array(line.utf8), Array(headers.joined(separator: "\n").utf8))
        }
        return [
            (
                "presented",
                request(
                    "GET /repo/writ/a?page=2",
                    ["Host: 127.0.0.1:8080", "Authorization: Writ \(token.text)", "Writ-Proof: \(proof.text)"]
                )
            ),
            ("token-in-wrong-header", request("POST /repo/writ/a", ["X-Token: \(token.text)"])),
            (
                "key-two-proofs",
                request(
                    "DELETE /repo/writ/b",
                    [
                        "authorization: writ writkey1_"
                            + Base64URL.encode(Fixture.holderKey.publicKey.rawRepresentation),
                        "writ-proof: \(proof.text)", "writ-proof: \(proof.text)",
                    ]
                )
            ),
        ]
    }

    /// Selector 0 (read) with each token and its proof, and the live token merging with and without approval.
    private static func gatekeeperSeeds(
        _ tokens: [(name: String, token: CapabilityToken, key: Ed25519.PrivateKey)]
    ) -> [(name: String, bytes: [UInt8])] {
        var seeds = tokens.map { t in
            ("\(t.name)-read", [0] + Harness.join(t.token.bytes, Fixture.proof(for: t.token, key: t.key).bytes))
        }
        var merge = Fixture.request
        merge.action = "merge"
        let proof = Fixture.proof(for: Fixture.liveToken, key: Fixture.holderKey, request: merge).bytes
        seeds.append(("live-merge", [2] + Harness.join(Fixture.liveToken.bytes, proof)))
        seeds.append(("live-merge-approved", [3] + Harness.join(Fixture.liveToken.bytes, proof)))
        return seeds
    }

    /// FuzzAuditEntry's finding: attribute keys "e\u{301}" and "é" (different bytes, equal Swift strings) were
    /// merged on decode, so the entry no longer encoded to the bytes its leaf covers. Now refused.
    private static let equivalentKeysEntry: [UInt8] = Array(
        Hex.decode(
            "0100000000000000000000000000000000000000000000000000000000000000000000000000000000040000019b76daa8"
                + "000100047265706f0e0006000365cc81610e00050002c3a962"
        )!
    )

    /// A gatekeeper's decision entry with every field, and an authority's minimal entry.
    private static var auditEntries: [(name: String, bytes: [UInt8])] {
        let used = AuditEvent(
            .used,
            time: Fixture.now,
            agent: "spiffe://fuzz.test/agent/supervisor/1",
            task: "task-1",
            step: "1",
            tokenID: Fixture.liveToken.id.description,
            parentTokenID: Fixture.expiredToken.id.description,
            revocationID: Fixture.liveToken.revocationIDs[0],
            audience: "repo",
            action: "read",
            resource: "repo/writ/a",
            decision: .allow,
            reason: "permitted by work-within-intent",
            traceID: "trace-1",
            attributes: ["class": "supervisor", "depth": "1"],
            sensitiveAttributes: ["ip": SensitiveValue(digest: [UInt8](repeating: 0xab, count: 32))]
        )
        var revoked = AuditEvent(.revoked, time: Fixture.now.advanced(by: .milliseconds(1)))
        revoked.service = "authority"
        var entries: [(name: String, bytes: [UInt8])] = []
        // Fixed, valid events.
        var service = used
        service.service = "repo"
        let first = try! AuditEntry(index: 0, previousHash: AuditEntry.genesisHash, event: service).encoded()
        entries.append(("used-allow", first))
        let second = try! AuditEntry(index: 1, previousHash: AuditEntry.leafHash(of: first), event: revoked).encoded()
        entries.append(("revoked", second))
        return entries
    }
}
