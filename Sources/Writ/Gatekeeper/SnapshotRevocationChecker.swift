import Synchronization
public import WritCrypto
public import WritRevocation
public import WritTokens

/// Answers the token verifier's revocation question from a verifier-side `RevocationSnapshot`, plus a local
/// quarantine that takes effect at once (used when this service's own anomaly detectors fire, before the
/// authority's revocation has come back through the feed).
///
/// A snapshot whose data is older than its staleness bound makes every answer `unavailable`, so the verifier
/// fails closed.
public final class SnapshotRevocationChecker: RevocationChecker {
    /// The snapshot followed from the revocation feed.
    public let snapshot: RevocationSnapshot
    private let clock: any WallClock
    private let quarantine = Mutex<Quarantine>(Quarantine())

    private struct Quarantine {
        var blocks: Set<RevocationID> = []
        var order: [RevocationID] = []
        var head = 0
    }

    /// Most blocks kept in quarantine; the oldest are dropped first (by then the authority's revocation has
    /// reached the snapshot).
    public static let quarantineCapacity = 100_000

    /// Creates a checker over `snapshot`, reading the time from `clock`.
    public init(snapshot: RevocationSnapshot, clock: some WallClock) {
        self.snapshot = snapshot
        self.clock = clock
    }

    /// Refuses every token whose chain contains `block`, locally and at once (bounded; the authority's
    /// revocation makes it permanent and global).
    public func quarantine(block: RevocationID) {
        quarantine.withLock { q in
            guard q.blocks.insert(block).inserted else { return }
            q.order.append(block)
            if q.blocks.count > Self.quarantineCapacity {
                q.blocks.remove(q.order[q.head])
                q.head += 1
                if q.head >= Self.quarantineCapacity {  // drop the consumed prefix now and then: O(1) amortised
                    q.order.removeFirst(q.head)
                    q.head = 0
                }
            }
        }
    }

    /// The snapshot's answer for a token, with the full entry when it is revoked.
    public func lookup(_ facts: RevocationFacts) -> RevocationLookup {
        snapshot.status(
            blocks: facts.revocationIDs,
            task: facts.taskID,
            agents: [facts.subject.description] + facts.delegates.map(\.description),
            issuerKey: facts.issuerKeyID,
            now: clock.now()
        )
    }

    /// Revoked when quarantined or revoked in the snapshot; unavailable when the snapshot is stale.
    public func revocationStatus(_ facts: RevocationFacts) -> RevocationStatus {
        let quarantined = quarantine.withLock { q in
            !q.blocks.isEmpty && facts.revocationIDs.contains(where: q.blocks.contains)
        }
        if quarantined { return .revoked(reason: "quarantined after an anomaly") }
        switch lookup(facts) {
        case .notRevoked: return .notRevoked
        case .revoked(let entry): return .revoked(reason: "\(entry.reason.rawValue) (revocation #\(entry.sequence))")
        case .stale(let lastHeard, let bound):
            return .unavailable(
                reason: "revocation data last heard \(lastHeard.map(\.description) ?? "never"), older than \(bound)"
            )
        }
    }
}
