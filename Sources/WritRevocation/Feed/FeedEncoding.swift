import WritCrypto

/// The SHA-256 hash that links one feed entry to the next (and that heads, floors and watermark reports name).
public struct RevocationFeedHash: Hashable, Sendable, CustomStringConvertible {
    /// Bytes in a hash.
    public static let byteCount = 32
    /// The hash that the first entry of a feed links to (no previous entry).
    public static let zero = RevocationFeedHash(trusted: [UInt8](repeating: 0, count: byteCount))

    /// The 32 hash bytes.
    public let bytes: [UInt8]

    /// Wraps 32 bytes.
    ///
    /// - Throws: ``RevocationError`` with code `malformed` for another length.
    public init(bytes: some Sequence<UInt8>) throws(RevocationError) {
        let raw = Array(bytes)
        guard raw.count == Self.byteCount else {
            throw RevocationError(.malformed, "a feed hash is \(Self.byteCount) bytes, got \(raw.count)")
        }
        self.bytes = raw
    }

    init(trusted bytes: [UInt8]) { self.bytes = bytes }

    /// The hash of a complete record's bytes (signature included), domain-separated.
    static func of(record: [UInt8]) -> RevocationFeedHash {
        var hash = SHA256()
        hash.update(FeedFormat.hashTag)
        hash.update(record)
        return RevocationFeedHash(trusted: hash.finalize())
    }

    /// The first 8 bytes in hex, enough to tell hashes apart in messages.
    public var description: String { Hex.encode(Array(bytes.prefix(8))) }
}

/// Constants of the signed revocation feed's binary format (`Docs/RevocationFeed.md`).
enum FeedFormat {
    /// The format version, first byte of every record.
    static let version: UInt8 = 1
    /// Prefixed to a record's bytes (up to its signature) to form the signed message.
    static let signingTag: [UInt8] = Array("writ.revocation-feed.v1\0".utf8)
    /// Prefixed to a complete record's bytes to form its hash.
    static let hashTag: [UInt8] = Array("writ.revocation-feed.hash.v1\0".utf8)
    /// The largest record the format allows (an entry naming a 1024-byte task is 1,162 bytes).
    static let maximumRecordBytes = 2048

    /// The second byte of every record.
    enum Kind: UInt8 {
        case entry = 1
        case head = 2
        case floor = 3
        case watermarkReport = 4
    }

    /// Stable one-byte codes for reasons (never an index into `allCases`, which could be reordered).
    static func code(of reason: RevocationReason) -> UInt8 {
        switch reason {
        case .completed: 1
        case .timeout: 2
        case .anomaly: 3
        case .handedOff: 4
        case .manual: 5
        case .keyCompromised: 6
        case .superseded: 7
        }
    }

    static func reason(code: UInt8) -> RevocationReason? {
        RevocationReason.allCases.first { Self.code(of: $0) == code }
    }

    /// Stable one-byte codes for target kinds.
    static func code(of kind: RevocationTarget.Kind) -> UInt8 {
        switch kind {
        case .block: 1
        case .task: 2
        case .agent: 3
        case .issuerKey: 4
        }
    }

    /// The signed message of a record whose bytes up to the signature are `unsigned`.
    static func signedMessage(_ unsigned: ArraySlice<UInt8>) -> [UInt8] { signingTag + unsigned }

    /// Signs `unsigned` with `signer` and returns the complete record (unsigned bytes, then the signature).
    static func sign(_ unsigned: [UInt8], with signer: some Signer) throws(RevocationError) -> [UInt8] {
        let signature: [UInt8]
        do {
            signature = try signer.signature(for: signedMessage(unsigned[...]))
        } catch {
            throw RevocationError(.storeUnavailable, "the revocation signer failed", underlying: error)
        }
        guard signature.count == Ed25519.signatureByteCount else {
            throw RevocationError(.storeUnavailable, "the revocation signer returned \(signature.count) bytes")
        }
        return unsigned + signature
    }
}

/// A record of the signed feed: its exact bytes end in an Ed25519 signature over the domain tag and everything before
/// it, by the key whose id it names. (Its other stored values are parsed from those bytes, so the synthesised
/// equality is equality of the bytes.)
protocol SignedFeedRecord: Hashable {
    /// The complete record, exactly as signed and stored.
    var bytes: [UInt8] { get }
    /// The id of the key that signed it.
    var keyID: KeyID { get }
    /// Where the signature starts in ``bytes``.
    var signatureStart: Int { get }
}

extension SignedFeedRecord {
    /// Whether the signature is valid by `key` (and `key` is the one the record names).
    func verifies(by key: Ed25519.PublicKey) -> Bool {
        key.keyID == keyID
            && key.isValidSignature(bytes[signatureStart...], for: FeedFormat.signedMessage(bytes[..<signatureStart]))
    }
}

/// Appends big-endian fields to a record.
struct FeedWriter {
    private(set) var bytes: [UInt8]

    init(kind: FeedFormat.Kind) { bytes = [FeedFormat.version, kind.rawValue] }

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) { bytes += [UInt8(value >> 8), UInt8(value & 0xff)] }
    mutating func u64(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }
    mutating func time(_ value: Timestamp) { u64(UInt64(bitPattern: value.millisecondsSinceEpoch)) }
    mutating func raw(_ value: [UInt8]) { bytes += value }
    /// A length-prefixed (u16) byte string.
    mutating func short(_ value: [UInt8]) {
        u16(UInt16(value.count))
        raw(value)
    }
}

/// Reads a record strictly: every field checked, nothing left over, every failure a typed error.
struct FeedReader {
    let bytes: [UInt8]
    private(set) var position = 0
    let what: String

    /// Starts reading a record of `kind`, checking its version and kind bytes.
    init(_ bytes: [UInt8], kind: FeedFormat.Kind, what: String) throws(RevocationError) {
        self.bytes = bytes
        self.what = what
        guard bytes.count <= FeedFormat.maximumRecordBytes else {
            throw RevocationError(.malformed, "\(what) is \(bytes.count) bytes, limit \(FeedFormat.maximumRecordBytes)")
        }
        let version = try u8("version")
        guard version == FeedFormat.version else {
            throw RevocationError(.malformed, "\(what) has unsupported format version \(version)")
        }
        let actual = try u8("kind")
        guard actual == kind.rawValue else {
            throw RevocationError(.malformed, "\(what) has record kind \(actual), expected \(kind.rawValue)")
        }
    }

    func fail(_ message: String) -> RevocationError { RevocationError(.malformed, "\(what): \(message)") }

    mutating func fixed(_ count: Int, _ field: String) throws(RevocationError) -> [UInt8] {
        guard bytes.count - position >= count else { throw fail("truncated in \(field)") }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    mutating func u8(_ field: String) throws(RevocationError) -> UInt8 { try fixed(1, field)[0] }

    mutating func u16(_ field: String) throws(RevocationError) -> UInt16 {
        let b = try fixed(2, field)
        return UInt16(b[0]) << 8 | UInt16(b[1])
    }

    mutating func u64(_ field: String) throws(RevocationError) -> UInt64 {
        try fixed(8, field).reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func time(_ field: String) throws(RevocationError) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: Int64(bitPattern: try u64(field)))
    }

    mutating func hash(_ field: String) throws(RevocationError) -> RevocationFeedHash {
        RevocationFeedHash(trusted: try fixed(RevocationFeedHash.byteCount, field))
    }

    mutating func keyID(_ field: String) throws(RevocationError) -> KeyID {
        guard let id = try? KeyID(bytes: try fixed(KeyID.byteCount, field)) else { throw fail("bad \(field)") }
        return id
    }

    mutating func short(_ field: String, maximum: Int) throws(RevocationError) -> [UInt8] {
        let count = Int(try u16("\(field) length"))
        guard count <= maximum else { throw fail("\(field) is \(count) bytes, limit \(maximum)") }
        return try fixed(count, field)
    }

    /// Reads the signature, which must end the record; returns where the signature starts.
    mutating func signature() throws(RevocationError) -> (signature: [UInt8], start: Int) {
        let start = position
        let signature = try fixed(Ed25519.signatureByteCount, "signature")
        guard position == bytes.count else { throw fail("\(bytes.count - position) bytes after the signature") }
        return (signature, start)
    }
}
