import Dispatch
import Synchronization

/// What every harness shares: turning libFuzzer's buffer into bytes, failing a property check loudly, splitting
/// one input into two, and waiting for an asynchronous call.
public enum Harness {
    /// Runs `body` on the input as an array and returns libFuzzer's "keep going" code.
    ///
    /// Call it from `LLVMFuzzerTestOneInput`. A crash, trap or ``check(_:_:)`` failure inside `body` is what
    /// libFuzzer reports.
    public static func run(_ data: UnsafePointer<UInt8>, _ size: Int, _ body: ([UInt8]) -> Void) -> CInt {
        body(Array(UnsafeBufferPointer(start: data, count: size)))
        return 0
    }

    /// Stops the process with `message` when a property does not hold (`precondition` would trap without the
    /// message in a release build).
    public static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("property failed: \(message())") }
    }

    /// Splits an input into two parts: a 2-byte big-endian length `n`, then `n` bytes of the first part (fewer
    /// when the input is shorter), then the second part. ``join(_:_:)`` is the inverse.
    public static func split(_ bytes: [UInt8]) -> (first: [UInt8], second: [UInt8]) {
        guard bytes.count >= 2 else { return ([], []) }
        let count = min(Int(bytes[0]) << 8 | Int(bytes[1]), bytes.count - 2)
        return (Array(bytes[2..<2 + count]), Array(bytes[(2 + count)...]))
    }

    /// The input that ``split(_:)`` turns into `first` and `second` (`first` is at most 65,535 bytes).
    public static func join(_ first: [UInt8], _ second: [UInt8]) -> [UInt8] {
        precondition(first.count <= Int(UInt16.max), "the first part is longer than a 2-byte length")
        return [UInt8(first.count >> 8), UInt8(first.count & 0xff)] + first + second
    }

    /// Runs an asynchronous call to completion from synchronous code (libFuzzer calls harnesses synchronously).
    public static func wait<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let outcome = Outcome<T>()
        Task {
            let value = await body()
            outcome.value.withLock { $0 = value }
            outcome.done.signal()
        }
        outcome.done.wait()
        return outcome.value.withLock { $0! }
    }
}

/// Where ``Harness/wait(_:)``'s task leaves its value.
private final class Outcome<T: Sendable>: Sendable {
    let value = Mutex<T?>(nil)
    let done = DispatchSemaphore(value: 0)
}
