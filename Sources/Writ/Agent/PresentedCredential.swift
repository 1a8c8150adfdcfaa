/// What an agent sends with one call: the token and a fresh proof of possession for exactly that call.
///
/// Both values are bearer-sensitive while the proof is fresh, so ``description`` never prints them.
public struct PresentedCredential: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The token text (`writ1_…`), e.g. for an `Authorization: Writ` header.
    public let token: String
    /// The proof-of-possession text (`writp1_…`), e.g. for a `Writ-Proof` header.
    public let proof: String

    /// Creates a value.
    public init(token: String, proof: String) {
        self.token = token
        self.proof = proof
    }

    public var description: String { "PresentedCredential(<redacted>)" }
    public var debugDescription: String { description }
}
