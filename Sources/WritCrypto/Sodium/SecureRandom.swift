import CSodium

/// The operating system's cryptographically secure random source, through libsodium.
public enum SecureRandom {
    /// Returns `count` random bytes.
    public static func bytes(count: Int) -> [UInt8] {
        SodiumRuntime.ensureReady()
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress { randombytes_buf(base, count) }
            initialized = count
        }
    }

    /// Returns a uniformly distributed random number in `0..<upperBound` (no modulo bias).
    public static func uniform(_ upperBound: UInt32) -> UInt32 {
        SodiumRuntime.ensureReady()
        return randombytes_uniform(upperBound)
    }
}

/// A `RandomNumberGenerator` backed by ``SecureRandom``, for APIs that take a generator.
public struct SecureRandomNumberGenerator: RandomNumberGenerator, Sendable {
    /// Creates a generator.
    public init() {}

    public mutating func next() -> UInt64 {
        SodiumRuntime.ensureReady()
        var value: UInt64 = 0
        withUnsafeMutableBytes(of: &value) { randombytes_buf($0.baseAddress!, 8) }
        return value
    }
}
