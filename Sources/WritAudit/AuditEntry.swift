import WritCrypto

/// One record of an audit log: an event, its position, and the hash of the entry before it.
///
/// The entry's canonical bytes (``encoded()``, format in `Docs/Audit.md`) are a leaf of the log's RFC 6962 Merkle
/// tree; ``previousHash`` is the leaf hash of the previous entry (32 zero bytes for entry 0), so the entries also
/// form a hash chain.
public struct AuditEntry: Sendable, Equatable {
    /// The entry's position in its log, from 0.
    public let index: UInt64
    /// The RFC 6962 leaf hash of the entry at `index - 1`; all zeros for the first entry.
    public let previousHash: [UInt8]
    /// The recorded event, with its time and service stamped.
    public let event: AuditEvent

    /// The chain link stored in the first entry.
    public static let genesisHash = [UInt8](repeating: 0, count: 32)

    /// Creates an entry.
    ///
    /// - Throws: ``AuditError/Code/invalidEncoding`` when the event has no time or service, the previous hash is
    ///   not 32 bytes, or a sensitive value is not hashed.
    public init(index: UInt64, previousHash: [UInt8], event: AuditEvent) throws {
        guard previousHash.count == 32 else {
            throw AuditError(.invalidEncoding, "previous hash must be 32 bytes, got \(previousHash.count)")
        }
        guard event.time != nil, event.service != nil else {
            throw AuditError(.invalidEncoding, "entry \(index): event has no time or service")
        }
        guard event.sensitiveAttributes.values.allSatisfy({ $0.digest != nil }) else {
            throw AuditError(.invalidEncoding, "entry \(index): a sensitive attribute is not hashed")
        }
        self.index = index
        self.previousHash = previousHash
        self.event = event
    }

    init(trustedIndex index: UInt64, previousHash: [UInt8], event: AuditEvent) {
        self.index = index
        self.previousHash = previousHash
        self.event = event
    }

    /// The entry's canonical bytes: the Merkle leaf, and what the store keeps.
    public func encoded() throws -> [UInt8] { try EntryCodec.encode(self) }

    /// Decodes canonical entry bytes, strictly: an unknown version, kind, decision or field, fields out of order,
    /// invalid UTF-8 or oversized values are rejected.
    ///
    /// - Throws: ``AuditError/Code/invalidEncoding`` or ``AuditError/Code/oversized``.
    public init(decoding bytes: some Collection<UInt8>) throws {
        self = try EntryCodec.decode(Array(bytes))
    }

    /// The RFC 6962 leaf hash of canonical entry bytes: `SHA-256(0x00 ‖ bytes)`.
    public static func leafHash(of encoded: [UInt8]) -> [UInt8] { RFC6962.leafHash(encoded) }
}
