import WritCrypto

/// Verification of RFC 6962 / RFC 9162 Merkle proofs, and of the subtree proofs of the Merkle Tree Certificates
/// draft (a range `[start, end)` that is a node of a larger tree). Every hash in a proof must be 32 bytes.
///
/// Passes the 518 vectors of transparency-dev/merkle's `testdata` (run by `MerkleConformanceTests`).
public enum MerkleProof {
    /// Checks that `leafHash` is leaf `index` of the tree of `treeSize` leaves whose root is `root`.
    ///
    /// - Throws: ``AuditError/Code/invalidProof`` naming what did not match.
    public static func verifyInclusion(
        index: UInt64,
        treeSize: UInt64,
        leafHash: [UInt8],
        proof: [[UInt8]],
        root: [UInt8]
    ) throws {
        let computed = try rootFromInclusion(index: index, treeSize: treeSize, leafHash: leafHash, proof: proof)
        guard computed == root else { throw AuditError(.invalidProof, "inclusion proof leads to a different root") }
    }

    /// The root that an inclusion proof for leaf `index` of a `treeSize`-leaf tree leads to (RFC 9162 §2.1.3.2).
    ///
    /// - Throws: ``AuditError/Code/invalidProof`` for an index outside the tree or a proof of the wrong shape.
    public static func rootFromInclusion(
        index: UInt64,
        treeSize: UInt64,
        leafHash: [UInt8],
        proof: [[UInt8]]
    ) throws -> [UInt8] {
        guard index < treeSize else {
            throw AuditError(.invalidProof, "leaf index \(index) not below tree size \(treeSize)")
        }
        guard leafHash.count == RFC6962.hashByteCount else {
            throw AuditError(.invalidProof, "leaf hash is \(leafHash.count) bytes, want 32")
        }
        try checkHashes(proof)
        var fn = index
        var sn = treeSize - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { throw AuditError(.invalidProof, "inclusion proof has too many hashes") }
            if fn & 1 == 1 || fn == sn {
                r = RFC6962.nodeHash(p, r)
                while fn & 1 == 0, fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                r = RFC6962.nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw AuditError(.invalidProof, "inclusion proof has too few hashes") }
        return r
    }

    /// Checks that the tree of `oldSize` leaves with root `oldRoot` is a prefix of the tree of `newSize` leaves with
    /// root `newRoot` (RFC 9162 §2.1.4.2). A consistency proof from the empty tree proves nothing and is rejected.
    ///
    /// - Throws: ``AuditError/Code/invalidProof`` naming what did not match.
    public static func verifyConsistency(
        oldSize: UInt64,
        newSize: UInt64,
        oldRoot: [UInt8],
        newRoot: [UInt8],
        proof: [[UInt8]]
    ) throws {
        guard oldSize <= newSize else {
            throw AuditError(.invalidProof, "old size \(oldSize) is larger than new size \(newSize)")
        }
        guard oldSize > 0 else { throw AuditError(.invalidProof, "consistency with the empty tree proves nothing") }
        if oldSize == newSize {
            guard proof.isEmpty else { throw AuditError(.invalidProof, "equal sizes need an empty proof") }
            guard oldRoot == newRoot else { throw AuditError(.invalidProof, "same size, different roots") }
            return
        }
        try verifySubtreeConsistency(
            start: 0,
            end: oldSize,
            treeSize: newSize,
            subtreeRoot: oldRoot,
            root: newRoot,
            proof: proof
        )
    }

    /// Checks that `leafHash` is leaf `index` of the subtree `[start, end)` whose hash is `subtreeRoot`.
    ///
    /// - Throws: ``AuditError/Code/invalidProof`` for an invalid subtree, an index outside it, or a mismatch.
    public static func verifySubtreeInclusion(
        index: UInt64,
        start: UInt64,
        end: UInt64,
        leafHash: [UInt8],
        proof: [[UInt8]],
        subtreeRoot: [UInt8]
    ) throws {
        guard start < end, isValidSubtree(start: start, end: end) else {
            throw AuditError(.invalidProof, "[\(start), \(end)) is not a subtree")
        }
        guard index >= start, index < end else {
            throw AuditError(.invalidProof, "index \(index) outside subtree [\(start), \(end))")
        }
        try verifyInclusion(
            index: index - start,
            treeSize: end - start,
            leafHash: leafHash,
            proof: proof,
            root: subtreeRoot
        )
    }

    /// Checks that the subtree `[start, end)` with hash `subtreeRoot` is part of the tree of `treeSize` leaves with
    /// root `root` (Merkle Tree Certificates draft, subtree consistency). An empty subtree is consistent with any
    /// tree when its hash is the empty root and the proof is empty.
    ///
    /// - Throws: ``AuditError/Code/invalidProof`` naming what did not match.
    public static func verifySubtreeConsistency(
        start: UInt64,
        end: UInt64,
        treeSize: UInt64,
        subtreeRoot: [UInt8],
        root: [UInt8],
        proof: [[UInt8]]
    ) throws {
        guard start <= end, isValidSubtree(start: start, end: end) else {
            throw AuditError(.invalidProof, "[\(start), \(end)) is not a subtree")
        }
        guard end <= treeSize else {
            throw AuditError(.invalidProof, "subtree end \(end) beyond tree size \(treeSize)")
        }
        if start == end {
            guard proof.isEmpty, subtreeRoot == RFC6962.emptyRoot else {
                throw AuditError(.invalidProof, "an empty subtree needs the empty root and an empty proof")
            }
            return
        }
        try checkHashes(proof)
        var fn = start
        var sn = end - 1
        var tn = treeSize - 1
        if sn == tn {
            while fn != sn {
                fn >>= 1
                sn >>= 1
                tn >>= 1
            }
        } else {
            while fn != sn, sn & 1 == 1 {
                fn >>= 1
                sn >>= 1
                tn >>= 1
            }
        }
        var remaining = proof[...]
        var fr: [UInt8]
        var sr: [UInt8]
        if fn == sn {
            fr = subtreeRoot
            sr = subtreeRoot
        } else {
            guard let first = remaining.popFirst() else {
                throw AuditError(.invalidProof, "empty consistency proof")
            }
            fr = first
            sr = first
        }
        for c in remaining {
            guard tn != 0 else { throw AuditError(.invalidProof, "consistency proof has too many hashes") }
            if sn & 1 == 1 || sn == tn {
                if fn < sn { fr = RFC6962.nodeHash(c, fr) }
                sr = RFC6962.nodeHash(c, sr)
                while sn & 1 == 0, sn != 0 {
                    fn >>= 1
                    sn >>= 1
                    tn >>= 1
                }
            } else {
                sr = RFC6962.nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
            tn >>= 1
        }
        guard tn == 0 else { throw AuditError(.invalidProof, "consistency proof has too few hashes") }
        guard fr == subtreeRoot else { throw AuditError(.invalidProof, "proof does not lead to the old root") }
        guard sr == root else { throw AuditError(.invalidProof, "proof does not lead to the new root") }
    }

    /// Whether `[start, end)` is a node of some Merkle tree: `start` is a multiple of the smallest power of two
    /// at least `end - start` (an empty range counts as valid).
    public static func isValidSubtree(start: UInt64, end: UInt64) -> Bool {
        guard start <= end else { return false }
        if start == 0 || start == end { return true }
        let width = end - start
        guard width <= UInt64(1) << 63 else { return false }
        let ceiling: UInt64 = width <= 1 ? 1 : UInt64(1) << UInt64(64 - (width - 1).leadingZeroBitCount)
        return start & (ceiling - 1) == 0
    }

    private static func checkHashes(_ proof: [[UInt8]]) throws {
        for (i, h) in proof.enumerated() where h.count != RFC6962.hashByteCount {
            throw AuditError(.invalidProof, "proof hash \(i) is \(h.count) bytes, want 32")
        }
    }
}
