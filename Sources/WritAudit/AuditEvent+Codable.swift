import WritCrypto

/// JSON form of an event (for tools and the forensic timeline): `time` as milliseconds since the epoch,
/// `revocationID` as hex, sensitive attributes as `keyed-blake2b:<hex>` digests.
///
/// This form is for reading, not for hashing: the log's hashes cover the canonical binary encoding
/// (see `Docs/Audit.md`). Encoding an event whose sensitive values have not yet been hashed by a log throws, so a
/// secret cannot be serialised by mistake.
extension AuditEvent: Codable {
    enum CodingKeys: String, CodingKey {
        case kind, time, service, agent, task, step, tokenID, parentTokenID, revocationID, audience, action
        case resource, decision, reason, traceID, attributes, sensitiveAttributes
    }

    static let digestPrefix = "keyed-blake2b:"

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(try c.decode(Kind.self, forKey: .kind))
        time = try c.decodeIfPresent(Int64.self, forKey: .time).map { Timestamp(millisecondsSinceEpoch: $0) }
        service = try c.decodeIfPresent(String.self, forKey: .service)
        agent = try c.decodeIfPresent(String.self, forKey: .agent)
        task = try c.decodeIfPresent(String.self, forKey: .task)
        step = try c.decodeIfPresent(String.self, forKey: .step)
        tokenID = try c.decodeIfPresent(String.self, forKey: .tokenID)
        parentTokenID = try c.decodeIfPresent(String.self, forKey: .parentTokenID)
        if let hex = try c.decodeIfPresent(String.self, forKey: .revocationID) {
            guard let id = RevocationID(hex: hex) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .revocationID,
                    in: c,
                    debugDescription: "not 32 hex digits"
                )
            }
            revocationID = id
        }
        audience = try c.decodeIfPresent(String.self, forKey: .audience)
        action = try c.decodeIfPresent(String.self, forKey: .action)
        resource = try c.decodeIfPresent(String.self, forKey: .resource)
        decision = try c.decodeIfPresent(Decision.self, forKey: .decision)
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
        traceID = try c.decodeIfPresent(String.self, forKey: .traceID)
        attributes = try c.decodeIfPresent([String: String].self, forKey: .attributes) ?? [:]
        let digests = try c.decodeIfPresent([String: String].self, forKey: .sensitiveAttributes) ?? [:]
        for (name, text) in digests {
            guard text.hasPrefix(Self.digestPrefix), let digest = Hex.decode(text.dropFirst(Self.digestPrefix.count)),
                digest.count == 32
            else {
                throw DecodingError.dataCorruptedError(
                    forKey: .sensitiveAttributes,
                    in: c,
                    debugDescription: "'\(name)' is not a keyed-blake2b digest"
                )
            }
            sensitiveAttributes[name] = SensitiveValue(digest: digest)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encodeIfPresent(time?.millisecondsSinceEpoch, forKey: .time)
        try c.encodeIfPresent(service, forKey: .service)
        try c.encodeIfPresent(agent, forKey: .agent)
        try c.encodeIfPresent(task, forKey: .task)
        try c.encodeIfPresent(step, forKey: .step)
        try c.encodeIfPresent(tokenID, forKey: .tokenID)
        try c.encodeIfPresent(parentTokenID, forKey: .parentTokenID)
        try c.encodeIfPresent(revocationID?.description, forKey: .revocationID)
        try c.encodeIfPresent(audience, forKey: .audience)
        try c.encodeIfPresent(action, forKey: .action)
        try c.encodeIfPresent(resource, forKey: .resource)
        try c.encodeIfPresent(decision, forKey: .decision)
        try c.encodeIfPresent(reason, forKey: .reason)
        try c.encodeIfPresent(traceID, forKey: .traceID)
        if !attributes.isEmpty { try c.encode(attributes, forKey: .attributes) }
        if !sensitiveAttributes.isEmpty {
            var digests: [String: String] = [:]
            for (name, value) in sensitiveAttributes {
                guard let digest = value.digest else {
                    throw EncodingError.invalidValue(
                        name,
                        .init(
                            codingPath: c.codingPath,
                            debugDescription: "sensitive attribute '\(name)' is not hashed yet"
                        )
                    )
                }
                digests[name] = Self.digestPrefix + Hex.encode(digest)
            }
            try c.encode(digests, forKey: .sensitiveAttributes)
        }
    }
}
