import WritCrypto

/// RFC 6962 (and RFC 9162 §2.1) Merkle tree hashing with SHA-256 through libsodium:
/// a leaf is `SHA-256(0x00 ‖ data)`, an interior node `SHA-256(0x01 ‖ left ‖ right)`, the empty tree
/// `SHA-256("")`. The distinct prefixes stop a leaf from being passed off as a node (second-preimage attack).
public enum RFC6962 {
    /// Bytes in every hash.
    public static let hashByteCount = 32

    /// The root of the empty tree, `SHA-256("")`.
    public static let emptyRoot: [UInt8] = SHA256.hash([UInt8]())

    /// The hash of a leaf holding `data`.
    public static func leafHash(_ data: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(byte: 0x00)
        data.withUnsafeBytes { hasher.update(buffer: $0) }
        return hasher.finalize()
    }

    /// The hash of an interior node with children `left` and `right`.
    public static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        left.withUnsafeBytes { l in right.withUnsafeBytes { r in nodeHash(l, r) } }
    }

    static func nodeHash(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(byte: 0x01)
        hasher.update(buffer: left)
        hasher.update(buffer: right)
        return hasher.finalize()
    }
}
