import Foundation

/// The machine-readable test vectors in `Vectors/token-vectors.json` (format described in Docs/TokenFormat.md).
struct VectorFile: Codable, Equatable {
    struct Key: Codable, Equatable {
        var name: String
        var seed: String
        var publicKey: String
        var keyID: String
    }
    struct TrustedKey: Codable, Equatable {
        var publicKey: String
        var validFrom: Int64
        var validUntil: Int64?
    }
    struct AgentClassEntry: Codable, Equatable {
        var name: String
        var defaultTTLSeconds: Int64
        var maximumTTLSeconds: Int64
        var maximumDelegationDepth: Int
        var mayDelegate: Bool
        var refreshLimit: Int
    }
    struct Request: Codable, Equatable {
        var audience: String
        var action: String
        var resource: String
        var attributes: [String: String]
    }
    struct Case: Codable, Equatable {
        var name: String
        var description: String
        /// Binary form in hex (absent when the case is about the text form).
        var tokenHex: String?
        /// Text form (present for text-form cases and for every valid token).
        var text: String?
        /// The verifier's clock in ms; defaults to the file's `now`.
        var now: Int64?
        var request: Request?
        var proof: String?
        /// Present the same token and proof twice; the second presentation is what `expect` describes.
        var presentTwice: Bool?
        /// "valid" or a TokenError code.
        var expect: String
        /// Where a rejection happens: "parse", "chain" or "request".
        var stage: String?
        /// For valid tokens: BLAKE2b-256 of the bytes, every block's revocation id, the delegation depth.
        var digest: String?
        var revocationIDs: [String]?
        var delegationDepth: Int?
    }

    var format: String
    var description: String
    var now: Int64
    var clockSkewSeconds: Int64
    var proofFreshnessSeconds: Int64
    var keys: [Key]
    var trustedKeys: [TrustedKey]
    var agentClasses: [AgentClassEntry]
    var cases: [Case]

    static var url: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors/token-vectors.json")
    }

    static func load() throws -> VectorFile {
        try JSONDecoder().decode(VectorFile.self, from: Data(contentsOf: url))
    }

    func write() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0a)
        try data.write(to: VectorFile.url)
    }
}
