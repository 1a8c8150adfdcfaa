public import WritCrypto

/// Constants of the binary format, version 1 (specified byte by byte in `Docs/TokenFormat.md`).
public enum TokenFormat {
    /// The format version written in byte 0 of every token.
    public static let version: UInt8 = 1
    /// The text form's prefix, so secret scanners can find leaked tokens: `writ1_` followed by base64url.
    public static let textPrefix = "writ1_"
    /// The block kind of the issuer's block (block 0).
    public static let rootKind: UInt8 = 0x00
    /// The block kind of a delegation block.
    public static let delegationKind: UInt8 = 0x01

    /// Domain tag prefixed to block 0's signed message.
    static let rootTag: [UInt8] = Array("writ.token.root.v1\0".utf8)
    /// Domain tag prefixed to a delegation block's signed message.
    static let delegationTag: [UInt8] = Array("writ.token.delegation.v1\0".utf8)
    /// Domain tag prefixed to a signature when deriving a revocation id.
    static let revocationTag: [UInt8] = Array("writ.token.revocation-id.v1\0".utf8)

    /// A block's revocation id: the first 16 bytes of BLAKE2b-256(`writ.token.revocation-id.v1\0` ‖ signature).
    public static func revocationID(forSignature signature: some Collection<UInt8>) -> RevocationID {
        let tag = revocationTag
        let count = tag.count + signature.count
        // Built on the stack: this runs once per block on the verification path.
        let digest = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { buffer in
            var i = 0
            for b in tag {
                buffer[i] = b
                i += 1
            }
            for b in signature {
                buffer[i] = b
                i += 1
            }
            return BLAKE2b.hash(buffer: UnsafeRawBufferPointer(buffer), outputByteCount: 32)
        }
        // 32 digest bytes in, so the first 16 are always there.
        return RevocationID(ID128(bytes: digest.prefix(ID128.byteCount))!)
    }

    /// The largest text form accepted (prefix plus base64url of ``TokenLimits/maximumTokenBytes``).
    static let maximumTextLength = textPrefix.utf8.count + (TokenLimits.maximumTokenBytes * 4 + 2) / 3
}

/// Where a block lies in the token's bytes: `start` is its kind byte, `signatureStart` the first byte of its
/// 64-byte signature.
struct BlockSpan: Hashable, Sendable {
    let start: Int
    let signatureStart: Int
    var end: Int { signatureStart + Ed25519.signatureByteCount }
}
