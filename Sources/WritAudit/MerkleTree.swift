/// An append-only RFC 6962 Merkle tree over leaf hashes, keeping every complete subtree so that roots of earlier
/// sizes, inclusion proofs and consistency proofs cost O(log n) hashes.
///
/// Level 0 holds the leaf hashes; level `k` holds the hash of every complete, aligned subtree of `2^k` leaves.
/// Memory is about 64 bytes per leaf. Appending costs one node hash per completed subtree (one on average).
public struct MerkleTree: Sendable {
    /// levels[k] holds the hashes of complete subtrees of 2^k leaves, 32 bytes each, contiguously.
    private var levels: [[UInt8]] = [[]]

    /// Creates an empty tree.
    public init() {}

    /// Number of leaves.
    public private(set) var size: UInt64 = 0

    /// Appends a leaf by its hash (see ``RFC6962/leafHash(_:)``).
    public mutating func append(leafHash: [UInt8]) {
        precondition(leafHash.count == RFC6962.hashByteCount, "leaf hash must be 32 bytes")
        levels[0].append(contentsOf: leafHash)
        size += 1
        var level = 0
        var count = size
        // Each time the count at a level becomes even, the last two nodes complete a parent.
        while count & 1 == 0 {
            let n = levels[level].count / 32
            let parent = levels[level].withUnsafeBytes { buffer in
                RFC6962.nodeHash(
                    UnsafeRawBufferPointer(rebasing: buffer[(n - 2) * 32..<(n - 1) * 32]),
                    UnsafeRawBufferPointer(rebasing: buffer[(n - 1) * 32..<n * 32])
                )
            }
            if levels.count == level + 1 { levels.append([]) }
            levels[level + 1].append(contentsOf: parent)
            level += 1
            count >>= 1
        }
    }

    /// The leaf hash at `index`.
    public func leafHash(at index: UInt64) -> [UInt8] { node(level: 0, index: index) }

    private func node(level: Int, index: UInt64) -> [UInt8] {
        let start = Int(index) * 32
        return Array(levels[level][start..<start + 32])
    }

    /// The root of the tree's first `size` leaves (the current root by default).
    ///
    /// - Throws: ``AuditError/Code/outOfRange`` when `size` exceeds the tree.
    public func root(size: UInt64? = nil) throws -> [UInt8] {
        let n = size ?? self.size
        guard n <= self.size else { throw AuditError(.outOfRange, "tree size \(n) beyond \(self.size) leaves") }
        if n == 0 { return RFC6962.emptyRoot }
        return subtreeHash(0, n)
    }

    /// MTH(D[start..<end]) for a range that lies within the tree and starts at a multiple of the largest power of
    /// two below its length (always true for the ranges RFC 6962 proofs ask for).
    func subtreeHash(_ start: UInt64, _ end: UInt64) -> [UInt8] {
        let width = end - start
        if width & (width - 1) == 0, start % width == 0 {
            let level = width.trailingZeroBitCount
            return node(level: level, index: start >> UInt64(level))
        }
        let k = largestPowerOfTwo(below: width)
        return RFC6962.nodeHash(subtreeHash(start, start + k), subtreeHash(start + k, end))
    }

    /// The audit path proving that leaf `index` is in the tree of the first `size` leaves (RFC 6962 §2.1.1).
    ///
    /// - Throws: ``AuditError/Code/outOfRange`` unless `index < size <= self.size`.
    public func inclusionProof(index: UInt64, size: UInt64? = nil) throws -> [[UInt8]] {
        let n = size ?? self.size
        guard index < n, n <= self.size else {
            throw AuditError(.outOfRange, "no leaf \(index) in a tree of \(n) (log holds \(self.size))")
        }
        var proof: [[UInt8]] = []
        path(index, 0, n, &proof)
        return proof
    }

    private func path(_ m: UInt64, _ start: UInt64, _ end: UInt64, _ proof: inout [[UInt8]]) {
        let width = end - start
        guard width > 1 else { return }
        let k = largestPowerOfTwo(below: width)
        if m < k {
            path(m, start, start + k, &proof)
            proof.append(subtreeHash(start + k, end))
        } else {
            path(m - k, start + k, end, &proof)
            proof.append(subtreeHash(start, start + k))
        }
    }

    /// The proof that the tree of the first `oldSize` leaves is a prefix of the tree of the first `newSize`
    /// (RFC 6962 §2.1.2). Empty when the sizes are equal or `oldSize` is 0.
    ///
    /// - Throws: ``AuditError/Code/outOfRange`` unless `oldSize <= newSize <= self.size`.
    public func consistencyProof(from oldSize: UInt64, to newSize: UInt64? = nil) throws -> [[UInt8]] {
        let n = newSize ?? self.size
        guard oldSize <= n, n <= self.size else {
            throw AuditError(.outOfRange, "no consistency proof from \(oldSize) to \(n) (log holds \(self.size))")
        }
        var proof: [[UInt8]] = []
        if oldSize > 0, oldSize < n { subproof(oldSize, 0, n, true, &proof) }
        return proof
    }

    private func subproof(_ m: UInt64, _ start: UInt64, _ end: UInt64, _ whole: Bool, _ proof: inout [[UInt8]]) {
        let width = end - start
        if m == width {
            if !whole { proof.append(subtreeHash(start, end)) }
            return
        }
        let k = largestPowerOfTwo(below: width)
        if m <= k {
            subproof(m, start, start + k, whole, &proof)
            proof.append(subtreeHash(start + k, end))
        } else {
            subproof(m - k, start + k, end, false, &proof)
            proof.append(subtreeHash(start, start + k))
        }
    }
}

/// The largest power of two strictly less than `n` (n ≥ 2).
@inline(__always)
func largestPowerOfTwo(below n: UInt64) -> UInt64 {
    UInt64(1) << UInt64(63 - (n - 1).leadingZeroBitCount)
}
