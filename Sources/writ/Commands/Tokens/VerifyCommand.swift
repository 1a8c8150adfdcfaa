#if CLI
import ArgumentParser
import Foundation
import Writ
import WritCrypto
import WritIdentity
import WritRevocation
import WritTokens

/// `writ verify`.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a token and its proof of possession for one request.",
        discussion: """
            Checks the whole chain against the trusted issuer keys and agent classes, then the request (time \
            window with --skew, audience, action, resource, attribute caveats) and the proof (signed by the \
            token's holder for this token and request, at most 60 s old plus the skew).

            What a run does NOT check:
              - Replay across runs, unless --nonces is given. Without it, each run remembers only its own \
            proof, so the same proof verifies again in every later run until it is stale (up to 60 s + skew \
            after it was made: 90 s with the default skew). With --nonces FILE, every run (and process) sharing \
            FILE accepts each proof once: a replay is rejected (exit 1).
              - Revocation, unless --revocations is given. Without it no revocation data is consulted: a revoked \
            token, task, agent or issuer key still verifies here. With --revocations FEED --revocation-key FILE \
            the signed feed is read (never written), every entry and its signed head verified with the \
            revocation key, and the run fails closed (exit 1) when the token is revoked, when the feed does not \
            verify, or when its newest head is older than --max-staleness.

            \(ClassOptions.formatHelp)

            Exit status: 0 valid, 1 rejected (the reason on standard error), 2 usage error or unreadable input \
            (a --nonces file that is not a nonce file, or is damaged, is refused: exit 2, naming its line).

            Examples:
              writ verify --token token.txt --trust issuer.pub \\
                --class researcher --audience api.acme.dev \\
                --action read --resource docs/q3.pdf --proof proof.txt \\
                --nonces /var/lib/writ/api.nonces
              writ verify --token helper-token.txt --trust issuer.pub \\
                --classes classes.json --audience api.acme.dev \\
                --action read --resource docs/public/a --proof "$(cat proof.txt)"
            """
    )

    @Option(help: ArgumentHelp("Token text or file.", valueName: "token"))
    var token: String
    @Option(help: ArgumentHelp("Trusted issuer public key file (repeatable).", valueName: "file"))
    var trust: [String] = []
    @OptionGroup var classOptions: ClassOptions
    @OptionGroup var request: RequestOptions
    @Option(help: ArgumentHelp("Proof text or file.", valueName: "proof"))
    var proof: String
    @Option(
        help: ArgumentHelp("Request attribute name=value for attribute caveats (repeatable).", valueName: "name=value")
    )
    var attribute: [String] = []
    @Option(
        help: ArgumentHelp(
            "Clock skew tolerated, 0 to \(durationText(VerificationOptions.maximumClockSkew)).",
            valueName: "duration"
        )
    )
    var skew: String = "30s"
    @Option(
        help: ArgumentHelp(
            "Nonce store shared by every run that must accept a proof once: a file (created 0600 if absent), "
                + "file:PATH or sqlite:PATH.",
            valueName: "file"
        )
    )
    var nonces: String?
    @Option(
        help: ArgumentHelp(
            "Signed revocation feed to check the token against (read only): a feed file, file:PATH or sqlite:PATH.",
            valueName: "store"
        )
    )
    var revocations: String?
    @Option(
        name: .customLong("revocation-key"),
        help: ArgumentHelp(
            "The revocation public key that signs the feed (repeatable during a rotation).",
            valueName: "file"
        )
    )
    var revocationKey: [String] = []
    @Option(
        name: .customLong("max-staleness"),
        help: ArgumentHelp("How old the feed's newest signed head may be, 1s to 1h.", valueName: "duration")
    )
    var maxStaleness: String = "30s"
    @Flag(help: "Print the effective claims as JSON on success.")
    var json = false

    func validate() throws {
        if trust.isEmpty { throw ValidationError("give at least one --trust issuer key") }
        if (revocations == nil) != revocationKey.isEmpty {
            throw ValidationError("--revocations and --revocation-key go together")
        }
    }

    /// The revocation checker for this run: none, or the verified feed at `--revocations`.
    private func revocationChecker(clock: some WallClock) async throws -> any RevocationChecker {
        guard let revocations else { return NoRevocationChecker() }
        let bound = try parseDuration(maxStaleness, option: "--max-staleness", maximum: .seconds(3600))
        let keys = try revocationKey.map { try KeyFiles.readPublic($0) }
        let snapshot = RevocationSnapshot(maxStaleness: bound)
        let feed = try StoreLocator.parse(revocations, option: "--revocations")
            .revocationStores(create: false, option: "--revocations", command: "verify").feed
        do {
            let follower = try RevocationFeedFollower(
                verifier: "writ-verify",
                store: feed,
                trustedKeys: keys,
                snapshot: snapshot,
                clock: clock
            )
            try await follower.syncOnce()
        } catch let error as RevocationError where error.code == .storeUnavailable {
            throw CLIError.input("--revocations: \(error.context)")
        } catch let error as RevocationError {
            // Not verified: the snapshot stays stale, so the check below fails closed and says why.
            throw CLIError.rejected("--revocations: the feed does not verify: \(error.context)")
        }
        return SnapshotRevocationChecker(snapshot: snapshot, clock: clock)
    }

    func run() async throws {
        let bundle = TrustBundle(try trust.map { TrustedKey(try KeyFiles.readPublic($0)) })
        let skewDuration = try parseDuration(
            skew,
            option: "--skew",
            allowZero: true,
            maximum: VerificationOptions.maximumClockSkew
        )
        let options = VerificationOptions(clockSkew: skewDuration)
        let verifier = TokenVerifier(trustBundle: bundle, agentClasses: try classOptions.classes(), options: options)
        let t = try readToken(token)
        let p = try readProof(proof)
        let r = try request.request(attributes: attribute)
        // Open the nonce file first: a damaged one fails the run before anything is decided.
        let nonceLocation = try nonces.map { try StoreLocator.parse($0, option: "--nonces").path ?? $0 } ?? ""
        let store = try nonces.map {
            try StoreLocator.parse($0, option: "--nonces").nonceStore(option: "--nonces", command: "verify")
        }
        let clock = SystemClock()
        let revocation = try await revocationChecker(clock: clock)
        let now = clock.now()
        let verified: VerifiedToken
        do {
            verified = try verifier.verifyChain(t)
            try verified.authorize(
                r,
                proof: p,
                at: now,
                options: options,
                replayCache: InMemoryReplayCache(capacity: 16, clock: clock),
                revocation: revocation
            )
        } catch {
            throw CLIError.rejected("\(error)")
        }
        if let store {
            do {
                try await store.record(p, options: options, at: now)
            } catch let error as TokenError {
                throw CLIError.rejected("\(error) (recorded in '\(nonceLocation)')")
            } catch {
                throw CLIError.input("--nonces: \(error)")
            }
        }
        if json {
            print(try jsonText(VerifiedSummary(verified)))
        } else {
            print(
                "valid: token \(verified.tokenID), subject \(verified.subject), holder \(verified.holder.keyID), depth \(verified.delegationDepth), expires \(verified.expiresAt)"
            )
        }
    }
}

/// The effective claims, for `writ verify --json`.
struct VerifiedSummary: Encodable {
    var tokenID: String
    var issuerKeyID: String
    var subject: String
    var delegates: [String]
    var holderKeyID: String
    var agentClass: String
    var taskID: String?
    var step: UInt64?
    var intent: String?
    var audiences: [String]
    var actions: [String]
    var resources: [String]
    var notBefore: String
    var expiresAt: String
    var delegationDepth: Int
    var revocationIDs: [String]
    var digest: String

    init(_ v: VerifiedToken) {
        tokenID = v.tokenID.description
        issuerKeyID = v.issuerKeyID.description
        subject = v.subject.description
        delegates = v.delegates.map(\.description)
        holderKeyID = v.holder.keyID.description
        agentClass = v.agentClass.name
        taskID = v.taskID
        step = v.step
        intent = v.intent
        audiences = v.audiences
        actions = v.actions
        resources = v.resources.map(\.text)
        notBefore = v.notBefore.description
        expiresAt = v.expiresAt.description
        delegationDepth = v.delegationDepth
        revocationIDs = v.revocationIDs.map(\.description)
        digest = v.digest.description
    }
}
#endif
