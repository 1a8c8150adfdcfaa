import Foundation
import Testing
import WritCrypto
import WritIdentity

@Suite("AttestationEvidence wire format")
struct AttestationEvidenceCodableTests {
    static func evidence() throws -> AttestationEvidence {
        let key = try Ed25519.PrivateKey(seed: SecureBytes([UInt8](repeating: 7, count: 32)))
        return AttestationEvidence(kind: "join-token", payload: SecureBytes([1, 2, 3, 250, 251]), signingKey: key)
    }

    @Test("evidence survives a JSON round trip and still verifies")
    func roundTrip() throws {
        let evidence = try Self.evidence()
        let decoded = try JSONDecoder().decode(AttestationEvidence.self, from: try JSONEncoder().encode(evidence))
        #expect(decoded == evidence)
        #expect(decoded.isSignedByPresenter)
    }

    @Test("field names are kind, payload, public_key and signature; bytes are unpadded base64url")
    func pinnedFieldNames() throws {
        let evidence = try Self.evidence()
        let object = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(evidence)) as? [String: String]
        let fields = try #require(object)
        #expect(Set(fields.keys) == ["kind", "payload", "public_key", "signature"])
        #expect(fields["kind"] == "join-token")
        #expect(fields["payload"] == "AQID-vs")
        #expect(fields["public_key"] == Base64URL.encode(evidence.publicKey.rawRepresentation))
        #expect(fields["signature"].flatMap { Base64URL.decode($0) } == evidence.signature)
    }

    @Test(
        "a field that is not canonical base64url, or a key that is not an Ed25519 point, is a decoding error",
        arguments: ["payload", "public_key", "signature"]
    )
    func refused(field: String) throws {
        var fields = try #require(
            try JSONSerialization.jsonObject(with: try JSONEncoder().encode(try Self.evidence())) as? [String: String]
        )
        fields[field] = field == "public_key" ? "AAAA" : "not base64!"
        let data = try JSONSerialization.data(withJSONObject: fields)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(AttestationEvidence.self, from: data) }
    }

    @Test("its description never shows the payload")
    func redacted() throws {
        #expect(!"\(try Self.evidence())".contains("AQID"))
    }
}
