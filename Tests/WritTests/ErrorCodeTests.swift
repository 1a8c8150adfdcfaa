import Foundation
import Testing
import Writ
import WritAudit
import WritCrypto
import WritIdentity
import WritPolicy
import WritRevocation
import WritTokens

/// Every error code's text, as audit logs, JSON output and tests read it. A renamed or re-spelled code fails here.
enum PinnedCodes {
    static let tokenError: [(TokenError.Code, String)] = [
        (.malformed, "malformed"),
        (.unsupportedVersion, "unsupportedVersion"),
        (.unknownBlockKind, "unknownBlockKind"),
        (.unknownCaveatKind, "unknownCaveatKind"),
        (.tooLarge, "tooLarge"),
        (.tooManyBlocks, "tooManyBlocks"),
        (.tooManyCaveats, "tooManyCaveats"),
        (.invalidText, "invalidText"),
        (.invalidClaims, "invalidClaims"),
        (.unknownIssuerKey, "unknownIssuerKey"),
        (.issuerKeyNotValid, "issuerKeyNotValid"),
        (.invalidSignature, "invalidSignature"),
        (.wideningAttempt, "wideningAttempt"),
        (.holderKeyReused, "holderKeyReused"),
        (.wrongHolder, "wrongHolder"),
        (.unknownAgentClass, "unknownAgentClass"),
        (.lifetimeExceedsClass, "lifetimeExceedsClass"),
        (.delegationNotAllowed, "delegationNotAllowed"),
        (.delegationTooDeep, "delegationTooDeep"),
        (.expired, "expired"),
        (.notYetValid, "notYetValid"),
        (.issuedInFuture, "issuedInFuture"),
        (.audienceNotAllowed, "audienceNotAllowed"),
        (.actionNotAllowed, "actionNotAllowed"),
        (.resourceNotAllowed, "resourceNotAllowed"),
        (.caveatFailed, "caveatFailed"),
        (.proofInvalid, "proofInvalid"),
        (.proofStale, "proofStale"),
        (.replayedNonce, "replayedNonce"),
        (.replayCacheFull, "replayCacheFull"),
        (.revoked, "revoked"),
        (.revocationUnavailable, "revocationUnavailable"),
    ]
    static let brokerError: [(BrokerError.Code, String)] = [
        (.denied, "denied"),
        (.reauthorizationRequired, "reauthorization-required"),
        (.outsideSession, "outside-session"),
        (.rateLimited, "rate-limited"),
        (.secretUnavailable, "secret-unavailable"),
    ]
    static let authorityError: [(AuthorityError.Code, String)] = [
        (.attestationFailed, "attestation-failed"),
        (.unknownAgent, "unknown-agent"),
        (.alreadyRegistered, "already-registered"),
        (.unknownAgentClass, "unknown-agent-class"),
        (.unknownTask, "unknown-task"),
        (.unknownStep, "unknown-step"),
        (.stepConflict, "step-conflict"),
        (.taskClosed, "task-closed"),
        (.deadlinePassed, "deadline-passed"),
        (.notEntitled, "not-entitled"),
        (.refreshLimitReached, "refresh-limit-reached"),
        (.delegationRefused, "delegation-refused"),
        (.credentialUnavailable, "credential-unavailable"),
        (.tokenFailed, "token-failed"),
        (.recordFailed, "record-failed"),
        (.storeFailed, "store-failed"),
        (.storeConflict, "store-conflict"),
        (.entitlementsUnavailable, "entitlements-unavailable"),
    ]
    static let gateDenial: [(GateDenial.Code, String)] = [
        (.malformedRequest, "malformed-request"),
        (.malformedToken, "malformed-token"),
        (.malformedProof, "malformed-proof"),
        (.tokenRejected, "token-rejected"),
        (.revoked, "revoked"),
        (.revocationUnavailable, "revocation-unavailable"),
        (.replayed, "replayed"),
        (.nonceStoreUnavailable, "nonce-store-unavailable"),
        (.policy, "policy"),
        (.auditUnavailable, "audit-unavailable"),
    ]
    static let policyError: [(PolicyError.Code, String)] = [
        (.syntax, "syntax"),
        (.limitExceeded, "limitExceeded"),
        (.invalidJSON, "invalidJSON"),
        (.invalidData, "invalidData"),
        (.invalidAnnotation, "invalidAnnotation"),
    ]
    static let cryptoError: [(CryptoError.Code, String)] = [
        (.invalidLength, "invalidLength"),
        (.invalidEncoding, "invalidEncoding"),
        (.authenticationFailed, "authenticationFailed"),
        (.invalidPublicKey, "invalidPublicKey"),
    ]
    static let auditError: [(AuditError.Code, String)] = [
        (.invalidEncoding, "invalidEncoding"),
        (.oversized, "oversized"),
        (.storeFailure, "storeFailure"),
        (.conflict, "conflict"),
        (.tampered, "tampered"),
        (.invalidProof, "invalidProof"),
        (.invalidSignature, "invalidSignature"),
        (.inconsistent, "inconsistent"),
        (.outOfRange, "outOfRange"),
        (.closed, "closed"),
    ]
    static let identityError: [(IdentityError.Code, String)] = [
        (.invalidScheme, "invalidScheme"),
        (.emptyTrustDomain, "emptyTrustDomain"),
        (.invalidTrustDomainCharacter, "invalidTrustDomainCharacter"),
        (.trustDomainTooLong, "trustDomainTooLong"),
        (.emptyPathSegment, "emptyPathSegment"),
        (.dotPathSegment, "dotPathSegment"),
        (.invalidPathCharacter, "invalidPathCharacter"),
        (.identityTooLong, "identityTooLong"),
        (.invalidAgentClass, "invalidAgentClass"),
        (.malformed, "malformed"),
        (.unsupportedVersion, "unsupportedVersion"),
        (.unknownIssuerKey, "unknownIssuerKey"),
        (.issuerKeyNotValid, "issuerKeyNotValid"),
        (.invalidSignature, "invalidSignature"),
        (.expired, "expired"),
        (.notYetValid, "notYetValid"),
        (.attestationFailed, "attestationFailed"),
    ]
    static let revocationError: [(RevocationError.Code, String)] = [
        (.revoked, "revoked"),
        (.stale, "stale"),
        (.invalidTarget, "invalidTarget"),
        (.invalidArgument, "invalidArgument"),
        (.storeUnavailable, "storeUnavailable"),
        (.corruptStore, "corruptStore"),
        (.malformed, "malformed"),
        (.tampered, "tampered"),
    ]
}

@Suite("Error codes that can grow")
struct ErrorCodeTests {
    private static func check<C: Hashable & CustomStringConvertible>(_ pins: [(C, String)]) {
        #expect(Set(pins.map(\.1)).count == pins.count, "two codes share a text")
        #expect(Set(pins.map(\.0)).count == pins.count, "two codes are equal")
        for (code, text) in pins { #expect(code.description == text) }
    }

    @Test("every code keeps its text, and distinct codes are distinct")
    func pinned() {
        Self.check(PinnedCodes.tokenError)
        Self.check(PinnedCodes.brokerError)
        Self.check(PinnedCodes.authorityError)
        Self.check(PinnedCodes.gateDenial)
        Self.check(PinnedCodes.policyError)
        Self.check(PinnedCodes.cryptoError)
        Self.check(PinnedCodes.auditError)
        Self.check(PinnedCodes.identityError)
        Self.check(PinnedCodes.revocationError)
    }

    @Test("a token error code encodes as its text, decodes back, and refuses unknown text")
    func tokenCodeCodable() throws {
        for (code, text) in PinnedCodes.tokenError {
            let json = try JSONEncoder().encode([code])
            #expect(String(decoding: json, as: UTF8.self) == "[\"\(text)\"]")
            #expect(try JSONDecoder().decode([TokenError.Code].self, from: json) == [code])
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([TokenError.Code].self, from: Data("[\"no-such-code\"]".utf8))
        }
    }

    @Test("errors compare by code and print code, context and the underlying error")
    func underlying() {
        let store = AuthorityStoreError(.unavailable, "the database is down")
        let error = AuthorityError(.storeFailed, "reading task t1", underlying: store)
        #expect(error == AuthorityError(.storeFailed, "something else"))
        #expect(error != AuthorityError(.storeConflict, "reading task t1"))
        #expect(error.underlying as? AuthorityStoreError == store)
        #expect(error.description == "store-failed: reading task t1 (unavailable: the database is down)")
        #expect(AuditError(.storeFailure, "append", underlying: store).underlying is AuthorityStoreError)
        #expect(RevocationError(.storeUnavailable, "sync", underlying: store).underlying is AuthorityStoreError)
        #expect(RevocationError(.stale, "feed is 12 s old").description == "stale: feed is 12 s old")
    }
}
