/// The right edge of a log's RFC 6962 tree. A store keeps it with each batch so that an ``AuditLog`` reopens in
/// O(log n) instead of re-reading every entry.
///
/// It holds the leaf hash of the last entry (index `size - 1`) and the frontier of the entries before it: the
/// hashes of the complete subtrees in the binary decomposition of `size - 1`, largest (leftmost) first. That is at
/// most log2(n) + 1 hashes in all. Appending the last leaf to that frontier gives the tree of `size` entries, so
/// ``rootHash`` must equal the root in the batch's signed checkpoint. A store cannot present a frontier or a last
/// leaf other than the signed ones, short of a SHA-256 collision. Stores keep it as opaque bytes
/// (``rawRepresentation``) and never interpret it.
///
/// Encoding (version 1): `u8 1 ‖ u64 size ‖ [32] last leaf hash ‖ u8 count ‖ count × [32] hash`, big-endian.
public struct AuditFrontier: Sendable, Hashable {
    /// Number of entries covered (at least 1).
    public let size: UInt64
    /// The leaf hash of entry `size - 1`.
    public let lastLeafHash: [UInt8]
    /// The roots of the complete subtrees that make up entries `0 ..< size - 1`, leftmost first.
    public let hashes: [[UInt8]]

    /// Creates a frontier.
    ///
    /// - Throws: ``AuditError/Code/invalidEncoding`` when `size` is 0, a hash is not 32 bytes, or `hashes` does not
    ///   hold one hash per set bit of `size - 1`.
    public init(size: UInt64, lastLeafHash: [UInt8], hashes: [[UInt8]]) throws {
        guard size > 0 else { throw AuditError(.invalidEncoding, "a frontier covers at least one entry") }
        guard lastLeafHash.count == RFC6962.hashByteCount, hashes.allSatisfy({ $0.count == RFC6962.hashByteCount })
        else {
            throw AuditError(.invalidEncoding, "frontier hashes must be 32 bytes")
        }
        guard hashes.count == (size - 1).nonzeroBitCount else {
            throw AuditError(
                .invalidEncoding,
                "a frontier of size \(size) needs \((size - 1).nonzeroBitCount) hashes, not \(hashes.count)"
            )
        }
        self.size = size
        self.lastLeafHash = lastLeafHash
        self.hashes = hashes
    }

    /// The RFC 6962 root of the `size` entries: the last leaf appended to the frontier, folded from the right.
    public var rootHash: [UInt8] {
        var nodes = completeSubtrees
        var root = nodes.removeLast()
        while let left = nodes.popLast() { root = RFC6962.nodeHash(left, root) }
        return root
    }

    /// The roots of the complete subtrees in the binary decomposition of `size` (the frontier of the whole log),
    /// leftmost first: ``hashes`` with the last leaf appended and merged.
    var completeSubtrees: [[UInt8]] {
        var nodes = hashes
        nodes.append(lastLeafHash)
        // The last leaf completes one subtree per trailing one bit of `size - 1`.
        var carry = size - 1
        while carry & 1 == 1 {
            let right = nodes.removeLast()
            let left = nodes.removeLast()
            nodes.append(RFC6962.nodeHash(left, right))
            carry >>= 1
        }
        return nodes
    }

    /// The frontier's canonical bytes.
    public var rawRepresentation: [UInt8] {
        var out: [UInt8] = [1]
        out.reserveCapacity(42 + 32 * hashes.count)
        for shift in stride(from: 56, through: 0, by: -8) {
            out.append(UInt8(truncatingIfNeeded: size >> UInt64(shift)))
        }
        out.append(contentsOf: lastLeafHash)
        out.append(UInt8(hashes.count))
        for hash in hashes { out.append(contentsOf: hash) }
        return out
    }

    /// Parses a frontier's canonical bytes strictly.
    ///
    /// - Throws: ``AuditError/Code/invalidEncoding`` for another version, a wrong length or an inconsistent count.
    public init(rawRepresentation bytes: some Collection<UInt8>) throws {
        let bytes = Array(bytes)
        guard bytes.count >= 42, bytes[0] == 1 else {
            throw AuditError(.invalidEncoding, "not a version 1 frontier")
        }
        let size = bytes[1..<9].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let count = Int(bytes[41])
        guard bytes.count == 42 + 32 * count else {
            throw AuditError(.invalidEncoding, "frontier of \(bytes.count) bytes for \(count) hashes")
        }
        try self.init(
            size: size,
            lastLeafHash: Array(bytes[9..<41]),
            hashes: (0..<count).map { Array(bytes[42 + 32 * $0..<74 + 32 * $0]) }
        )
    }
}
