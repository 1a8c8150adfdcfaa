import WritCrypto

/// The canonical binary encoding of an ``AuditEntry`` (version 1). Hand-written so that the bytes, and therefore
/// every hash and signature over them, are deterministic and cheap to produce.
///
/// ```
/// u8  version (1)            u64 index (big-endian)       [32] previous leaf hash
/// u8  kind code              i64 time, ms since epoch (big-endian)
/// fields: u8 tag, u16 length (big-endian), value — tags strictly increasing; absent fields omitted
///   1 service  2 agent  3 task  4 step  5 token id  6 parent token id  7 revocation id (16 bytes)
///   8 audience  9 action  10 resource  11 decision (u8)  12 reason  13 trace id
///   14 attribute (repeated, keys strictly increasing by UTF-8 bytes): u16 key length, key, value
///   15 sensitive attribute (repeated, same order): u16 key length, key, 32-byte keyed digest
/// ```
enum EntryCodec {
    static let version: UInt8 = 1
    /// Largest value of one field, in bytes.
    static let maxFieldBytes = 4096
    /// Most free or sensitive attributes per entry.
    static let maxAttributes = 64
    /// Largest encoded entry.
    static let maxEntryBytes = 65_536
    static let headerBytes = 1 + 8 + 32 + 1 + 8

    enum Tag: UInt8 {
        case service = 1
        case agent = 2
        case task = 3
        case step = 4
        case tokenID = 5
        case parentTokenID = 6
        case revocationID = 7
        case audience = 8
        case action = 9
        case resource = 10
        case decision = 11
        case reason = 12
        case traceID = 13
        case attribute = 14
        case sensitive = 15
    }

    static func encode(_ entry: AuditEntry) throws -> [UInt8] {
        guard let time = entry.event.time, let service = entry.event.service else {
            throw AuditError(.invalidEncoding, "entry \(entry.index): event has no time or service")
        }
        return try encode(
            entry.event,
            index: entry.index,
            previousHash: entry.previousHash,
            service: service,
            time: time
        )
    }

    /// Encodes `event` with `service` and `time` in place of its own (so a log need not copy the event to stamp it).
    static func encode(
        _ event: AuditEvent,
        index: UInt64,
        previousHash: [UInt8],
        service: String,
        time: Timestamp
    ) throws -> [UInt8] {
        let entry = (index: index, previousHash: previousHash)
        var out = [UInt8]()
        out.reserveCapacity(256)
        out.append(version)
        appendUInt64(entry.index, to: &out)
        out.append(contentsOf: entry.previousHash)
        out.append(event.kind.code)
        appendUInt64(UInt64(bitPattern: time.millisecondsSinceEpoch), to: &out)
        try appendString(.service, service, to: &out)
        if let v = event.agent { try appendString(.agent, v, to: &out) }
        if let v = event.task { try appendString(.task, v, to: &out) }
        if let v = event.step { try appendString(.step, v, to: &out) }
        if let v = event.tokenID { try appendString(.tokenID, v, to: &out) }
        if let v = event.parentTokenID { try appendString(.parentTokenID, v, to: &out) }
        if let v = event.revocationID {
            out.append(Tag.revocationID.rawValue)
            appendUInt16(16, to: &out)
            appendUInt64(v.high, to: &out)
            appendUInt64(v.low, to: &out)
        }
        if let v = event.audience { try appendString(.audience, v, to: &out) }
        if let v = event.action { try appendString(.action, v, to: &out) }
        if let v = event.resource { try appendString(.resource, v, to: &out) }
        if let v = event.decision {
            out.append(Tag.decision.rawValue)
            appendUInt16(1, to: &out)
            out.append(v.code)
        }
        if let v = event.reason { try appendString(.reason, v, to: &out) }
        if let v = event.traceID { try appendString(.traceID, v, to: &out) }
        if !event.attributes.isEmpty {
            guard event.attributes.count <= maxAttributes else {
                throw AuditError(.oversized, "entry \(entry.index): more than \(maxAttributes) attributes")
            }
            for (key, value) in sortedByUTF8(event.attributes) {
                try appendPair(.attribute, key: key, value: Array(value.utf8), to: &out)
            }
        }
        if !event.sensitiveAttributes.isEmpty {
            guard event.sensitiveAttributes.count <= maxAttributes else {
                throw AuditError(.oversized, "entry \(entry.index): more than \(maxAttributes) sensitive attributes")
            }
            for (key, value) in sortedByUTF8(event.sensitiveAttributes) {
                guard let digest = value.digest, digest.count == 32 else {
                    throw AuditError(
                        .invalidEncoding,
                        "entry \(entry.index): sensitive attribute '\(key)' is not hashed"
                    )
                }
                try appendPair(.sensitive, key: key, value: digest, to: &out)
            }
        }
        guard out.count <= maxEntryBytes else {
            throw AuditError(.oversized, "entry \(entry.index): \(out.count) bytes, limit \(maxEntryBytes)")
        }
        return out
    }

    private static func sortedByUTF8<V>(_ dictionary: [String: V]) -> [(String, V)] {
        dictionary.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
    }

    @inline(__always)
    static func appendUInt64(_ value: UInt64, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) }
    }

    @inline(__always)
    static func appendUInt16(_ value: UInt16, to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: value >> 8))
        out.append(UInt8(truncatingIfNeeded: value))
    }

    private static func appendString(_ tag: Tag, _ value: String, to out: inout [UInt8]) throws {
        var value = value
        let count = value.utf8.count
        guard count <= maxFieldBytes else {
            throw AuditError(.oversized, "field \(tag) is \(count) bytes, limit \(maxFieldBytes)")
        }
        out.append(tag.rawValue)
        appendUInt16(UInt16(count), to: &out)
        value.withUTF8 { out.append(contentsOf: $0) }
    }

    private static func appendPair(_ tag: Tag, key: String, value: [UInt8], to out: inout [UInt8]) throws {
        let keyBytes = Array(key.utf8)
        let length = 2 + keyBytes.count + value.count
        guard !keyBytes.isEmpty, length <= maxFieldBytes else {
            throw AuditError(.oversized, "attribute '\(key.prefix(64))' is empty or larger than \(maxFieldBytes) bytes")
        }
        out.append(tag.rawValue)
        appendUInt16(UInt16(length), to: &out)
        appendUInt16(UInt16(keyBytes.count), to: &out)
        out.append(contentsOf: keyBytes)
        out.append(contentsOf: value)
    }

    // MARK: Decoding

    static func decode(_ bytes: [UInt8]) throws -> AuditEntry {
        guard bytes.count <= maxEntryBytes else {
            throw AuditError(.oversized, "entry is \(bytes.count) bytes, limit \(maxEntryBytes)")
        }
        var reader = Reader(bytes: bytes)
        let version = try reader.byte()
        guard version == EntryCodec.version else {
            throw AuditError(.invalidEncoding, "unknown entry version \(version)")
        }
        let index = try reader.uint64()
        let previous = try reader.take(32)
        let kindCode = try reader.byte()
        guard let kind = AuditEvent.Kind(code: kindCode) else {
            throw AuditError(.invalidEncoding, "entry \(index): unknown event kind \(kindCode)")
        }
        let time = Timestamp(millisecondsSinceEpoch: Int64(bitPattern: try reader.uint64()))
        var event = AuditEvent(kind, time: time)
        var lastTag: UInt8 = 0
        var lastKey: [UInt8] = []
        while !reader.isAtEnd {
            let tagByte = try reader.byte()
            guard let tag = Tag(rawValue: tagByte) else {
                throw AuditError(.invalidEncoding, "entry \(index): unknown field \(tagByte)")
            }
            let repeatable = tag == .attribute || tag == .sensitive
            guard tagByte > lastTag || (repeatable && tagByte == lastTag) else {
                throw AuditError(.invalidEncoding, "entry \(index): field \(tagByte) out of order")
            }
            if tagByte != lastTag { lastKey = [] }
            lastTag = tagByte
            let length = Int(try reader.uint16())
            guard length <= maxFieldBytes else {
                throw AuditError(.oversized, "entry \(index): field \(tagByte) is \(length) bytes")
            }
            let value = try reader.take(length)
            switch tag {
            case .service: event.service = try string(value, index)
            case .agent: event.agent = try string(value, index)
            case .task: event.task = try string(value, index)
            case .step: event.step = try string(value, index)
            case .tokenID: event.tokenID = try string(value, index)
            case .parentTokenID: event.parentTokenID = try string(value, index)
            case .revocationID:
                guard value.count == 16 else {
                    throw AuditError(.invalidEncoding, "entry \(index): revocation id length")
                }
                event.revocationID = try RevocationID(bytes: value)
            case .audience: event.audience = try string(value, index)
            case .action: event.action = try string(value, index)
            case .resource: event.resource = try string(value, index)
            case .decision:
                guard value.count == 1, let decision = AuditEvent.Decision(code: value[value.startIndex]) else {
                    throw AuditError(.invalidEncoding, "entry \(index): unknown decision")
                }
                event.decision = decision
            case .reason: event.reason = try string(value, index)
            case .traceID: event.traceID = try string(value, index)
            case .attribute, .sensitive:
                var pair = Reader(bytes: Array(value))
                let keyLength = Int(try pair.uint16())
                let key = Array(try pair.take(keyLength))
                guard !key.isEmpty, lastKey.isEmpty || lastKey.lexicographicallyPrecedes(key) else {
                    throw AuditError(.invalidEncoding, "entry \(index): attribute keys empty, repeated or out of order")
                }
                lastKey = key
                let keyString = try string(key[...], index)
                // Distinct bytes can be equal Swift strings (e.g. "e\u{301}" and "é"): one would silently replace the
                // other, and the decoded entry would no longer be what its leaf hash covers.
                guard event.attributes[keyString] == nil, event.sensitiveAttributes[keyString] == nil else {
                    throw AuditError(
                        .invalidEncoding,
                        "entry \(index): attribute keys that are equal as text (canonically equivalent Unicode)"
                    )
                }
                let rest = Array(try pair.take(pair.remaining))
                if tag == .attribute {
                    guard event.attributes.count < maxAttributes else {
                        throw AuditError(.oversized, "entry \(index): more than \(maxAttributes) attributes")
                    }
                    event.attributes[keyString] = try string(rest[...], index)
                } else {
                    guard rest.count == 32, event.sensitiveAttributes.count < maxAttributes else {
                        throw AuditError(.invalidEncoding, "entry \(index): bad sensitive attribute")
                    }
                    event.sensitiveAttributes[keyString] = SensitiveValue(digest: rest)
                }
            }
        }
        guard event.service != nil else {
            throw AuditError(.invalidEncoding, "entry \(index): no service")
        }
        return AuditEntry(trustedIndex: index, previousHash: Array(previous), event: event)
    }

    private static func string(_ bytes: ArraySlice<UInt8>, _ index: UInt64) throws -> String {
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw AuditError(.invalidEncoding, "entry \(index): field is not UTF-8")
        }
        return s
    }

    /// Reads the index and previous hash without decoding the rest (for rebuilding a log's state quickly).
    static func header(_ bytes: [UInt8]) throws -> (index: UInt64, previousHash: ArraySlice<UInt8>) {
        guard bytes.count >= headerBytes, bytes[0] == version else {
            throw AuditError(.invalidEncoding, "entry too short or unknown version")
        }
        var index: UInt64 = 0
        for i in 1...8 { index = index << 8 | UInt64(bytes[i]) }
        return (index, bytes[9..<41])
    }

    struct Reader {
        let bytes: [UInt8]
        var offset = 0

        var isAtEnd: Bool { offset == bytes.count }
        var remaining: Int { bytes.count - offset }

        mutating func byte() throws -> UInt8 {
            guard offset < bytes.count else { throw AuditError(.invalidEncoding, "entry truncated") }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
            guard count >= 0, count <= remaining else { throw AuditError(.invalidEncoding, "entry truncated") }
            defer { offset += count }
            return bytes[offset..<offset + count]
        }

        mutating func uint16() throws -> UInt16 {
            let s = try take(2)
            return UInt16(s[s.startIndex]) << 8 | UInt16(s[s.startIndex + 1])
        }

        mutating func uint64() throws -> UInt64 {
            var v: UInt64 = 0
            for b in try take(8) { v = v << 8 | UInt64(b) }
            return v
        }
    }
}
