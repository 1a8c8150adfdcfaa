import Synchronization

/// A one-waiter wake-up flag: ``signal()`` ends the current ``wait()`` or, if none, the next one.
///
/// Cancellation ends a wait too. Used by ``RevocationFeedFollower`` to sync early on a push notification.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var nextWaiter: UInt64 = 0
        var waiter: (id: UInt64, continuation: CheckedContinuation<Void, Never>)?
    }

    private let state = Mutex(State())

    /// Wakes the waiter, or the next one if none is waiting.
    func signal() {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        continuation?.resume()
    }

    /// Returns when signalled (immediately if a signal is pending) or when the task is cancelled.
    func wait() async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return [continuation]
                    }
                    let replaced = state.waiter.map { [$0.continuation] } ?? []
                    state.waiter = (id, continuation)
                    return replaced
                }
                for continuation in resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard let waiter = state.waiter, waiter.id == id else { return nil }
                state.waiter = nil
                return waiter.continuation
            }
            continuation?.resume()
        }
    }
}
