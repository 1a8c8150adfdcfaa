// What `import Writ` brings into a host, and why.
//
// A host imports Writ beside a web framework (Hummingbird, Vapor), swift-crypto and its own code, so every name
// re-exported here lands in its namespace. Like Hummingbird (which re-exports a handful of `HTTPTypes` and
// `NIOCore` structs, not the modules), Writ re-exports only the types a host *names* when it embeds the
// authority, the provider, the gatekeeper or the broker, follows the revocation feed, keeps an audit log or
// verifies tokens offline: keys and clocks, identities and classes, trust bundles and attestation, tokens with
// their requests and errors, the stores it can plug in (in-memory and file backends) and the errors it catches.
// Members, conformances and the types of returned values still work without naming them.
//
// Building blocks stay behind their own module, and a host that needs one imports it (and depends on its
// product):
// - `WritCrypto`: encodings and primitives — `Hex`, `Base64URL`, `SHA256` (which would collide with
//   swift-crypto's), `BLAKE2b`, `SecretBox`, `SecureRandom`, `ConstantTime`.
// - `WritTokens`: the format's internals — `TokenFormat`, `TokenLimits`, `RootBlock`, `DelegationBlock`,
//   `TokenDigest`, `ReplayNonce`, and what a custom replay cache or revocation checker implements.
// - `WritPolicy`: the Cedar evaluator and its values — `PolicyRequest`, `PolicyDecision`, `CedarPolicy`,
//   `CedarValue`, `IPAddress`, … (the gatekeeper evaluates for the host; a host only writes a `PolicySet` and,
//   for groups, `PolicyEntities`).
// - `WritRevocation`: the feed's signed records and watermark reports, which a custom `RevocationStore` stores.
// - `WritAudit`: the Merkle tree, RFC 6962 proofs, note keys and checkpoint bodies.
//
// Adding a public type to a concept module does not widen this list; adding it here is a decision.
@_exported public import struct WritAudit.AuditEntry
@_exported public import struct WritAudit.AuditError
@_exported public import struct WritAudit.AuditEvent
@_exported public import struct WritAudit.AuditKeyring
@_exported public import class WritAudit.AuditLog
@_exported public import struct WritAudit.AuditSalt
@_exported public import protocol WritAudit.AuditSink
@_exported public import protocol WritAudit.AuditStore
@_exported public import struct WritAudit.AuditVerificationReport
@_exported public import enum WritAudit.AuditVerifier
@_exported public import struct WritAudit.CheckpointEvidence
@_exported public import class WritAudit.FileAuditStore
@_exported public import struct WritAudit.ForensicTimeline
@_exported public import class WritAudit.InMemoryAuditStore
@_exported public import struct WritAudit.SensitiveValue
@_exported public import struct WritAudit.SignedCheckpoint
@_exported public import struct WritCrypto.CryptoError
@_exported public import enum WritCrypto.Ed25519
@_exported public import struct WritCrypto.KeyID
@_exported public import struct WritCrypto.RevocationID
@_exported public import struct WritCrypto.SecureBytes
@_exported public import protocol WritCrypto.Signer
@_exported public import struct WritCrypto.SystemClock
@_exported public import struct WritCrypto.Timestamp
@_exported public import protocol WritCrypto.WallClock
@_exported public import struct WritIdentity.AgentClass
@_exported public import struct WritIdentity.AgentIdentity
@_exported public import struct WritIdentity.AttestationEvidence
@_exported public import struct WritIdentity.AttestedWorkload
@_exported public import protocol WritIdentity.Attestor
@_exported public import struct WritIdentity.IdentityDocument
@_exported public import struct WritIdentity.IdentityError
@_exported public import class WritIdentity.InMemoryJoinTokenStore
@_exported public import struct WritIdentity.JoinToken
@_exported public import class WritIdentity.JoinTokenAttestor
@_exported public import struct WritIdentity.JoinTokenRecord
@_exported public import protocol WritIdentity.JoinTokenStore
@_exported public import struct WritIdentity.TrustBundle
@_exported public import struct WritIdentity.TrustedKey
@_exported public import struct WritPolicy.AgentRequest
@_exported public import struct WritPolicy.EntityUID
@_exported public import struct WritPolicy.PolicyEntities
@_exported public import struct WritPolicy.PolicyEntity
@_exported public import struct WritPolicy.PolicyError
@_exported public import struct WritPolicy.PolicyID
@_exported public import struct WritPolicy.PolicySet
@_exported public import class WritRevocation.FileRevocationStore
@_exported public import class WritRevocation.FileWatermarkStore
@_exported public import class WritRevocation.InMemoryRevocationStore
@_exported public import class WritRevocation.InMemoryWatermarkStore
@_exported public import struct WritRevocation.RevocationError
@_exported public import class WritRevocation.RevocationFeedFollower
@_exported public import struct WritRevocation.RevocationProof
@_exported public import class WritRevocation.RevocationPublisher
@_exported public import enum WritRevocation.RevocationReason
@_exported public import class WritRevocation.RevocationSnapshot
@_exported public import protocol WritRevocation.RevocationStore
@_exported public import enum WritRevocation.RevocationTarget
@_exported public import protocol WritRevocation.WatermarkStore
@_exported public import struct WritTokens.Attenuation
@_exported public import struct WritTokens.CapabilityToken
@_exported public import enum WritTokens.Caveat
@_exported public import class WritTokens.FileNonceStore
@_exported public import class WritTokens.InMemoryReplayCache
@_exported public import struct WritTokens.NoRevocationChecker
@_exported public import protocol WritTokens.NonceStore
@_exported public import struct WritTokens.NonceStoreError
@_exported public import struct WritTokens.ProofOfPossession
@_exported public import protocol WritTokens.ReplayCache
@_exported public import struct WritTokens.ResourcePattern
@_exported public import protocol WritTokens.RevocationChecker
@_exported public import struct WritTokens.TokenClaims
@_exported public import struct WritTokens.TokenError
@_exported public import struct WritTokens.TokenID
@_exported public import struct WritTokens.TokenRequest
@_exported public import struct WritTokens.TokenVerifier
@_exported public import struct WritTokens.VerificationOptions
@_exported public import struct WritTokens.VerifiedToken
