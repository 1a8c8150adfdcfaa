import WritCrypto
import WritIdentity

@testable import WritTokens

/// Builds the test vectors deterministically (fixed seeds, ids, times and nonces; Ed25519 is deterministic),
/// so `VectorTests` can check that the committed file is exactly what this code produces.
struct VectorGenerator {
    static func key(_ byte: UInt8) -> Ed25519.PrivateKey {
        try! Ed25519.PrivateKey(seed: SecureBytes([UInt8](repeating: byte, count: 32)))
    }

    let issuer = key(0x01)
    let agent = key(0x02)
    let sub1 = key(0x03)
    let sub2 = key(0x04)
    let rotatedIssuer = key(0x0a)
    let unknownIssuer = key(0x0b)
    let now = Timestamp(secondsSinceEpoch: 1_767_225_600)  // 2026-01-01T00:00:00Z
    var issued: Timestamp { now.advanced(by: .seconds(-10)) }
    let researcher = try! AgentClass(
        name: "researcher",
        defaultTTL: .seconds(300),
        maximumTTL: .seconds(900),
        maximumDelegationDepth: 3,
        mayDelegate: true,
        refreshLimit: 3
    )
    let helper = try! AgentClass(name: "helper", defaultTTL: .seconds(60), maximumTTL: .seconds(300))
    let orchestrator = try! AgentClass(
        name: "orchestrator",
        defaultTTL: .seconds(300),
        maximumTTL: .seconds(3600),
        maximumDelegationDepth: 15,
        mayDelegate: true
    )
    let subject = try! AgentIdentity("spiffe://acme.dev/agent/researcher/7")
    let delegate = try! AgentIdentity("spiffe://acme.dev/agent/helper/1")
    let request = TokenRequest(audience: "api.acme.dev", action: "read", resource: "docs/public/a.txt")

    var classes: [AgentClass] { [researcher, helper, orchestrator] }

    func claims(_ id: UInt64, class agentClass: String = "researcher") -> TokenClaims {
        TokenClaims(
            tokenID: TokenID(high: 0x5772_6974_0000_0000, low: id),
            subject: subject,
            holder: agent.publicKey,
            agentClass: agentClass,
            audiences: ["api.acme.dev"],
            actions: ["read", "list"],
            resources: ["docs/*"],
            issuedAt: issued,
            expiresAt: issued.advanced(by: .seconds(300))
        )
    }

    func mint(
        _ c: TokenClaims,
        by key: Ed25519.PrivateKey? = nil,
        class agentClass: AgentClass? = nil
    ) -> CapabilityToken {
        try! CapabilityToken.mint(c, agentClass: agentClass ?? researcher, issuerKey: key ?? issuer)
    }

    func proof(
        _ token: CapabilityToken,
        key: Ed25519.PrivateKey,
        request: TokenRequest? = nil,
        at: Timestamp? = nil,
        nonce: UInt64 = 1
    ) -> String {
        ProofOfPossession.sign(
            token: token,
            request: request ?? self.request,
            holderKey: key,
            at: at ?? now,
            nonce: ReplayNonce(high: 0x6e6f_6e63_6500_0000, low: nonce)
        ).text
    }

    func vectorRequest(_ r: TokenRequest) -> VectorFile.Request {
        VectorFile.Request(audience: r.audience, action: r.action, resource: r.resource, attributes: r.attributes)
    }

    func valid(
        _ name: String,
        _ description: String,
        _ token: CapabilityToken,
        request: TokenRequest? = nil,
        proofKey: Ed25519.PrivateKey? = nil
    ) -> VectorFile.Case {
        VectorFile.Case(
            name: name,
            description: description,
            tokenHex: Hex.encode(token.bytes),
            text: token.text,
            request: request.map(vectorRequest),
            proof: request.map { proof(token, key: proofKey ?? agent, request: $0) },
            expect: "valid",
            digest: token.digest.description,
            revocationIDs: token.revocationIDs.map(\.description),
            delegationDepth: token.delegations.count
        )
    }

    func rejected(
        _ name: String,
        _ description: String,
        _ bytes: [UInt8],
        _ code: TokenError.Code,
        stage: String
    ) -> VectorFile.Case {
        VectorFile.Case(
            name: name,
            description: description,
            tokenHex: Hex.encode(bytes),
            expect: code.description,
            stage: stage
        )
    }

    func rejectedRequest(
        _ name: String,
        _ description: String,
        _ token: CapabilityToken,
        _ code: TokenError.Code,
        request: TokenRequest? = nil,
        proof: String? = nil,
        now: Timestamp? = nil,
        twice: Bool? = nil
    ) -> VectorFile.Case {
        let r = request ?? self.request
        return VectorFile.Case(
            name: name,
            description: description,
            tokenHex: Hex.encode(token.bytes),
            now: now?.millisecondsSinceEpoch,
            request: vectorRequest(r),
            proof: proof ?? self.proof(token, key: agent, request: r),
            presentTwice: twice,
            expect: code.description,
            stage: "request"
        )
    }

    func rootBytes(
        _ c: TokenClaims,
        mutate: (inout [UInt8]) -> Void = { _ in },
        version: UInt8 = 1,
        by key: Ed25519.PrivateKey? = nil
    ) -> [UInt8] {
        var body = Craft.rootBody(c, issuerKeyID: (key ?? issuer).publicKey.keyID)
        mutate(&body)
        return Craft.root(body: body, issuer: key ?? issuer, version: version)
    }

    func chain(_ root: CapabilityToken, depth: Int, first: Ed25519.PrivateKey) -> CapabilityToken {
        var token = root
        var key = first
        for i in 0..<depth {
            let next = VectorGenerator.key(0x20 + UInt8(i))
            token = try! token.delegating(Attenuation(holder: next.publicKey), holderKey: key)
            key = next
        }
        return token
    }

    func file() -> VectorFile {
        var cases: [VectorFile.Case] = []
        let base = mint(claims(1))
        var full = claims(2)
        full.taskID = "task-42"
        full.step = 3
        full.intent = "summarise Q3 reports"
        full.audiences = ["api.acme.dev", "files.acme.dev"]
        full.actions = ["read", "list", "write"]
        full.resources = ["docs/*", "reports/q3.pdf"]
        full.caveats = [
            .requestAttribute(name: "method", value: "GET"), .maximumProofAge(seconds: 30), .maximumDelegationDepth(2),
        ]
        let fullToken = mint(full)
        let two = try! base.delegating(
            Attenuation(
                holder: sub1.publicKey,
                delegate: delegate,
                delegateClass: "helper",
                actions: ["read"],
                resources: ["docs/public/*"],
                expiresAt: issued.advanced(by: .seconds(120))
            ),
            holderKey: agent
        )
        let three = try! base.delegating(Attenuation(holder: sub1.publicKey, actions: ["read"]), holderKey: agent)
            .delegating(Attenuation(holder: sub2.publicKey, resources: ["docs/public/*"]), holderKey: sub1)
        let deep = chain(mint(claims(3, class: "orchestrator"), class: orchestrator), depth: 15, first: agent)

        // Valid tokens.
        cases.append(valid("root-minimal", "one block, no optional fields", base))
        cases.append(valid("root-full", "task, step, intent and three caveats", fullToken))
        cases.append(
            valid(
                "two-blocks",
                "delegation naming the delegate, its class, narrower actions, resources and expiry",
                two
            )
        )
        cases.append(valid("three-blocks", "two successive delegations", three))
        cases.append(valid("sixteen-blocks", "the block cap: 15 delegations under a class allowing depth 15", deep))
        var serviceClaims = claims(12)
        serviceClaims.subject = try! AgentIdentity("spiffe://acme.dev/svc/indexer")
        cases.append(
            valid(
                "class-long-form",
                "a subject outside /agent/<class>/ carries its class name in full",
                mint(serviceClaims)
            )
        )
        cases.append(valid("root-with-request", "a proven request within scope", base, request: request))
        cases.append(
            valid(
                "two-blocks-with-request",
                "the sub-agent proves the delegated token",
                two,
                request: request,
                proofKey: sub1
            )
        )
        var attributed = request
        attributed.attributes = ["method": "GET"]
        cases.append(
            valid("caveat-attribute-met", "request attribute caveat satisfied", fullToken, request: attributed)
        )

        // Format rejections (parse stage). Where the block is signed, the signature is valid.
        cases.append(rejected("empty", "no bytes", [], .malformed, stage: "parse"))
        cases.append(
            rejected(
                "version-2",
                "unknown format version",
                rootBytes(claims(4), version: 2),
                .unsupportedVersion,
                stage: "parse"
            )
        )
        cases.append(
            rejected(
                "version-0",
                "unknown format version",
                rootBytes(claims(4), version: 0),
                .unsupportedVersion,
                stage: "parse"
            )
        )
        cases.append(
            rejected(
                "root-kind-1",
                "block 0 with the delegation kind",
                rootBytes(claims(4)) { $0[0] = 0x01 },
                .unknownBlockKind,
                stage: "parse"
            )
        )
        cases.append(
            rejected(
                "block-kind-2",
                "a validly signed block of unknown kind 0x02",
                Craft.append(body: [0x02, 0x00] + sub1.publicKey.rawRepresentation, to: base.bytes, key: agent),
                .unknownBlockKind,
                stage: "parse"
            )
        )
        cases.append(
            rejected(
                "root-reserved-flag",
                "reserved root flag bit 7 set",
                rootBytes(claims(4)) { $0[1] |= 0x80 },
                .malformed,
                stage: "parse"
            )
        )
        cases.append(
            rejected(
                "unknown-caveat-kind",
                "caveat kind 0x7f",
                rootBytes(claims(4)) {
                    $0.removeLast()
                    $0 += [1, 0x7f, 0x00]
                },
                .unknownCaveatKind,
                stage: "parse"
            )
        )
        cases.append(
            rejected(
                "too-many-caveats",
                "nine caveats in one block",
                rootBytes(claims(4)) {
                    $0.removeLast()
                    $0 += [9] + Array([[UInt8]](repeating: [0x01, 0x03], count: 9).joined())
                },
                .tooManyCaveats,
                stage: "parse"
            )
        )
        var noAudience = claims(4)
        noAudience.audiences = []
        cases.append(
            rejected("empty-audience-list", "audience count 0", rootBytes(noAudience), .malformed, stage: "parse")
        )
        var duplicate = claims(4)
        duplicate.actions = ["read", "read"]
        cases.append(
            rejected("duplicate-action", "the same action twice", rootBytes(duplicate), .malformed, stage: "parse")
        )
        var star = claims(4)
        star.resources = [ResourcePattern(trusted: "docs/*/x")]
        cases.append(
            rejected(
                "inner-wildcard",
                "'*' before the end of a resource pattern",
                rootBytes(star),
                .malformed,
                stage: "parse"
            )
        )
        var wildAction = claims(4)
        wildAction.actions = ["*"]
        cases.append(
            rejected(
                "wildcard-action",
                "actions are exact names, '*' is not allowed",
                rootBytes(wildAction),
                .malformed,
                stage: "parse"
            )
        )
        cases.append(
            rejected(
                "uppercase-trust-domain",
                "subject 'spiffe://Acme.dev/…'",
                rootBytes(claims(4)) { body in
                    let needle = Array("acme.dev/agent".utf8)
                    if let i = (0...(body.count - needle.count)).first(where: {
                        Array(body[$0..<$0 + needle.count]) == needle
                    }) {
                        body[i] = UInt8(ascii: "A")
                    }
                },
                .malformed,
                stage: "parse"
            )
        )
        var stepped = claims(4)
        stepped.step = 3
        cases.append(
            rejected(
                "non-minimal-varint",
                "step 3 encoded as 0x83 0x00",
                rootBytes(stepped) { body in
                    body.removeLast(2)
                    body += [0x83, 0x00, 0x00]
                },
                .malformed,
                stage: "parse"
            )
        )
        var zero = claims(4)
        zero.expiresAt = zero.notBefore
        cases.append(
            rejected("zero-lifetime", "expiry equal to not-before", rootBytes(zero), .malformed, stage: "parse")
        )
        cases.append(
            rejected(
                "class-long-form",
                "class spelled out although the subject's /agent/<class>/ names it (non-canonical)",
                rootBytes(claims(4)) { body in
                    let subjectBytes = Array("acme.dev/agent/researcher/7".utf8)
                    if let i = (0...(body.count - subjectBytes.count)).first(where: {
                        Array(body[$0..<$0 + subjectBytes.count]) == subjectBytes
                    }) {
                        let at = i + subjectBytes.count
                        body.replaceSubrange(at..<at + 1, with: [10] + Array("researcher".utf8))
                    }
                },
                .malformed,
                stage: "parse"
            )
        )
        var service = claims(4)
        service.subject = try! AgentIdentity("spiffe://acme.dev/svc/indexer")
        cases.append(
            rejected(
                "class-short-form-without-agent-path",
                "empty class field under a subject that names no class",
                rootBytes(service) { body in
                    let subjectBytes = Array("acme.dev/svc/indexer".utf8)
                    if let i = (0...(body.count - subjectBytes.count)).first(where: {
                        Array(body[$0..<$0 + subjectBytes.count]) == subjectBytes
                    }) {
                        let at = i + subjectBytes.count
                        body.replaceSubrange(at..<at + 11, with: [0])
                    }
                },
                .malformed,
                stage: "parse"
            )
        )
        cases.append(
            rejected(
                "truncated",
                "last byte of the signature missing",
                Array(base.bytes.dropLast()),
                .malformed,
                stage: "parse"
            )
        )
        cases.append(
            rejected(
                "trailing-zero",
                "one 0x00 byte after the last block (read as a second issuer block)",
                base.bytes + [0x00],
                .unknownBlockKind,
                stage: "parse"
            )
        )
        cases.append(
            rejected(
                "trailing-partial-block",
                "a delegation kind byte with nothing after it",
                base.bytes + [0x01],
                .malformed,
                stage: "parse"
            )
        )
        cases.append(
            rejected(
                "empty-caveat-list",
                "delegation caveat flag set with count 0",
                Craft.append(
                    body: [0x01, 0x80] + sub1.publicKey.rawRepresentation + [0x00],
                    to: base.bytes,
                    key: agent
                ),
                .malformed,
                stage: "parse"
            )
        )
        let seventeen = Craft.delegate(
            deep,
            Attenuation(holder: VectorGenerator.key(0x40).publicKey),
            key: VectorGenerator.key(0x20 + 14)
        )
        cases.append(
            rejected("seventeen-blocks", "one block over the cap of 16", seventeen, .tooManyBlocks, stage: "parse")
        )
        cases.append(
            rejected("too-large", "8193 bytes", [1] + [UInt8](repeating: 0, count: 8192), .tooLarge, stage: "parse")
        )
        cases.append(
            VectorFile.Case(
                name: "text-wrong-prefix",
                description: "'writ2_' prefix",
                text: "writ2_" + base.text.dropFirst(6),
                expect: TokenError.Code.invalidText.description,
                stage: "parse"
            )
        )
        cases.append(
            VectorFile.Case(
                name: "text-padding",
                description: "base64 with '=' padding",
                text: base.text + "=",
                expect: TokenError.Code.invalidText.description,
                stage: "parse"
            )
        )
        cases.append(
            VectorFile.Case(
                name: "text-standard-alphabet",
                description: "'+' from the standard alphabet",
                text: String(base.text.prefix(10)) + "+" + base.text.dropFirst(11),
                expect: TokenError.Code.invalidText.description,
                stage: "parse"
            )
        )

        // Chain rejections: signatures, linkage, narrowing, classes, depth.
        cases.append(
            rejected(
                "unknown-issuer",
                "signed by a key not in the bundle",
                mint(claims(5), by: unknownIssuer).bytes,
                .unknownIssuerKey,
                stage: "chain"
            )
        )
        var badSignature = base.bytes
        badSignature[badSignature.count - 1] ^= 0x01
        cases.append(
            rejected(
                "root-signature-flipped",
                "last signature bit flipped",
                badSignature,
                .invalidSignature,
                stage: "chain"
            )
        )
        var badClaim = base.bytes
        badClaim[base.spans[0].signatureStart - 2] ^= 0x01
        cases.append(
            rejected(
                "root-body-flipped",
                "a resource byte changed after signing",
                badClaim,
                .invalidSignature,
                stage: "chain"
            )
        )
        cases.append(
            rejected(
                "delegation-wrong-signer",
                "block 1 signed by a key that is not the holder",
                Craft.delegate(base, Attenuation(holder: sub2.publicKey), key: sub1),
                .invalidSignature,
                stage: "chain"
            )
        )
        let s = three.spans
        cases.append(
            rejected(
                "blocks-reordered",
                "blocks 1 and 2 swapped",
                Array(
                    three.bytes[0..<s[0].end] + three.bytes[s[2].start..<s[2].end] + three.bytes[s[1].start..<s[1].end]
                ),
                .invalidSignature,
                stage: "chain"
            )
        )
        cases.append(
            rejected(
                "block-dropped",
                "block 1 removed from a three-block token",
                Array(three.bytes[0..<s[0].end] + three.bytes[s[2].start..<s[2].end]),
                .invalidSignature,
                stage: "chain"
            )
        )
        let widenings: [(String, String, Attenuation)] = [
            (
                "widen-audience", "block 1 adds an audience",
                Attenuation(holder: sub1.publicKey, audiences: ["api.acme.dev", "evil.example"])
            ),
            (
                "widen-action", "block 1 adds the action 'delete'",
                Attenuation(holder: sub1.publicKey, actions: ["delete"])
            ),
            (
                "widen-resource", "block 1 asks for '*' under 'docs/*'",
                Attenuation(holder: sub1.publicKey, resources: ["*"])
            ),
            (
                "widen-expiry", "block 1 extends the expiry",
                Attenuation(holder: sub1.publicKey, expiresAt: issued.advanced(by: .seconds(600)))
            ),
        ]
        for (name, description, a) in widenings {
            cases.append(
                rejected(
                    name,
                    description + " (validly signed)",
                    Craft.delegate(base, a, key: agent),
                    .wideningAttempt,
                    stage: "chain"
                )
            )
        }
        var later = claims(6)
        later.notBefore = issued.advanced(by: .seconds(5))
        cases.append(
            rejected(
                "widen-not-before",
                "block 1 moves not-before earlier (validly signed)",
                Craft.delegate(mint(later), Attenuation(holder: sub1.publicKey, notBefore: issued), key: agent),
                .wideningAttempt,
                stage: "chain"
            )
        )
        cases.append(
            rejected(
                "holder-key-reused",
                "block 1 names the current holder again (no own key)",
                Craft.delegate(base, Attenuation(holder: agent.publicKey, actions: ["read"]), key: agent),
                .holderKeyReused,
                stage: "chain"
            )
        )
        cases.append(
            rejected(
                "unknown-class",
                "class 'intruder' is not known",
                rootBytes(claims(7, class: "intruder")),
                .unknownAgentClass,
                stage: "chain"
            )
        )
        var long = claims(8)
        long.expiresAt = issued.advanced(by: .seconds(901))
        cases.append(
            rejected(
                "lifetime-over-class",
                "901 s under a 900 s class maximum",
                rootBytes(long),
                .lifetimeExceedsClass,
                stage: "chain"
            )
        )
        let helperRoot = mint(claims(9, class: "helper"), class: helper)
        cases.append(
            rejected(
                "class-may-not-delegate",
                "a 'helper' token delegated",
                try! helperRoot.delegating(Attenuation(holder: sub1.publicKey), holderKey: agent).bytes,
                .delegationNotAllowed,
                stage: "chain"
            )
        )
        cases.append(
            rejected(
                "depth-over-class",
                "four delegations under a class allowing three",
                chain(base, depth: 4, first: agent).bytes,
                .delegationTooDeep,
                stage: "chain"
            )
        )
        cases.append(
            rejected(
                "depth-over-caveat",
                "three delegations under a depth-2 caveat",
                chain(fullToken, depth: 3, first: agent).bytes,
                .delegationTooDeep,
                stage: "chain"
            )
        )
        cases.append(
            rejected(
                "delegate-class-may-not-delegate",
                "the 'helper' delegate delegates again",
                try! two.delegating(Attenuation(holder: sub2.publicKey), holderKey: sub1).bytes,
                .delegationNotAllowed,
                stage: "chain"
            )
        )
        cases.append(
            rejected(
                "unknown-delegate-class",
                "block 1 names class 'intruder'",
                Craft.delegate(base, Attenuation(holder: sub1.publicKey, delegateClass: "intruder"), key: agent),
                .unknownAgentClass,
                stage: "chain"
            )
        )

        // Request rejections.
        cases.append(
            rejectedRequest(
                "expired",
                "presented at expiry + 31 s (skew 30 s)",
                base,
                .expired,
                proof: proof(base, key: agent, at: base.root.claims.expiresAt.advanced(by: .seconds(31))),
                now: base.root.claims.expiresAt.advanced(by: .seconds(31))
            )
        )
        var future = claims(10)
        future.notBefore = now.advanced(by: .seconds(60))
        cases.append(rejectedRequest("not-yet-valid", "not-before 60 s ahead, skew 30 s", mint(future), .notYetValid))
        cases.append(
            rejectedRequest(
                "wrong-audience",
                "audience 'evil.example'",
                base,
                .audienceNotAllowed,
                request: TokenRequest(audience: "evil.example", action: "read", resource: "docs/a")
            )
        )
        cases.append(
            rejectedRequest(
                "wrong-action",
                "action 'write'",
                base,
                .actionNotAllowed,
                request: TokenRequest(audience: "api.acme.dev", action: "write", resource: "docs/a")
            )
        )
        cases.append(
            rejectedRequest(
                "wrong-resource",
                "resource outside 'docs/*'",
                base,
                .resourceNotAllowed,
                request: TokenRequest(audience: "api.acme.dev", action: "read", resource: "secrets/a")
            )
        )
        cases.append(
            rejectedRequest(
                "wrong-holder",
                "proof signed by the delegator after delegation",
                two,
                .proofInvalid,
                proof: proof(two, key: agent)
            )
        )
        cases.append(
            rejectedRequest(
                "proof-for-other-request",
                "proof made for another resource",
                base,
                .proofInvalid,
                proof: proof(
                    base,
                    key: agent,
                    request: TokenRequest(audience: "api.acme.dev", action: "read", resource: "docs/other")
                )
            )
        )
        cases.append(
            rejectedRequest(
                "stale-proof",
                "proof 91 s old (60 s + 30 s skew allowed)",
                base,
                .proofStale,
                proof: proof(base, key: agent, at: now.advanced(by: .seconds(-91)))
            )
        )
        cases.append(
            rejectedRequest(
                "future-proof",
                "proof dated 31 s ahead",
                base,
                .proofStale,
                proof: proof(base, key: agent, at: now.advanced(by: .seconds(31)))
            )
        )
        cases.append(
            rejectedRequest(
                "proof-age-caveat",
                "proof 61 s old: over the 30 s caveat + 30 s skew",
                fullToken,
                .proofStale,
                request: attributed,
                proof: proof(fullToken, key: agent, request: attributed, at: now.advanced(by: .seconds(-61)))
            )
        )
        cases.append(rejectedRequest("caveat-attribute-unmet", "request lacks method=GET", fullToken, .caveatFailed))
        cases.append(
            rejectedRequest(
                "rotated-out-key",
                "issued after the issuer key's window closed",
                mint(claims(11), by: rotatedIssuer),
                .issuerKeyNotValid
            )
        )
        cases.append(
            rejectedRequest("replayed-nonce", "the same proof presented twice", base, .replayedNonce, twice: true)
        )

        let keys = [
            ("issuer", issuer), ("agent", agent), ("sub-agent-1", sub1), ("sub-agent-2", sub2),
            ("rotated-issuer", rotatedIssuer), ("unknown-issuer", unknownIssuer),
        ]
        return VectorFile(
            format: "writ capability token, format version 1 (Docs/TokenFormat.md)",
            description:
                "Generated by Tests/WritTokensTests/VectorGenerator.swift. Verify each case with the trusted keys and classes below, clock `now` (ms; a case may override it), fresh replay cache, no revocations.",
            now: now.millisecondsSinceEpoch,
            clockSkewSeconds: 30,
            proofFreshnessSeconds: 60,
            keys: keys.map { name, k in
                VectorFile.Key(
                    name: name,
                    seed: k.seed.withUnsafeBytes { Hex.encode($0) },
                    publicKey: Hex.encode(k.publicKey.rawRepresentation),
                    keyID: k.publicKey.keyID.description
                )
            },
            trustedKeys: [
                VectorFile.TrustedKey(
                    publicKey: Hex.encode(issuer.publicKey.rawRepresentation),
                    validFrom: 0,
                    validUntil: nil
                ),
                VectorFile.TrustedKey(
                    publicKey: Hex.encode(rotatedIssuer.publicKey.rawRepresentation),
                    validFrom: 0,
                    validUntil: now.advanced(by: .seconds(-60)).millisecondsSinceEpoch
                ),
            ],
            agentClasses: classes.map {
                VectorFile.AgentClassEntry(
                    name: $0.name,
                    defaultTTLSeconds: $0.defaultTTL.components.seconds,
                    maximumTTLSeconds: $0.maximumTTL.components.seconds,
                    maximumDelegationDepth: $0.maximumDelegationDepth,
                    mayDelegate: $0.mayDelegate,
                    refreshLimit: $0.refreshLimit
                )
            },
            cases: cases
        )
    }
}
