#if HTTP
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import Writ
import WritCrypto
import WritHTTP
import WritHummingbird
import WritTesting
import WritTokens

/// `Writ-Approval` (`Docs/HTTPBinding.md` §10): a checkpoint passes only with an approval signed by a configured
/// approver and bound to this audience, action, resource, token and time; anything else leaves it in place.
@Suite("Approvals over HTTP: signed, bound, short-lived; anything else never allows")
struct ApprovalTests {
    static let mergeTarget = "/repo/writ/merge"

    /// The router of `HTTPWorld`, with `approvers` configured.
    static func router(_ gatekeeper: Gatekeeper, approvers: WritApprovers?) -> Router<WritBasicRequestContext> {
        let router = Router(context: WritBasicRequestContext.self)
        router.add(
            middleware: WritGatekeeperMiddleware(
                gatekeeper: gatekeeper,
                configuration: .init(origin: HTTPWorld.serviceOrigin, maximumBodyBytes: 1024, approvers: approvers)
            )
        )
        router.post("/repo/writ/**") { _, context in "merged by \(context.writGrant?.agent ?? "none")" }
        return router
    }

    struct Setup {
        let world: HTTPWorld
        let service: HTTPWorld.Service
        let issued: IssuedToken
        let approver = Ed25519.PrivateKey()
        var approvers: WritApprovers { WritApprovers([.init(name: "alice", publicKey: approver.publicKey)]) }

        init() async throws {
            world = try await HTTPWorld()
            service = try await world.service()
            issued = try await world.issued()
        }

        /// An approval of the merge for the issued token, overridable field by field.
        func approval(
            name: String = "merge",
            audience: String = "repo",
            action: String = "post",
            resource: String = "repo/writ/merge",
            digest: TokenDigest? = nil,
            key: Ed25519.PrivateKey? = nil,
            at: Timestamp? = nil,
            lifetime: Duration = .seconds(120)
        ) throws -> String {
            try WritApproval.sign(
                name: name,
                audience: audience,
                action: action,
                resource: resource,
                tokenDigest: digest ?? issued.token.digest,
                key: key ?? approver,
                at: at ?? world.clock.now(),
                lifetime: lifetime
            ).text
        }

        /// Signed merge headers with `approvals` added.
        func headers(_ approvals: [String]) throws -> HTTPFields {
            var headers = try world.signed(issued.token, key: world.agentKey, method: "POST", target: mergeTarget)
            for approval in approvals {
                headers.append(HTTPField(name: HTTPField.Name("Writ-Approval")!, value: approval))
            }
            return headers
        }
    }

    /// POSTs the merge with `approvals` (a fresh proof each time) and returns status and refusal code.
    static func merge(
        _ setup: Setup,
        _ approvals: [String],
        approvers: WritApprovers? = nil
    ) async throws -> (status: Int, code: String?, text: String) {
        let app = Application(router: router(setup.service.gatekeeper, approvers: approvers ?? setup.approvers))
        let headers = try setup.headers(approvals)
        return try await app.test(.router) { client in
            let response = try await client.execute(uri: mergeTarget, method: .post, headers: headers)
            return (Int(response.status.code), response.refusal?.code, response.text)
        }
    }

    @Test("a valid approval passes the checkpoint; without one it stays (403 reauthorization-required)")
    func valid() async throws {
        let setup = try await Setup()
        let without = try await Self.merge(setup, [])
        #expect(without.status == 403 && without.code == "reauthorization-required", "\(without.text)")
        let with = try await Self.merge(setup, [try setup.approval()])
        #expect(with.status == 200, "\(with.text)")
        #expect(with.text == "merged by \(setup.world.agent)")
        // A valid one among ignored ones still counts; the ignored ones add nothing.
        let mixed = try await Self.merge(
            setup,
            [try setup.approval(key: Ed25519.PrivateKey()), try setup.approval(), try setup.approval(name: "deploy")]
        )
        #expect(mixed.status == 200, "\(mixed.text)")
    }

    @Test(
        "forged, unknown approver, another token/resource/action/audience/name, expired, future: checkpoint stays"
    )
    func ignored() async throws {
        let setup = try await Setup()
        let other = try await setup.world.issued(setup.world.other, key: setup.world.otherKey)
        let now = setup.world.clock.now()

        // Forged: the approver's key id on a signature by another key; a flipped signature byte.
        let stranger = Ed25519.PrivateKey()
        var raw = Array(Base64URL.decode(try setup.approval(key: stranger).dropFirst(8))!)
        raw.replaceSubrange(1..<9, with: setup.approver.publicKey.keyID.bytes)
        let relabelled = "writap1_" + Base64URL.encode(raw)
        var flipped = Array(Base64URL.decode(try setup.approval().dropFirst(8))!)
        flipped[flipped.count - 1] ^= 0x01
        let badSignature = "writap1_" + Base64URL.encode(flipped)

        let cases: [(String, String)] = [
            ("forged (relabelled key id)", relabelled),
            ("forged (flipped signature)", badSignature),
            ("unknown approver", try setup.approval(key: stranger)),
            ("another token", try setup.approval(digest: other.token.digest)),
            ("another resource", try setup.approval(resource: "repo/writ/other")),
            ("another action", try setup.approval(action: "put")),
            ("another audience (replay from another service)", try setup.approval(audience: "payments")),
            ("another approval name", try setup.approval(name: "deploy")),
            ("expired", try setup.approval(at: now.advanced(by: .seconds(-600)), lifetime: .seconds(60))),
            ("issued in the future", try setup.approval(at: now.advanced(by: .seconds(600)))),
        ]
        for (label, approval) in cases {
            let answer = try await Self.merge(setup, [approval])
            #expect(answer.status == 403, "\(label): \(answer.text)")
            #expect(answer.code == "reauthorization-required", "\(label): \(answer.text)")
        }
        // The same approval from a trusted approver passes, so each case above failed for its own reason.
        #expect(try await Self.merge(setup, [try setup.approval()]).status == 200)
        // No approvers configured: a valid approval is ignored too.
        let untrusted = try await Self.merge(setup, [try setup.approval()], approvers: WritApprovers([]))
        #expect(untrusted.code == "reauthorization-required", "\(untrusted.text)")
    }

    @Test("an approval stating more than 5 minutes is never accepted, even correctly signed")
    func lifetimeCap() throws {
        let approver = Ed25519.PrivateKey()
        let digest = TokenDigest.of(Array("token".utf8))
        let now = Timestamp(secondsSinceEpoch: 1_800_000_000)
        // Built by hand from the documented wire form, with a 10-minute validity.
        var bytes: [UInt8] = [1] + approver.publicKey.keyID.bytes + [UInt8](repeating: 7, count: 16)
        for value in [now.millisecondsSinceEpoch, now.millisecondsSinceEpoch + 600_000] {
            for shift in stride(from: 56, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: value >> Int64(shift)))
            }
        }
        bytes += digest.bytes
        for text in ["merge", "repo", "post", "repo/writ/merge"] {
            bytes += [0, UInt8(text.utf8.count)] + Array(text.utf8)
        }
        let signature = approver.signature(for: Array("writ-approval-v1".utf8) + [0] + bytes)
        let text = "writap1_" + Base64URL.encode(bytes + signature)
        let approval = try WritApproval(text: text)
        #expect(approval.isSigned(by: approver.publicKey), "the hand-built approval follows the documented form")
        let approvers = WritApprovers([.init(name: "alice", publicKey: approver.publicKey)])
        let check = try approvers.check(
            [text],
            audience: "repo",
            action: "post",
            resource: "repo/writ/merge",
            tokenDigest: digest,
            now: now.advanced(by: .seconds(1))
        )
        #expect(check.granted.isEmpty)
        #expect(check.ignored.first?.contains("lifetime") == true, "\(check.ignored)")
        // `sign` clamps a long lifetime to the cap.
        let clamped = try WritApproval.sign(
            name: "merge",
            audience: "repo",
            action: "post",
            resource: "r",
            tokenDigest: digest,
            key: approver,
            at: now,
            lifetime: .seconds(3600)
        )
        #expect(clamped.issuedAt.duration(to: clamped.expiresAt) == WritApproval.maximumLifetime)
        // The same approval at another service (another audience) is not granted there.
        let elsewhere = try approvers.check(
            [
                try WritApproval.sign(
                    name: "merge",
                    audience: "repo",
                    action: "post",
                    resource: "repo/writ/merge",
                    tokenDigest: digest,
                    key: approver,
                    at: now
                ).text
            ],
            audience: "ci",
            action: "post",
            resource: "repo/writ/merge",
            tokenDigest: digest,
            now: now
        )
        #expect(elsewhere.granted.isEmpty && elsewhere.ignored.count == 1)
    }

    @Test("garbage, oversized, truncated or too many Writ-Approval headers: 400 malformed-header, no crash")
    func malformed() async throws {
        let setup = try await Setup()
        let valid = try setup.approval()
        let truncated = String(valid.prefix(valid.count - 10))
        let cases: [(String, [String])] = [
            ("garbage", ["not an approval"]),
            ("bad base64", ["writap1_!!!!"]),
            ("empty payload", ["writap1_"]),
            ("truncated", [truncated]),
            ("trailing bytes", [valid + "AAAA"]),
            ("oversized", ["writap1_" + String(repeating: "A", count: 5000)]),
            ("too many", Array(repeating: valid, count: 9)),
        ]
        for (label, values) in cases {
            let answer = try await Self.merge(setup, values)
            #expect(answer.status == 400, "\(label): \(answer.text)")
            #expect(answer.code == "malformed-header", "\(label): \(answer.text)")
        }
        // Garbage is refused even when the service trusts no approver.
        let none = try await Self.merge(setup, ["junk"], approvers: WritApprovers([]))
        #expect(none.status == 400)
        // Random bytes after the prefix never trap the decoder.
        var generator = SystemRandomNumberGenerator()
        for length in 0..<300 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? WritApproval(text: "writap1_" + Base64URL.encode(bytes))
        }
        let described = String(describing: try WritApproval(text: valid))
        #expect(!described.contains(setup.issued.token.digest.description), "no full token digest in the description")
    }
}
#endif
