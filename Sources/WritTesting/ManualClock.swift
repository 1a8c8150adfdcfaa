import Synchronization
public import WritCrypto

/// A wall clock that moves only when a test tells it to.
public final class ManualClock: WallClock {
    private let current: Mutex<Timestamp>

    /// Creates a clock at `start` (default: 2026-01-01T00:00:00Z).
    public init(_ start: Timestamp = Timestamp(secondsSinceEpoch: 1_767_225_600)) {
        current = Mutex(start)
    }

    public func now() -> Timestamp { current.withLock { $0 } }

    /// Moves the clock forward (or back, with a negative duration).
    public func advance(by duration: Duration) {
        current.withLock { $0 = $0.advanced(by: duration) }
    }

    /// Sets the clock to `time`.
    public func set(_ time: Timestamp) {
        current.withLock { $0 = time }
    }
}
