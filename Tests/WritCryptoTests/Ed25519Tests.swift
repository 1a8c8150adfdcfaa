import Foundation
import Testing
import WritCrypto
import WritTesting

@Suite("Ed25519")
struct Ed25519Tests {
    @Test("sign and verify round trip; tampered message, signature or key is rejected")
    func roundTrip() throws {
        let key = Ed25519.PrivateKey()
        let message = Array("hello writ".utf8)
        let signature = key.signature(for: message)
        #expect(signature.count == 64)
        #expect(key.publicKey.isValidSignature(signature, for: message))

        var badMessage = message
        badMessage[3] ^= 0x10
        #expect(!key.publicKey.isValidSignature(signature, for: badMessage))
        var badSignature = signature
        badSignature[10] ^= 0x01
        #expect(!key.publicKey.isValidSignature(badSignature, for: message))
        #expect(!Ed25519.PrivateKey().publicKey.isValidSignature(signature, for: message))
        #expect(!key.publicKey.isValidSignature(signature.prefix(63), for: message))
    }

    @Test("a key recreated from its seed is the same key")
    func seedRoundTrip() throws {
        let key = Ed25519.PrivateKey()
        let again = try Ed25519.PrivateKey(seed: key.seed)
        #expect(again.publicKey == key.publicKey)
        #expect(again.publicKey.keyID == key.publicKey.keyID)
        #expect(throws: CryptoError(.invalidLength, "")) { try Ed25519.PrivateKey(seed: SecureBytes([1, 2, 3])) }
        #expect(throws: CryptoError(.invalidLength, "")) {
            try Ed25519.PublicKey(rawRepresentation: [UInt8](repeating: 0, count: 31))
        }
    }

    @Test("private keys never print their secret")
    func redaction() {
        let key = Ed25519.PrivateKey()
        let seedHex = key.seed.withUnsafeBytes { Hex.encode($0) }
        for text in [String(describing: key), String(reflecting: key), "\(key.seed)", String(reflecting: key.seed)] {
            #expect(!text.contains(seedHex))
            #expect(text.contains("redacted"))
        }
    }

    @Test("key ids are 8 bytes, stable and distinct per key")
    func keyIDs() throws {
        let a = Ed25519.PrivateKey().publicKey
        let b = Ed25519.PrivateKey().publicKey
        #expect(a.keyID.bytes.count == 8)
        #expect(a.keyID != b.keyID)
        #expect(try Ed25519.PublicKey(rawRepresentation: a.rawRepresentation).keyID == a.keyID)
        #expect(KeyID(hex: a.keyID.description) == a.keyID)
    }

    @Test(
        "Wycheproof Ed25519 vectors",
        .enabled(
            if: Conformance.shouldRun("wycheproof/testvectors_v1/ed25519_test.json"),
            Comment(rawValue: Conformance.skipNote("wycheproof/testvectors_v1/ed25519_test.json"))
        )
    )
    func wycheproof() throws {
        let url = try #require(Conformance.url("wycheproof/testvectors_v1/ed25519_test.json"))
        let file = try JSONDecoder().decode(WycheproofFile.self, from: Data(contentsOf: url))
        var checked = 0
        for group in file.testGroups {
            let keyBytes = try #require(Hex.decode(group.publicKey.pk))
            let key = try Ed25519.PublicKey(rawRepresentation: keyBytes)
            for test in group.tests {
                let message = try #require(Hex.decode(test.msg))
                let signature = Hex.decode(test.sig) ?? []
                let valid = key.isValidSignature(signature, for: message)
                #expect(valid == (test.result == "valid"), "tcId \(test.tcId): \(test.comment)")
                checked += 1
            }
        }
        #expect(checked == file.numberOfTests)
    }

    struct WycheproofFile: Decodable {
        let numberOfTests: Int
        let testGroups: [Group]
        struct Group: Decodable {
            let publicKey: Key
            let tests: [Case]
        }
        struct Key: Decodable { let pk: String }
        struct Case: Decodable {
            let tcId: Int
            let comment: String
            let msg: String
            let sig: String
            let result: String
        }
    }
}
