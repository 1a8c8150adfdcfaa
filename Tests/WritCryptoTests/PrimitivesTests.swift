import Testing

@testable import WritCrypto

@Suite("Digests, encodings, secrets")
struct PrimitivesTests {
    @Test("SHA-256 known answers, one-shot and incremental agree")
    func sha256() {
        #expect(
            Hex.encode(SHA256.hash([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        )
        #expect(
            Hex.encode(SHA256.hash(Array("abc".utf8)))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        )
        var hasher = SHA256()
        hasher.update(byte: UInt8(ascii: "a"))
        hasher.update(Array("bc".utf8))
        #expect(Hex.encode(hasher.finalize()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("BLAKE2b-256 known answer; keyed hash depends on the key")
    func blake2b() {
        #expect(
            Hex.encode(BLAKE2b.hash(Array("abc".utf8)))
                == "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"
        )
        let k1 = SecureBytes.random(count: 32)
        let k2 = SecureBytes.random(count: 32)
        #expect(BLAKE2b.hash([1, 2, 3], key: k1) != BLAKE2b.hash([1, 2, 3], key: k2))
        #expect(BLAKE2b.hash([1, 2, 3], key: k1) == BLAKE2b.hash([1, 2, 3], key: k1))
    }

    @Test(
        "base64url is strict and canonical",
        arguments: [
            ([UInt8](), ""), ([0xff], "_w"), ([0xfb, 0xef], "--8"), ([0, 1, 2], "AAEC"),
        ]
    )
    func base64url(bytes: [UInt8], text: String) {
        #expect(Base64URL.encode(bytes) == text)
        #expect(Base64URL.decode(text) == bytes)
    }

    @Test(
        "base64url rejects padding, foreign characters and non-canonical tails",
        arguments: ["_w==", "_x", "A", "ab+c", "ab/c", "ab c", "AAE="]
    )
    func base64urlRejects(text: String) {
        #expect(Base64URL.decode(text) == nil)
    }

    @Test("hex round trip and rejection")
    func hex() {
        #expect(Hex.encode([0x00, 0xab, 0xff]) == "00abff")
        #expect(Hex.decode("00ABff") == [0x00, 0xab, 0xff])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
    }

    @Test("constant-time comparison")
    func constantTime() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(SecureBytes([9, 9]) == SecureBytes([9, 9]))
        #expect(SecureBytes([9, 9]) != SecureBytes([9, 8]))
    }

    @Test("secret storage is zeroised when released")
    func zeroisation() {
        // Keep the allocation alive after the secret is gone by running the wipe directly: deinit wipes the
        // whole allocation, which we observe through a second reference that inspects it before freeing.
        var observed: [UInt8] = []
        do {
            let secret = SecureBytes([0xaa, 0xbb, 0xcc, 0xdd])
            let storage = secret.storage
            #expect(Array(UnsafeRawBufferPointer(storage.allocationForTesting).prefix(4)) == [0xaa, 0xbb, 0xcc, 0xdd])
            storage.wipeForTesting()
            observed = Array(UnsafeRawBufferPointer(storage.allocationForTesting).prefix(4))
        }
        #expect(observed == [0, 0, 0, 0])
    }

    @Test("secret box round trip; wrong key, associated data or tampering fails closed")
    func secretBox() throws {
        let key = SecretBox.makeKey()
        let box = try SecretBox.seal(SecureBytes(Array("sk_live_123".utf8)), key: key, associatedData: [1])
        let opened = try SecretBox.open(box, key: key, associatedData: [1])
        #expect(opened == SecureBytes(Array("sk_live_123".utf8)))
        #expect(throws: CryptoError(.authenticationFailed, "")) {
            try SecretBox.open(box, key: SecretBox.makeKey(), associatedData: [1])
        }
        #expect(throws: CryptoError(.authenticationFailed, "")) {
            try SecretBox.open(box, key: key, associatedData: [2])
        }
        var tampered = box
        tampered[tampered.count - 1] ^= 1
        #expect(throws: CryptoError(.authenticationFailed, "")) {
            try SecretBox.open(tampered, key: key, associatedData: [1])
        }
        #expect(throws: CryptoError(.authenticationFailed, "")) { try SecretBox.open([1, 2], key: key) }
    }

    @Test("timestamps print as RFC 3339 UTC")
    func timestamps() {
        #expect(Timestamp(secondsSinceEpoch: 0).description == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(millisecondsSinceEpoch: 1_767_225_600_123).description == "2026-01-01T00:00:00.123Z")
        #expect(Timestamp(secondsSinceEpoch: 10).advanced(by: .seconds(5)) == Timestamp(secondsSinceEpoch: 15))
        #expect(Timestamp(millisecondsSinceEpoch: -1).description == "1969-12-31T23:59:59.999Z")
    }

    /// The security report's crash: a proof dated in `[Int64.min, Int64.min + 86_399_998]` ms trapped while its
    /// time was formatted for the `proofStale` message. Every value prints, and arithmetic saturates.
    @Test("timestamp formatting and arithmetic are total over the whole Int64 range")
    func timestampsAreTotal() {
        let extremes: [Int64] = [.min, .min + 1, .min + 86_399_998, .min + 86_399_999, -1, 0, .max - 1, .max]
        for ms in extremes {
            let t = Timestamp(millisecondsSinceEpoch: ms)
            #expect(t.description.hasSuffix("Z"))
            _ = t.secondsSinceEpoch
            #expect(t.advanced(by: .seconds(Int64.max)) >= t)
            #expect(t.advanced(by: .seconds(Int64.min)) <= t)
            #expect(t.advanced(by: .milliseconds(1)) >= t)
            #expect(t.advanced(by: .milliseconds(-1)) <= t)
        }
        let min = Timestamp(millisecondsSinceEpoch: .min)
        let max = Timestamp(millisecondsSinceEpoch: .max)
        #expect(min.secondsSinceEpoch == Int64.min / 1000 - 1)
        #expect(min.advanced(by: .milliseconds(-1)) == min)
        #expect(max.advanced(by: .nanoseconds(999_999)) == max)
        #expect(max.advanced(by: .milliseconds(1)) == max)
        #expect(Timestamp(millisecondsSinceEpoch: .max - 1).advanced(by: .nanoseconds(1_999_999)) == max)
        // The duration between the two ends is exact (no wrap-around to a negative duration).
        #expect(min.duration(to: max) > .zero)
        #expect(min.duration(to: max) == .milliseconds(Int64.max) + .milliseconds(Int64.max) + .milliseconds(1))
        #expect(max.duration(to: min) < .zero)
        #expect(Timestamp(secondsSinceEpoch: .max) == max)
        #expect(Timestamp(secondsSinceEpoch: .min) == min)
        #expect(Timestamp(secondsSinceEpoch: Int64.max / 1000 + 1) == max)
    }
}

@Suite("Revocation ids")
struct RevocationIDTests {
    @Test("bytes and hex round trip; wrong length rejected")
    func roundTrip() throws {
        let bytes = Array(UInt8(1)...UInt8(16))
        let id = try RevocationID(bytes: bytes)
        #expect(id.bytes == bytes)
        #expect(RevocationID(hex: id.description) == id)
        #expect(throws: CryptoError(.invalidLength, "")) { try RevocationID(bytes: bytes.prefix(15)) }
    }
}
