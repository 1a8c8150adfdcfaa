import WritCrypto

extension AuditLog {
    /// What a store holds at its end: the count, the latest checkpoint (its signature checked) and the frontier
    /// stored with it when it matches, and the last entry's header.
    struct Tail {
        var count: UInt64
        var checkpoint: SignedCheckpoint?
        var frontier: AuditFrontier?
        var lastLeafHash: [UInt8]

        /// Reads the tail of `store`: O(log n) work, whatever the log's length.
        ///
        /// - Throws: ``AuditError/Code/conflict`` when the last entry belongs to another service,
        ///   ``AuditError/Code/invalidSignature`` when the latest checkpoint is not signed by one of `keys`,
        ///   ``AuditError/Code/tampered`` when the frontier or the last entry does not match the checkpoint.
        static func read(_ store: some AuditStore, service: String, keys: [Ed25519.PublicKey]) async throws -> Tail {
            let count = try await store.count()
            var tail = Tail(count: count, checkpoint: nil, frontier: nil, lastLeafHash: AuditEntry.genesisHash)
            guard count > 0 else { return tail }
            guard let last = try await store.read(count - 1..<count).first else {
                throw AuditError(.storeFailure, "the store holds \(count) entries but returned no entry \(count - 1)")
            }
            let owner = try AuditEntry(decoding: last).event.service ?? ""
            guard owner == service else {
                throw AuditError(.conflict, "the stored log belongs to '\(owner)', not '\(service)'")
            }
            guard try EntryCodec.header(last).index == count - 1 else {
                throw AuditError(.tampered, "the last stored entry is not entry \(count - 1); run the verifier")
            }
            tail.lastLeafHash = RFC6962.leafHash(last)
            if let stored = try await store.latestCheckpoint() {
                let cp = stored.checkpoint
                guard cp.origin == service, keys.contains(where: { stored.isSigned(by: service, key: $0) }) else {
                    throw AuditError(
                        .invalidSignature,
                        "the store's latest checkpoint (size \(cp.size)) is not signed by this log's key as "
                            + "'\(service)' (after a key rotation, pass the old key in previousKeys)"
                    )
                }
                guard cp.size <= count else {
                    throw AuditError(
                        .tampered,
                        "the store's latest checkpoint covers \(cp.size) entries but it holds \(count): entries "
                            + "were removed; run the verifier"
                    )
                }
                tail.checkpoint = stored
                if cp.size == count, let frontier = try await store.latestFrontier(), frontier.size == count {
                    guard frontier.lastLeafHash == tail.lastLeafHash, frontier.rootHash == cp.rootHash else {
                        throw AuditError(
                            .tampered,
                            "the store's last entry or frontier does not match its signed checkpoint (size "
                                + "\(cp.size)): modified or replaced; run the verifier"
                        )
                    }
                    tail.frontier = frontier
                }
            }
            return tail
        }

        /// Checks that `tree` (built from the frontier or from every entry) ends at this tail.
        func check(against tree: MerkleTree) throws {
            guard tree.size == count, count == 0 || tree.leafHash(at: count - 1) == lastLeafHash else {
                throw AuditError(.tampered, "the store changed while the log was read; run the verifier")
            }
            if let cp = checkpoint?.checkpoint {
                guard try tree.root(size: cp.size) == cp.rootHash else {
                    throw AuditError(
                        .tampered,
                        "stored entries 0..<\(cp.size) do not match the log's signed checkpoint: modified or "
                            + "removed; run the verifier"
                    )
                }
            }
        }
    }
}

extension AuditLog.State {
    /// Reads entries `tree.size ..< end` from `store`, checking that each continues the chain, and adds them to
    /// the tree.
    mutating func extend(from store: some AuditStore, to end: UInt64) async throws {
        var start = tree.size
        while start < end {
            let upper = min(end, start + 65_536)
            for bytes in try await store.read(start..<upper) {
                let index = tree.size
                let header = try EntryCodec.header(bytes)
                guard header.index == index, header.previousHash.elementsEqual(lastLeafHash) else {
                    throw AuditError(.tampered, "stored entry \(index) does not continue the chain; run the verifier")
                }
                let leaf = RFC6962.leafHash(bytes)
                tree.append(leafHash: leaf)
                lastLeafHash = leaf
            }
            start = upper
        }
    }
}
