import Synchronization

/// Hands every subscriber the feed's new tip sequence after each write (a wake-up hint, never data: followers
/// always read and verify the feed itself).
///
/// Package access: the SQLite store announces its own writes with it too.
///
/// Each call to ``subscribe()`` gets its own stream, buffering only the newest value (a slow subscriber never
/// holds back a writer); a stream ends when its consumer stops iterating.
package final class FeedAnnouncer: Sendable {
    /// An announcer with no subscribers.
    package init() {}

    private let subscribers = Mutex<(next: UInt64, continuations: [UInt64: AsyncStream<UInt64>.Continuation])>(
        (0, [:])
    )

    /// A new stream of announced sequences.
    package func subscribe() -> AsyncStream<UInt64> {
        let (stream, continuation) = AsyncStream<UInt64>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = subscribers.withLock { state in
            state.next += 1
            state.continuations[state.next] = continuation
            return state.next
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.continuations.removeValue(forKey: id) }
        }
        return stream
    }

    /// Tells every subscriber that the feed reached `sequence`.
    package func announce(_ sequence: UInt64) {
        let continuations = subscribers.withLock { Array($0.continuations.values) }
        for continuation in continuations { continuation.yield(sequence) }
    }

    deinit { for continuation in subscribers.withLock({ Array($0.continuations.values) }) { continuation.finish() } }
}
