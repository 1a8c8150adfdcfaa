import FuzzSupport
import WritAudit

/// Audit entry decoding: the decoder is strict, so an entry that decodes must encode back to the same bytes
/// (its Merkle leaf).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Harness.run(data, size) { bytes in
        guard let entry = try? AuditEntry(decoding: bytes) else { return }
        let encoded = try? entry.encoded()
        Harness.check(encoded == bytes, "a decoded entry encodes back to its bytes")
    }
}
