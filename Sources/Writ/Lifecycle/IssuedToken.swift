public import WritCrypto
public import WritTokens

/// A token the authority minted for one task step, with the facts its holder needs to manage it.
public struct IssuedToken: Sendable, Hashable, CustomStringConvertible {
    /// The token.
    public let token: CapabilityToken
    /// The task it belongs to.
    public let taskID: String
    /// The step it was minted for.
    public let step: String
    /// When it was issued.
    public let issuedAt: Timestamp
    /// When it expires.
    public let expiresAt: Timestamp
    /// How many times this step's token has been refreshed so far.
    public let refreshCount: Int

    /// Creates a value (the authority does this when it mints).
    public init(
        token: CapabilityToken,
        taskID: String,
        step: String,
        issuedAt: Timestamp,
        expiresAt: Timestamp,
        refreshCount: Int
    ) {
        self.token = token
        self.taskID = taskID
        self.step = step
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.refreshCount = refreshCount
    }

    /// The revocation id of the token's root block.
    public var revocationID: RevocationID { token.root.revocationID }

    /// The token's lifetime.
    public var lifetime: Duration { issuedAt.duration(to: expiresAt) }

    /// Never prints the token itself.
    public var description: String {
        "IssuedToken(id: \(token.id), task: \(taskID), step: \(step), expires: \(expiresAt))"
    }
}
