import WritCrypto

/// The wire form: `{"kind", "payload", "public_key", "signature"}`, the bytes as unpadded base64url.
///
/// The payload is the evidence itself (for a join token, its secret): the encoded JSON is as secret as the
/// token, so send it only over a confidential channel and do not log it. Decoding builds the payload in
/// zeroised-on-release storage without a temporary copy.
extension AttestationEvidence: Codable {
    enum CodingKeys: String, CodingKey {
        case kind
        case payload
        case publicKey = "public_key"
        case signature
    }

    /// Decodes the stable field names; a field that is not canonical base64url, or a key that is not a valid
    /// Ed25519 public key, is a `DecodingError`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func bytes(_ key: CodingKeys) throws -> [UInt8] {
            guard let raw = Base64URL.decode(try c.decode(String.self, forKey: key)) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "not base64url")
            }
            return raw
        }
        guard let payload = SecureBytes(base64URL: try c.decode(String.self, forKey: .payload)) else {
            throw DecodingError.dataCorruptedError(forKey: .payload, in: c, debugDescription: "not base64url")
        }
        let publicKey: Ed25519.PublicKey
        do {
            publicKey = try Ed25519.PublicKey(rawRepresentation: try bytes(.publicKey))
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .publicKey, in: c, debugDescription: "\(error)")
        }
        self.init(
            kind: try c.decode(String.self, forKey: .kind),
            payload: payload,
            publicKey: publicKey,
            signature: try bytes(.signature)
        )
    }

    /// Encodes the stable field names.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(payload.base64URLEncoded, forKey: .payload)
        try c.encode(Base64URL.encode(publicKey.rawRepresentation), forKey: .publicKey)
        try c.encode(Base64URL.encode(signature), forKey: .signature)
    }
}
