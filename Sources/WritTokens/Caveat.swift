/// An extra condition a block adds. Caveats of all blocks must hold (they are conjunctive); a caveat can only
/// narrow what a token allows.
///
/// Unknown caveat kinds are rejected when a token is parsed, so a verifier never ignores a condition it does not
/// understand.
public enum Caveat: Hashable, Sendable, CustomStringConvertible {
    /// The whole token may have at most this many delegation blocks (0 forbids any further delegation).
    /// Wire kind `0x01`.
    case maximumDelegationDepth(UInt8)
    /// A proof of possession must be at most this many seconds old (tighter than the verifier's window).
    /// Wire kind `0x02`.
    case maximumProofAge(seconds: UInt32)
    /// The request must carry the attribute `name` with exactly `value` (e.g. `method` = `GET`).
    /// Names and values are 1…255 bytes of visible ASCII. Wire kind `0x03`.
    case requestAttribute(name: String, value: String)

    /// The wire kind byte.
    public var kind: UInt8 {
        switch self {
        case .maximumDelegationDepth: 0x01
        case .maximumProofAge: 0x02
        case .requestAttribute: 0x03
        }
    }

    public var description: String {
        switch self {
        case .maximumDelegationDepth(let depth): "maximumDelegationDepth(\(depth))"
        case .maximumProofAge(let seconds): "maximumProofAge(\(seconds)s)"
        case .requestAttribute(let name, let value): "requestAttribute(\(name)=\(value))"
        }
    }
}
