import CSodium

/// Comparisons whose running time does not depend on the bytes compared.
public enum ConstantTime {
    /// Returns whether two byte buffers are equal, in time independent of their contents.
    ///
    /// Buffers of different lengths are unequal; the length itself is not treated as secret.
    public static func equals(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
        SodiumRuntime.ensureReady()
        guard lhs.count == rhs.count else { return false }
        guard lhs.count > 0, let a = lhs.baseAddress, let b = rhs.baseAddress else { return true }
        return sodium_memcmp(a, b, lhs.count) == 0
    }

    /// Returns whether two byte sequences are equal, in time independent of their contents.
    public static func equals(_ lhs: some Sequence<UInt8>, _ rhs: some Sequence<UInt8>) -> Bool {
        withContiguous(lhs) { a in withContiguous(rhs) { b in equals(a, b) } }
    }
}

/// Calls `body` with the bytes of `sequence` as one contiguous buffer, copying only when the sequence has no
/// contiguous storage of its own.
@inline(__always)
package func withContiguous<R>(
    _ sequence: some Sequence<UInt8>,
    _ body: (UnsafeRawBufferPointer) throws -> R
) rethrows -> R {
    if let result = try sequence.withContiguousStorageIfAvailable({ try body(UnsafeRawBufferPointer($0)) }) {
        return result
    }
    return try Array(sequence).withUnsafeBytes(body)
}
