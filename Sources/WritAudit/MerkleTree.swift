/// An append-only RFC 6962 Merkle tree over leaf hashes, keeping every complete subtree so that roots of earlier
/// sizes, inclusion proofs and consistency proofs cost O(log n) hashes.
///
/// Level 0 holds the leaf hashes; level `k` holds the hash of every complete, aligned subtree of `2^k` leaves.
/// Memory is about 64 bytes per leaf. Appending costs one node hash per completed subtree (one on average).
///
/// A tree restored from an ``AuditFrontier`` (``init(frontier:)``) holds only the frontier's O(log n) hashes for
/// its first ``restoredSize`` leaves, and every node after them. Roots of sizes from ``restoredSize`` on, inclusion
/// proofs of leaves from it on and consistency proofs from it on need no other node; earlier ones throw
/// ``AuditError/Code/outOfRange``.
public struct MerkleTree: Sendable {
    /// levels[k] holds the hashes of complete subtrees of 2^k leaves, 32 bytes each, contiguously, starting with
    /// the subtree at index levelStart[k] (0 unless the tree was restored from a frontier).
    private var levels: [[UInt8]] = [[]]
    private var levelStart: [UInt64] = [0]

    /// Creates an empty tree.
    public init() {}

    /// Restores the tree of `frontier.size` leaves from its frontier, without its inner nodes.
    public init(frontier: AuditFrontier) {
        let base = frontier.size - 1
        var pending = frontier.hashes[...]
        if base > 0 {
            let top = 63 - base.leadingZeroBitCount
            levels = Array(repeating: [], count: top + 1)
            levelStart = Array(repeating: 0, count: top + 1)
            // The frontier's subtrees, largest first: one per set bit of `base`, at index (base >> k) - 1.
            for k in stride(from: top, through: 0, by: -1) {
                let present = base >> UInt64(k) & 1 == 1
                levelStart[k] = (base >> UInt64(k)) - (present ? 1 : 0)
                if present { levels[k] = pending.removeFirst() }
            }
        }
        size = base
        restoredSize = base
        append(leafHash: frontier.lastLeafHash)
    }

    /// Number of leaves.
    public private(set) var size: UInt64 = 0

    /// The leaves before this index are held only through the frontier the tree was restored from (0 for a tree
    /// built leaf by leaf).
    public private(set) var restoredSize: UInt64 = 0

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
            if levels.count == level + 1 {
                levels.append([])
                levelStart.append((size >> UInt64(level + 1)) - 1)
            }
            levels[level + 1].append(contentsOf: parent)
            level += 1
            count >>= 1
        }
    }

    /// The leaf hash at `index` (`restoredSize ..< size`, or the last leaf of the restored frontier).
    public func leafHash(at index: UInt64) -> [UInt8] { node(level: 0, index: index) }

    private func node(level: Int, index: UInt64) -> [UInt8] {
        precondition(index >= levelStart[level], "node \(index) at level \(level) precedes the restored frontier")
        let start = Int(index - levelStart[level]) * 32
        return Array(levels[level][start..<start + 32])
    }

    /// Drops the leaves from `newSize` on (the log forgets entries that never became durable).
    ///
    /// - Throws: ``AuditError/Code/outOfRange`` unless `restoredSize <= newSize <= size`.
    public mutating func truncate(to newSize: UInt64) throws {
        guard newSize >= restoredSize, newSize <= size else {
            throw AuditError(
                .outOfRange,
                "cannot cut a tree of \(size) leaves (restored at \(restoredSize)) to \(newSize)"
            )
        }
        for k in levels.indices {
            let keep = max(0, Int((newSize >> UInt64(k))) - Int(levelStart[k]))
            if levels[k].count > keep * 32 { levels[k].removeLast(levels[k].count - keep * 32) }
        }
        size = newSize
    }

    /// The frontier of the first `size` leaves, for a store to keep with the batch ending there.
    ///
    /// - Throws: ``AuditError/Code/outOfRange`` unless `restoredSize < size <= self.size`.
    public func frontier(size: UInt64) throws -> AuditFrontier {
        guard size > restoredSize, size <= self.size else {
            throw AuditError(
                .outOfRange,
                "no frontier of size \(size) in a tree of \(self.size) (restored at \(restoredSize))"
            )
        }
        let base = size - 1
        var hashes: [[UInt8]] = []
        for k in stride(from: 63, through: 0, by: -1) where base >> UInt64(k) & 1 == 1 {
            hashes.append(node(level: k, index: (base >> UInt64(k)) - 1))
        }
        return try AuditFrontier(size: size, lastLeafHash: leafHash(at: base), hashes: hashes)
    }

    private func requireHistory(_ size: UInt64, _ what: String) throws {
        guard size >= restoredSize else {
            throw AuditError(
                .outOfRange,
                "\(what) \(size) precedes the frontier the tree was restored from (\(restoredSize) leaves); load the full tree"
            )
        }
    }

    /// The root of the tree's first `size` leaves (the current root by default).
    ///
    /// - Throws: ``AuditError/Code/outOfRange`` when `size` exceeds the tree.
    public func root(size: UInt64? = nil) throws -> [UInt8] {
        let n = size ?? self.size
        guard n <= self.size else { throw AuditError(.outOfRange, "tree size \(n) beyond \(self.size) leaves") }
        if n == 0 { return RFC6962.emptyRoot }
        try requireHistory(n, "tree size")
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
        try requireHistory(index, "leaf")
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
        if oldSize > 0, oldSize < n {
            try requireHistory(oldSize, "tree size")
            subproof(oldSize, 0, n, true, &proof)
        }
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
