import WritCrypto

/// The feed as a store holds it: a signed floor, the contiguous chain of entries after it, and the latest head.
///
/// Both built-in stores keep one (the file store as the index of its file); a database store can use
/// ``RevocationFeedChain`` for the same signing steps. Appending links and signs inside the caller's serialising
/// step; loading (``adopt(_:)``) checks that stored entries form one unbroken chain.
struct FeedLedger: Sendable {
    private(set) var floor: SignedFeedMark?
    /// Entries after the floor, contiguous and linked.
    private(set) var entries: [SignedRevocationEntry] = []
    private(set) var head: SignedFeedMark?
    /// The sequence of the newest entry for each target (to make retries idempotent).
    private var newestByTarget: [RevocationTarget: UInt64] = [:]

    var tip: RevocationFeedTip {
        if let last = entries.last { return RevocationFeedTip(sequence: last.sequence, hash: last.hash) }
        if let floor { return RevocationFeedTip(sequence: floor.sequence, hash: floor.hash) }
        return .start
    }

    private var firstSequence: UInt64 { (floor?.sequence ?? 0) + 1 }

    func entry(at sequence: UInt64) -> SignedRevocationEntry? {
        guard sequence >= firstSequence, sequence - firstSequence < UInt64(entries.count) else { return nil }
        return entries[Int(sequence - firstSequence)]
    }

    /// Refuses to write on a feed that is behind what the writer knows it wrote (a rolled-back store).
    func check(minimum: RevocationFeedTip?, store: String) throws(RevocationError) {
        guard let minimum else { return }
        let there = minimum.sequence == tip.sequence ? tip.hash : entry(at: minimum.sequence)?.hash
        guard !tip.continues(minimum) || (there.map { $0 != minimum.hash } ?? false) else { return }
        throw RevocationError(
            .tampered,
            "\(store) is at \(tip) but this authority already wrote \(minimum): the store was rolled back or forked"
        )
    }

    // MARK: Loading

    /// Adds a stored floor (only before any entry).
    mutating func adopt(floor mark: SignedFeedMark, store: String) throws(RevocationError) {
        guard floor == nil, entries.isEmpty else {
            throw RevocationError(.tampered, "\(store): a floor after the first record")
        }
        floor = mark
    }

    /// Adds a stored entry, which must continue the chain.
    mutating func adopt(_ entry: SignedRevocationEntry, store: String) throws(RevocationError) {
        let tip = self.tip
        guard entry.sequence == tip.sequence &+ 1 else {
            throw RevocationError(
                .tampered,
                "\(store): entry #\(entry.sequence) follows #\(tip.sequence) (entries missing or reordered)"
            )
        }
        guard entry.previousHash == tip.hash else {
            throw RevocationError(
                .tampered,
                "\(store): entry #\(entry.sequence) does not link to #\(tip.sequence) (an entry was altered or replaced)"
            )
        }
        entries.append(entry)
        newestByTarget[entry.entry.target] = entry.sequence
    }

    /// Sets the stored head, which must not claim more than the entries hold, nor another chain.
    mutating func adopt(head mark: SignedFeedMark, store: String) throws(RevocationError) {
        let tip = self.tip
        if mark.sequence > tip.sequence {
            throw RevocationError(
                .tampered,
                "\(store): entries end at #\(tip.sequence) but the signed head is at #\(mark.sequence) (deleted or truncated)"
            )
        }
        let hashThere = mark.sequence == tip.sequence ? tip.hash : entry(at: mark.sequence)?.hash
        if let hashThere, hashThere != mark.hash {
            throw RevocationError(.tampered, "\(store): the signed head names another entry #\(mark.sequence)")
        }
        head = mark
    }

    // MARK: Writing

    /// Appends each request (or returns the existing entry of an identical retry), signing with `signer`.
    mutating func append(
        _ requests: [RevocationRequest],
        signer: some Signer
    ) throws(RevocationError) -> (all: [SignedRevocationEntry], new: [SignedRevocationEntry]) {
        var all: [SignedRevocationEntry] = []
        var new: [SignedRevocationEntry] = []
        for request in requests {
            try request.target.validate()
            if let sequence = newestByTarget[request.target], let existing = entry(at: sequence),
                existing.entry.reason == request.reason, existing.entry.coversUntil >= request.coversUntil
            {
                all.append(existing)
                continue
            }
            let tip = self.tip
            let entry = try SignedRevocationEntry(
                signing: RevocationEntry(
                    sequence: tip.sequence + 1,
                    target: request.target,
                    reason: request.reason,
                    revokedAt: request.revokedAt,
                    coversUntil: request.coversUntil
                ),
                previousHash: tip.hash,
                signer: signer
            )
            entries.append(entry)
            newestByTarget[request.target] = entry.sequence
            all.append(entry)
            new.append(entry)
        }
        return (all, new)
    }

    /// Signs a head over the tip.
    mutating func publishHead(at time: Timestamp, signer: some Signer) throws(RevocationError) -> SignedFeedMark {
        let tip = self.tip
        let mark = try SignedFeedMark(
            signing: .head,
            sequence: tip.sequence,
            hash: tip.hash,
            issuedAt: time,
            signer: signer
        )
        head = mark
        return mark
    }

    /// Removes the longest prefix of entries that all stopped covering anything before `time`, and records a
    /// signed floor at the last one removed. (The chain must stay verifiable, so only a prefix can go: a long-lived
    /// entry holds back the pruning of everything after it, for at most the longest TTL of any class.)
    mutating func prune(
        expiredBefore time: Timestamp,
        at now: Timestamp,
        signer: some Signer
    ) throws(RevocationError) -> Int {
        let count = entries.prefix { $0.entry.coversUntil < time }.count
        guard count > 0 else { return 0 }
        let last = entries[count - 1]
        floor = try SignedFeedMark(
            signing: .floor,
            sequence: last.sequence,
            hash: last.hash,
            issuedAt: now,
            signer: signer
        )
        entries.removeFirst(count)
        newestByTarget = newestByTarget.filter { $0.value > last.sequence }
        return count
    }

    /// Up to `limit` entries after `sequence`, with the floor when the verifier is behind it, and the head.
    func page(after sequence: UInt64, limit: Int) -> RevocationFeedPage {
        let start = sequence < firstSequence ? 0 : Int(min(sequence - firstSequence + 1, UInt64(entries.count)))
        let end = start + min(limit, entries.count - start)
        return RevocationFeedPage(
            floor: sequence < firstSequence - 1 ? floor : nil,
            entries: Array(entries[start..<end]),
            head: head
        )
    }

    /// Replaces everything without checks (test support: tampering with a store's contents).
    mutating func overwrite(with page: RevocationFeedPage) {
        floor = page.floor
        entries = page.entries
        head = page.head
        newestByTarget = [:]
        for entry in entries { newestByTarget[entry.entry.target] = entry.sequence }
    }
}
