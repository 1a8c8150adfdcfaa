import ArgumentParser
import Foundation
import WritCrypto
import WritIdentity
import WritTokens

/// `writ verify`.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a token and its proof of possession for one request.",
        discussion: """
            Checks the whole chain against the trusted issuer keys and agent classes, then the request (time \
            window, audience, action, resource, caveats) and the proof. Revocation is not consulted (offline). \
            Exit status: 0 valid, 1 rejected (the reason on standard error), 2 usage error.

            Examples:
              writ verify --token token.txt --trust issuer.pub \\
                --class researcher --audience api.acme.dev \\
                --action read --resource docs/q3.pdf --proof proof.txt
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
    @Option(help: ArgumentHelp("Clock skew tolerated.", valueName: "duration"))
    var skew: String = "30s"
    @Flag(help: "Print the effective claims as JSON on success.")
    var json = false

    func validate() throws {
        if trust.isEmpty { throw ValidationError("give at least one --trust issuer key") }
    }

    func run() async throws {
        let bundle = TrustBundle(try trust.map { TrustedKey(try KeyFiles.readPublic($0)) })
        let options = VerificationOptions(clockSkew: try parseDuration(skew, option: "--skew"))
        let verifier = TokenVerifier(trustBundle: bundle, agentClasses: try classOptions.classes(), options: options)
        let t = try readToken(token)
        let p = try readProof(proof)
        let r = try request.request(attributes: attribute)
        let verified: VerifiedToken
        do {
            verified = try verifier.verify(
                t,
                request: r,
                proof: p,
                clock: SystemClock(),
                replayCache: InMemoryReplayCache(capacity: 16),
                revocation: NoRevocationChecker()
            )
        } catch {
            throw CLIError.rejected("\(error)")
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
