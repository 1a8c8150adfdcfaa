import Testing
import WritCrypto

@testable import WritTokens

/// SplitMix64: a small deterministic generator, so fuzz runs are repeatable.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Seeded fuzzing")
struct FuzzTests {
    @Test(
        "random multi-byte mutations, insertions and deletions of a valid token are all rejected",
        arguments: [1, 2, 3]
    )
    func mutations(seed: UInt64) throws {
        let f = Fixture()
        let token = try f.twoBlock()
        var rng = SeededGenerator(state: seed)
        for _ in 0..<2000 {
            var bytes = token.bytes
            let edits = Int.random(in: 1...4, using: &rng)
            for _ in 0..<edits {
                switch Int.random(in: 0..<4, using: &rng) {
                case 0:
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                case 1:
                    bytes.insert(
                        UInt8.random(in: 0...255, using: &rng),
                        at: Int.random(in: 0...bytes.count, using: &rng)
                    )
                case 2 where bytes.count > 1:
                    bytes.remove(at: Int.random(in: 0..<bytes.count, using: &rng))
                default:
                    let i = Int.random(in: 0..<bytes.count, using: &rng)
                    bytes[i] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
                }
            }
            guard bytes != token.bytes else { continue }
            if let shorter = try? CapabilityToken(bytes: bytes), shorter.bytes == Array(token.bytes.prefix(bytes.count))
            {
                continue  // a whole-block truncation: covered by the truncation test
            }
            #expect(chainError(bytes, f.verifier) != nil, "mutation accepted")
        }
    }

    @Test("random inputs never crash the parsers", arguments: [7, 8])
    func garbage(seed: UInt64) {
        var rng = SeededGenerator(state: seed)
        for _ in 0..<3000 {
            let count = Int.random(in: 0...400, using: &rng)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if !bytes.isEmpty, Bool.random(using: &rng) { bytes[0] = TokenFormat.version }
            if bytes.count > 1, Bool.random(using: &rng) { bytes[1] = 0 }
            _ = try? CapabilityToken(bytes: bytes)
            _ = try? ProofOfPossession(bytes: bytes)
            _ = try? CapabilityToken(text: TokenFormat.textPrefix + Base64URL.encode(bytes))
        }
    }
}
