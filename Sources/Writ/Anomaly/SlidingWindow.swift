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

    /// Adds an event for `key` and returns the events of that key still inside the window, plus whether this
    /// key has ever tripped (for detectors that report a key only once).
    func add(_ value: Value, for key: String, at time: Timestamp) -> (values: [Value], alreadyTripped: Bool) {
        state.withLock { state in
            let cutoff = time.advanced(by: .zero - window)
            var entry = state.entries[key] ?? Entry()
            entry.events.removeAll { $0.time <= cutoff }
            if entry.events.count >= maximumEventsPerKey { entry.events.removeFirst() }
            entry.events.append((time, value))
            let tripped = entry.tripped
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
            state.entries[key] = entry
            return (entry.events.map(\.value), tripped)
        }
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
