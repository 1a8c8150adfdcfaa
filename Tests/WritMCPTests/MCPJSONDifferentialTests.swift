#if MCP
import Foundation
import MCP
import Testing

@testable import WritMCP

/// WritMCPJSON is a hand-written parser on the request path, so it is checked against Foundation's on generated and
/// mutated input: it must never accept what Foundation refuses (it is only ever stricter), every value it accepts
/// must read the same as Foundation reads it, and what it writes must read back as the same value.
@Suite("WritMCP JSON reader: differential")
struct MCPJSONDifferentialTests {
    /// SplitMix64, so runs are repeatable.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let fragments: [String] = [
        "0", "-0", "1", "-1", "12", "1.5", "-2.25e3", "1E-2", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "1e400", "true", "false", "null", "\"\"", "\"a\"", "\"\\u00e9\"", "\"\\ud83d\\ude00\"",
        "\"\\ud83d\"", "\"é\"", "\"tab\\t\"", "\"\\/\"", "\"\\\"\"", "[]", "{}", "01", "1.", ".5", "+1", "\"\\x\"",
    ]

    /// A random JSON-shaped text: mostly valid, with the fragments above (some invalid) at the leaves.
    static func document(_ rng: inout Generator, depth: Int = 0) -> String {
        let roll = Int.random(in: 0..<10, using: &rng)
        if depth > 4 || roll < 4 { return fragments.randomElement(using: &rng)! }
        let count = Int.random(in: 0...3, using: &rng)
        if roll < 7 {
            let items = (0..<count).map { _ in document(&rng, depth: depth + 1) }
            return "[" + items.joined(separator: ",") + "]"
        }
        let keys = ["a", "b", "id", "method", "a"]  // "a" twice: duplicate keys come up
        let members = (0..<count).map { i in
            "\"\(keys[(i + Int.random(in: 0...4, using: &rng)) % keys.count])\" : " + document(&rng, depth: depth + 1)
        }
        return "{" + members.joined(separator: ", ") + "}"
    }

    static func mutate(_ bytes: [UInt8], _ rng: inout Generator) -> [UInt8] {
        var bytes = bytes
        for _ in 0..<Int.random(in: 0...3, using: &rng) {
            let alphabet: [UInt8] = Array("{}[],:\"\\ 0123456789.eE-+tfnu".utf8) + [0x00, 0x0A, 0x80, 0xC3, 0xFF]
            let byte = alphabet.randomElement(using: &rng)!
            switch Int.random(in: 0..<3, using: &rng) {
            case 0 where !bytes.isEmpty: bytes[Int.random(in: 0..<bytes.count, using: &rng)] = byte
            case 1: bytes.insert(byte, at: Int.random(in: 0...bytes.count, using: &rng))
            default: if !bytes.isEmpty { bytes.remove(at: Int.random(in: 0..<bytes.count, using: &rng)) }
            }
        }
        return bytes
    }

    /// Foundation's reading of a JSON text, through `JSONDecoder`.
    struct FoundationValue: Decodable {
        let value: Value

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                value = .null
            } else if let bool = try? container.decode(Bool.self) {
                value = .bool(bool)
            } else if let int = try? container.decode(Int.self) {
                value = .int(int)
            } else if let double = try? container.decode(Double.self) {
                value = .double(double)
            } else if let string = try? container.decode(String.self) {
                value = .string(string)
            } else if let array = try? container.decode([FoundationValue].self) {
                value = .array(array.map(\.value))
            } else {
                value = .object(try container.decode([String: FoundationValue].self).mapValues(\.value))
            }
        }
    }

    /// Foundation's reading of `bytes` as a `Value`, or `nil` when it refuses them.
    static func foundation(_ bytes: [UInt8]) -> Value? {
        try? JSONDecoder().decode(FoundationValue.self, from: Data(bytes)).value
    }

    /// Numbers are compared by value: the two readers may pick `.int` or `.double` differently at the edges.
    static func same(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x == y
        case (.int(let x), .double(let y)), (.double(let y), .int(let x)): return Double(x) == y
        case (.double(let x), .double(let y)): return x == y
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { key, v in y[key].map { same(v, $0) } ?? false }
        default: return a == b
        }
    }

    @Test("never looser than Foundation, reads what Foundation reads, and round-trips", arguments: [1, 2, 3, 4])
    func differential(seed: UInt64) throws {
        var rng = Generator(state: seed)
        var accepted = 0
        var refused = 0
        for _ in 0..<3_000 {
            let text = Self.document(&rng)
            let bytes = Int.random(in: 0..<2, using: &rng) == 0 ? Array(text.utf8) : Self.mutate(Array(text.utf8), &rng)
            guard let ours = try? WritMCPJSON.parse(bytes) else {
                refused += 1
                continue
            }
            accepted += 1
            let theirs = try #require(
                Self.foundation(bytes),
                "WritMCPJSON accepted what Foundation refuses: \(String(decoding: bytes, as: UTF8.self))"
            )
            #expect(Self.same(ours, theirs), "read differently: \(String(decoding: bytes, as: UTF8.self))")
            let written = [UInt8](WritMCPJSON.encode(ours))
            let reread = try WritMCPJSON.parse(written)
            #expect(Self.same(ours, reread), "did not round-trip: \(String(decoding: written, as: UTF8.self))")
        }
        // The generator must exercise both sides, or the test proves nothing.
        #expect(accepted > 300 && refused > 300, "accepted \(accepted), refused \(refused)")
    }

    @Test("input Foundation reads but that parsers disagree on is refused")
    func ambiguous() {
        for text in [
            #"{"a":1,"a":2}"#, #""\ud83d""#, "01", "[1,]", "1 2", #"{"a":1}x"#,
            String(repeating: "[", count: 70) + String(repeating: "]", count: 70),
        ] {
            #expect(throws: WritMCPJSON.Failure.self, "\(text)") { try WritMCPJSON.parse(Array(text.utf8)) }
        }
        #expect(throws: WritMCPJSON.Failure.self) { try WritMCPJSON.parse([0x22, 0xC3, 0x28, 0x22]) }  // bad UTF-8
    }
}
#endif
