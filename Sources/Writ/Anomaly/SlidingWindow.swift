import Synchronization
import WritCrypto

/// Per-key event times within a sliding window, bounded in keys and in events per key.
///
/// Used by the default detectors. When more than `maximumKeys` keys are tracked, the key tracked longest is
/// dropped (first in, first out, O(1)), so memory stays bounded under a flood of distinct keys.
final class SlidingWindows<Value: Hashable & Sendable>: Sendable {
    private struct Entry {
        var events: [(time: Timestamp, value: Value)] = []
        var tripped = false
    }

    private let window: Duration
    private let maximumKeys: Int
    private let maximumEventsPerKey: Int
    private struct State {
        var entries: [String: Entry] = [:]
        /// Keys in the order they started being tracked; `head` is the oldest still tracked.
        var order: [String] = []
        var head = 0
    }

    private let state = Mutex(State())

    init(window: Duration, maximumKeys: Int = 10_000, maximumEventsPerKey: Int = 4_096) {
        self.window = window
        self.maximumKeys = maximumKeys
        self.maximumEventsPerKey = maximumEventsPerKey
    }

    /// Adds an event for `key` and returns how many events of that key are inside the window, how many distinct
    /// values they hold (computed only once `count` reaches `distinctFrom`, else 0), and whether this key has
    /// ever tripped (for detectors that report a key only once). The entry is updated in place: no copy of its
    /// events per call.
    func add(
        _ value: Value,
        for key: String,
        at time: Timestamp,
        distinctFrom: Int = .max
    )
        -> (count: Int, distinct: Int, alreadyTripped: Bool)
    {
        state.withLock { state in
            let cutoff = time.advanced(by: .zero - window)
            if state.entries[key] == nil {
                if state.entries.count >= maximumKeys {
                    state.entries.removeValue(forKey: state.order[state.head])
                    state.head += 1
                    if state.head > maximumKeys {  // compact the consumed prefix now and then
                        state.order.removeFirst(state.head)
                        state.head = 0
                    }
                }
                state.order.append(key)
            }
            return Self.record(
                value,
                at: time,
                after: cutoff,
                limit: maximumEventsPerKey,
                distinctFrom: distinctFrom,
                in: &state.entries[key, default: Entry()]
            )
        }
    }

    private static func record(
        _ value: Value,
        at time: Timestamp,
        after cutoff: Timestamp,
        limit: Int,
        distinctFrom: Int,
        in entry: inout Entry
    ) -> (count: Int, distinct: Int, alreadyTripped: Bool) {
        // Events are in time order: drop the expired prefix.
        if let firstLive = entry.events.firstIndex(where: { $0.time > cutoff }) {
            if firstLive > 0 { entry.events.removeFirst(firstLive) }
        } else {
            entry.events.removeAll(keepingCapacity: true)
        }
        if entry.events.count >= limit { entry.events.removeFirst() }
        entry.events.append((time, value))
        let count = entry.events.count
        let distinct = count >= distinctFrom ? Set(entry.events.lazy.map(\.value)).count : 0
        return (count, distinct, entry.tripped)
    }

    /// Marks `key` as having tripped its detector, and starts counting afresh: a burst that goes on is reported
    /// again once it crosses the threshold again.
    func markTripped(_ key: String) {
        state.withLock {
            $0.entries[key]?.tripped = true
            $0.entries[key]?.events.removeAll()
        }
    }
}
