import WritCrypto

/// A value that must never be written to an audit log in the clear: it is replaced by its keyed digest
/// (BLAKE2b-256 keyed with the log's ``AuditSalt``) when the log records the event.
///
/// Before the log hashes it, the value is held in zeroised ``SecureBytes`` and prints as `<redacted>`; an event
/// that still holds an unhashed value refuses to be encoded (JSON or the entry format), so a secret cannot leak
/// through serialisation by mistake.
public struct SensitiveValue: Sendable, Equatable, CustomStringConvertible {
    enum Storage: Sendable, Equatable {
        case secret(SecureBytes)
        case digest([UInt8])
    }

    let storage: Storage

    /// A secret string, to be hashed by the log.
    public init(_ value: String) { storage = .secret(SecureBytes(Array(value.utf8))) }

    /// Secret bytes, to be hashed by the log.
    public init(bytes: some Collection<UInt8>) { storage = .secret(SecureBytes(bytes)) }

    /// A value already hashed with a log's salt (as read back from a log).
    public init(digest: [UInt8]) { storage = .digest(digest) }

    /// The keyed digest, once the value has been hashed; `nil` while it is still the secret.
    public var digest: [UInt8]? {
        if case .digest(let d) = storage { return d }
        return nil
    }

    /// This value hashed with `salt` (unchanged when already hashed).
    public func hashed(with salt: AuditSalt) -> SensitiveValue {
        switch storage {
        case .digest: self
        case .secret(let bytes): SensitiveValue(digest: bytes.withUnsafeBytes { salt.digest(of: $0) })
        }
    }

    /// `<redacted>` for a secret, `keyed-blake2b:<hex>` for a digest.
    public var description: String {
        switch storage {
        case .secret: "<redacted>"
        case .digest(let d): "keyed-blake2b:" + Hex.encode(d)
        }
    }
}
