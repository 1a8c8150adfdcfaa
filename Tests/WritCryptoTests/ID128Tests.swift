import Testing
import WritCrypto

@Suite("128-bit ids")
struct ID128Tests {
    static let bytes: [UInt8] = Array(0x10...0x1F)

    @Test("16 bytes and 32 hex digits round trip, big-endian; any other length or text is refused")
    func roundTrip() throws {
        let id = try #require(ID128(bytes: Self.bytes))
        #expect(id.high == 0x1011_1213_1415_1617)
        #expect(id.low == 0x1819_1A1B_1C1D_1E1F)
        #expect(id.bytes == Self.bytes)
        #expect(id.hex == "101112131415161718191a1b1c1d1e1f")
        #expect(ID128(hex: id.hex) == id)
        #expect(ID128(hex: "101112131415161718191A1B1C1D1E1F") == id)
        for count in [0, 15, 17, 32] { #expect(ID128(bytes: [UInt8](repeating: 1, count: count)) == nil) }
        for text in ["", "1011", String(id.hex.dropLast()), id.hex + "00", "zz" + id.hex.dropFirst(2)] {
            #expect(ID128(hex: text) == nil)
        }
    }

    @Test("contiguous and element-by-element collections of the same bytes parse to the same id")
    func everyCollectionShape() throws {
        let id = try #require(ID128(bytes: Self.bytes))
        let padded: [UInt8] = [0xAA] + Self.bytes + [0xBB]
        #expect(ID128(bytes: padded[1..<17]) == id)  // a slice whose indices do not start at 0
        #expect(ID128(bytes: Self.bytes.lazy.map { $0 }) == id)  // no contiguous storage: the iterator path
        #expect(ID128(bytes: Self.bytes.reversed()) == ID128(bytes: Array(Self.bytes.reversed())))
        #expect(ID128(bytes: padded[1..<16]) == nil)
        #expect(ID128(bytes: padded[0..<18].lazy.map { $0 }) == nil)
    }

    @Test("equal exactly when every bit is; ordered by byte order; random ids differ")
    func equalityAndOrder() throws {
        let id = ID128(high: 5, low: 9)
        #expect(id == ID128(high: 5, low: 9))
        #expect(id != ID128(high: 5, low: 8))
        #expect(id != ID128(high: 4, low: 9))
        #expect(id != ID128(high: 5 | 1 << 63, low: 9))
        #expect(Set([id, ID128(high: 5, low: 9)]).count == 1)
        #expect(ID128(high: 1, low: .max) < ID128(high: 2, low: 0))
        #expect(ID128(high: 2, low: 0) < ID128(high: 2, low: 1))
        #expect(ID128.random() != ID128.random())
    }

    @Test("RevocationID is the core under its own name and error")
    func revocationID() throws {
        let id = try RevocationID(bytes: Self.bytes)
        #expect(id.description == "101112131415161718191a1b1c1d1e1f")
        #expect(RevocationID(hex: id.description) == id)
        #expect(id.high == 0x1011_1213_1415_1617 && id.low == 0x1819_1A1B_1C1D_1E1F)
        #expect(throws: CryptoError(.invalidLength, "")) { try RevocationID(bytes: [1, 2, 3]) }
    }
}
