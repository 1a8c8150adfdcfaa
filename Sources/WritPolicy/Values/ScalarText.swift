import Foundation

/// Cedar compares strings by their Unicode scalars, while Swift's `==` uses canonical equivalence
/// ("é" as one scalar equals "e" + combining accent). These helpers compare and hash the UTF-8 bytes, which
/// is the same as comparing scalars.
enum ScalarText {
    /// Whether two strings have the same Unicode scalars.
    @inline(__always)
    static func equal(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        var a = a
        var b = b
        return a.withUTF8 { pa in
            b.withUTF8 { pb in
                let n = pa.count
                if n <= 16 {
                    for i in 0..<n where pa[i] != pb[i] { return false }
                    return true
                }
                guard let ba = pa.baseAddress, let bb = pb.baseAddress else { return true }
                return memcmp(ba, bb, n) == 0
            }
        }
    }

    /// A 64-bit FNV-1a digest of the UTF-8 bytes, continuing from `seed` (length-terminated, so
    /// ("ab", "c") and ("a", "bc") differ).
    static func digest(_ s: String, seed: UInt64) -> UInt64 {
        var h = seed
        for byte in s.utf8 {
            h ^= UInt64(byte)
            h &*= 0x0000_0100_0000_01B3
        }
        h ^= UInt64(truncatingIfNeeded: s.utf8.count) &+ 0xFF
        h &*= 0x0000_0100_0000_01B3
        return h
    }

    /// Orders two strings by their UTF-8 bytes (the same order as by scalars): negative, zero or positive.
    @inline(__always)
    static func compare(_ a: String, _ b: String) -> Int {
        var a = a
        var b = b
        return a.withUTF8 { pa in
            b.withUTF8 { pb in
                let n = min(pa.count, pb.count)
                if n > 0, let ba = pa.baseAddress, let bb = pb.baseAddress {
                    let c = memcmp(ba, bb, n)
                    if c != 0 { return Int(c) }
                }
                return pa.count - pb.count
            }
        }
    }

    /// Feeds the string's UTF-8 bytes to a hasher.
    @inline(__always)
    static func hash(_ s: String, into hasher: inout Hasher) {
        var s = s
        s.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        hasher.combine(s.utf8.count)
    }
}
