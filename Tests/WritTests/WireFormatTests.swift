import Foundation
import Testing
import Writ
import WritCrypto
import WritPolicy
import WritTesting
import WritTokens

/// The JSON of the gatekeeper's decisions and of anomaly reports: values survive a round trip, and the field
/// names (snake_case) and value forms are pinned, so a rename cannot silently change the wire.
@Suite("Wire formats")
struct WireFormatTests {
    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    /// A real allow and a real deny (a replayed proof) from a gatekeeper.
    static func decisions() async throws -> (allow: GateDecision, deny: GateDecision) {
        let world = try await World()
        let service = try await world.service("repo")
        let provider = world.supervisorProvider()
        let task = try await world.authority.openTask(
            for: world.supervisor,
            objective: "fix bug 42",
            intent: "fix-bug",
            deadline: .seconds(120)
        )
        try await provider.begin(task: task, step: World.step())
        let credential = try await provider.credential(audience: "repo", action: "read", resource: "repo/writ/a")
        let request = World.request(credential, action: "read", resource: "repo/writ/a")
        let allow = await service.gatekeeper.authorize(request)
        let deny = await service.gatekeeper.authorize(request)
        #expect(allow.isAllowed && deny.denialCode == .replayed, "\(allow), \(deny)")
        return (allow, deny)
    }

    static let granted = """
        {"agent":"spiffe://acme.test/agent/worker/1","audit_index":7,"intent":"fix-bug","policies":["policy0","policy2"],\
        "subject":"spiffe://acme.test/agent/supervisor/1","task":"task-1","token_id":"00112233445566778899aabbccddeeff"}
        """
    static let denial = """
        {"code":"token-rejected","message":"actionNotAllowed: write is not allowed","policies":[],\
        "token_error":"actionNotAllowed"}
        """
    static let policyDenial = """
        {"code":"policy","message":"denied by policy","policies":["policy3"]}
        """
    static let anomaly = """
        {"agent":"spiffe://acme.test/agent/worker/1","block_id":"0102030405060708090a0b0c0d0e0f10",\
        "detail":"6 denials in 10 s (threshold 5)","detector":"denial-burst","holder_key_id":"a1b2c3d4e5f60718",\
        "root_block_id":"1112131415161718191a1b1c1d1e1f20","task":"task-1","time_ms":1767225600123,\
        "token_id":"00112233445566778899aabbccddeeff"}
        """

    @Test("allow and deny decisions from a gatekeeper survive a JSON round trip")
    func gatekeeperRoundTrip() async throws {
        let (allow, deny) = try await Self.decisions()
        for decision in [allow, deny] {
            #expect(try Self.decode(GateDecision.self, Self.json(decision)) == decision)
        }
        guard case .allow(let granted) = allow, case .deny(let denial) = deny else { return }
        #expect(try Self.decode(GrantedRequest.self, Self.json(granted)) == granted)
        #expect(try Self.decode(GateDenial.self, Self.json(denial)) == denial)
        let reauthorize = GateDecision.reauthorize(reason: "merges need a human", policy: "policy4")
        #expect(try Self.decode(GateDecision.self, Self.json(reauthorize)) == reauthorize)
    }

    @Test("an anomaly report survives a JSON round trip, with and without its optional fields")
    func anomalyRoundTrip() throws {
        let full = try Self.decode(AnomalyReport.self, Self.anomaly)
        let bare = AnomalyReport(
            detector: "rate-spike",
            agent: nil,
            tokenID: nil,
            taskID: nil,
            detail: "x",
            time: Timestamp(millisecondsSinceEpoch: -1)
        )
        for report in [full, bare] {
            #expect(try Self.decode(AnomalyReport.self, Self.json(report)) == report)
        }
        #expect(try Self.json(bare) == #"{"detail":"x","detector":"rate-spike","time_ms":-1}"#)
    }

    @Test("the JSON field names and value forms of GrantedRequest, GateDenial, GateDecision and AnomalyReport")
    func pinnedFieldNames() throws {
        let granted = try Self.decode(GrantedRequest.self, Self.granted)
        #expect(granted.agent == "spiffe://acme.test/agent/worker/1")
        #expect(granted.subject == "spiffe://acme.test/agent/supervisor/1")
        #expect(granted.tokenID == TokenID(hex: "00112233445566778899aabbccddeeff"))
        #expect(granted.taskID == "task-1" && granted.intent == "fix-bug" && granted.auditIndex == 7)
        #expect(granted.policies == ["policy0", "policy2"])
        #expect(try Self.json(granted) == Self.granted)

        let denial = try Self.decode(GateDenial.self, Self.denial)
        #expect(denial.code == .tokenRejected && denial.tokenError == .actionNotAllowed)
        #expect(denial.message == "actionNotAllowed: write is not allowed" && denial.policies.isEmpty)
        #expect(try Self.json(denial) == Self.denial)
        #expect(try Self.json(Self.decode(GateDenial.self, Self.policyDenial)) == Self.policyDenial)

        #expect(try Self.json(GateDecision.allow(granted)) == #"{"granted":\#(Self.granted),"outcome":"allow"}"#)
        #expect(try Self.json(GateDecision.deny(denial)) == #"{"denial":\#(Self.denial),"outcome":"deny"}"#)
        #expect(
            try Self.json(GateDecision.reauthorize(reason: "merges need a human", policy: "policy4"))
                == #"{"outcome":"reauthorize","policy":"policy4","reason":"merges need a human"}"#
        )

        let report = try Self.decode(AnomalyReport.self, Self.anomaly)
        #expect(report.detector == "denial-burst" && report.agent == "spiffe://acme.test/agent/worker/1")
        #expect(report.tokenID == "00112233445566778899aabbccddeeff" && report.taskID == "task-1")
        #expect(report.blockID == RevocationID(hex: "0102030405060708090a0b0c0d0e0f10"))
        #expect(report.rootBlockID == RevocationID(hex: "1112131415161718191a1b1c1d1e1f20"))
        #expect(report.holderKeyID == KeyID(hex: "a1b2c3d4e5f60718"))
        #expect(report.detail == "6 denials in 10 s (threshold 5)")
        #expect(report.time == Timestamp(millisecondsSinceEpoch: 1_767_225_600_123))
        #expect(try Self.json(report) == Self.anomaly)
    }

    @Test(
        "unknown codes, outcomes and malformed ids are decoding errors",
        arguments: [
            ("GateDenial", #"{"code":"no-such-code","message":"m","policies":[]}"#),
            ("GateDenial", #"{"code":"policy","token_error":"nope","message":"m","policies":[]}"#),
            ("GateDecision", #"{"outcome":"maybe"}"#),
            ("AnomalyReport", #"{"detector":"d","detail":"x","time_ms":0,"block_id":"zz"}"#),
            ("AnomalyReport", #"{"detector":"d","detail":"x","time_ms":0,"holder_key_id":"00"}"#),
            ("GrantedRequest", #"{"agent":"a","subject":"s","token_id":"short","policies":[]}"#),
        ]
    )
    func refused(type: String, text: String) {
        #expect(throws: DecodingError.self) {
            switch type {
            case "GateDenial": _ = try Self.decode(GateDenial.self, text)
            case "GateDecision": _ = try Self.decode(GateDecision.self, text)
            case "AnomalyReport": _ = try Self.decode(AnomalyReport.self, text)
            default: _ = try Self.decode(GrantedRequest.self, text)
            }
        }
    }
}
