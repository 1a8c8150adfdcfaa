import WritCrypto

/// The wire form: `{"detector", "agent", "token_id", "block_id", "root_block_id", "holder_key_id", "task",
/// "detail", "time_ms"}`. Ids are lowercase hex, the time is milliseconds since the epoch, and the optional fields
/// are omitted when absent. Field names are snake_case and pinned by tests.
extension AnomalyReport: Codable {
    enum CodingKeys: String, CodingKey {
        case detector
        case agent
        case tokenID = "token_id"
        case blockID = "block_id"
        case rootBlockID = "root_block_id"
        case holderKeyID = "holder_key_id"
        case taskID = "task"
        case detail
        case time = "time_ms"
    }

    /// Decodes the stable field names; an id that is not hex of the right length is a `DecodingError`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func revocationID(_ key: CodingKeys) throws -> RevocationID? {
            guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
            guard let id = RevocationID(hex: text) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "not a revocation id")
            }
            return id
        }
        var holderKeyID: KeyID?
        if let text = try c.decodeIfPresent(String.self, forKey: .holderKeyID) {
            guard let id = KeyID(hex: text) else {
                throw DecodingError.dataCorruptedError(forKey: .holderKeyID, in: c, debugDescription: "not a key id")
            }
            holderKeyID = id
        }
        self.init(
            detector: try c.decode(String.self, forKey: .detector),
            agent: try c.decodeIfPresent(String.self, forKey: .agent),
            tokenID: try c.decodeIfPresent(String.self, forKey: .tokenID),
            blockID: try revocationID(.blockID),
            rootBlockID: try revocationID(.rootBlockID),
            holderKeyID: holderKeyID,
            taskID: try c.decodeIfPresent(String.self, forKey: .taskID),
            detail: try c.decode(String.self, forKey: .detail),
            time: Timestamp(millisecondsSinceEpoch: try c.decode(Int64.self, forKey: .time))
        )
    }

    /// Encodes the stable field names.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(detector, forKey: .detector)
        try c.encodeIfPresent(agent, forKey: .agent)
        try c.encodeIfPresent(tokenID, forKey: .tokenID)
        try c.encodeIfPresent(blockID?.description, forKey: .blockID)
        try c.encodeIfPresent(rootBlockID?.description, forKey: .rootBlockID)
        try c.encodeIfPresent(holderKeyID?.description, forKey: .holderKeyID)
        try c.encodeIfPresent(taskID, forKey: .taskID)
        try c.encode(detail, forKey: .detail)
        try c.encode(time.millisecondsSinceEpoch, forKey: .time)
    }
}
