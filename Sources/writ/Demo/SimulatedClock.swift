import Synchronization
import Writ

/// The demo's clock: starts at a fixed or current time and moves only when the scenario says so, so "wait
/// 8 seconds for the long step" takes no real time and a seeded run decides the same way every time.
final class SimulatedClock: WallClock {
    private let current: Mutex<Timestamp>

    init(start: Timestamp) { current = Mutex(start) }

    func now() -> Timestamp { current.withLock { $0 } }

    func advance(by duration: Duration) { current.withLock { $0 = $0.advanced(by: duration) } }
}
