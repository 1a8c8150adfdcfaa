import CSodium

/// Secret bytes held in memory that is zeroised when the last copy is released.
///
/// The bytes never appear in `description` or `debugDescription` (both print `<redacted>`), equality is
/// evaluated in constant time, and the storage is wiped with `sodium_memzero` in `deinit`.
public struct SecureBytes: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    let storage: Storage

    /// Allocates `count` bytes and lets `initializer` fill them in place (no temporary copy is made).
    package init(count: Int, initializer: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        storage = Storage(count: count)
        try initializer(storage.mutableBytes)
    }

    /// Copies `bytes` into zeroised-on-release storage.
    ///
    /// The caller remains responsible for wiping the source it passes in.
    public init(_ bytes: some Collection<UInt8>) {
        storage = Storage(count: bytes.count)
        _ = storage.mutableBytes.initializeMemory(as: UInt8.self, from: bytes)
    }

    /// Makes `count` bytes from the operating system's secure random source.
    public static func random(count: Int) -> SecureBytes {
        SodiumRuntime.ensureReady()
        return SecureBytes(count: count) { buffer in
            if let base = buffer.baseAddress { randombytes_buf(base, buffer.count) }
        }
    }

    /// The number of bytes.
    public var count: Int { storage.count }

    /// Calls `body` with read access to the secret bytes. Do not let the pointer escape.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(storage.mutableBytes))
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "SecureBytes(<redacted>, \(count) bytes)" }

    /// Constant-time comparison (lengths are not secret).
    public static func == (lhs: SecureBytes, rhs: SecureBytes) -> Bool {
        lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in ConstantTime.equals(a, b) } }
    }

    /// The heap storage.
    ///
    /// `@unchecked Sendable` is sound: the allocation is made once in `init`, written only by the creating
    /// initialiser before the value can be shared, never reallocated, read-only afterwards, and zeroised then
    /// freed in `deinit` when no reference remains.
    final class Storage: @unchecked Sendable {
        private let allocation: UnsafeMutableRawBufferPointer
        let count: Int

        init(count: Int) {
            precondition(count >= 0)
            self.count = count
            allocation = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
            allocation.initializeMemory(as: UInt8.self, repeating: 0)
        }

        var mutableBytes: UnsafeMutableRawBufferPointer {
            UnsafeMutableRawBufferPointer(rebasing: allocation[0..<count])
        }

        /// Test-only view of the raw allocation, to check that it is wiped.
        var allocationForTesting: UnsafeMutableRawBufferPointer { allocation }

        /// Zeroises the whole allocation (what `deinit` does before freeing it).
        func wipe() {
            if let base = allocation.baseAddress { sodium_memzero(base, allocation.count) }
        }

        /// Test-only: wipes without freeing, so a test can observe the wipe.
        func wipeForTesting() { wipe() }

        deinit {
            wipe()
            allocation.deallocate()
        }
    }
}
