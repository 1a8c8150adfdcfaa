#if CLI
import ArgumentParser
import Foundation
import WritCrypto
import WritIdentity
import WritTokens

/// Request options shared by `prove` and `verify`.
struct RequestOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The service the request goes to.", valueName: "service"))
    var audience: String
    @Option(help: ArgumentHelp("The action requested.", valueName: "action"))
    var action: String
    @Option(help: ArgumentHelp("The resource requested.", valueName: "resource"))
    var resource: String

    func request(attributes: [String] = []) throws -> TokenRequest {
        var values: [String: String] = [:]
        for text in attributes {
            let (name, value) = try parseAttribute(text)
            values[name] = value
        }
        return TokenRequest(audience: audience, action: action, resource: resource, attributes: values)
    }
}

/// `writ prove`.
struct ProveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove",
        abstract: "Make a proof of possession for presenting a token in one request.",
        discussion: """
            Signs the token's digest, the request's audience, action and resource, the current time and a fresh \
            nonce with the holder's key. Prints the proof (writp1_…). A proof is good once, for about a minute.

            Examples:
              writ prove --token token.txt --holder-key agent.key \\
                --audience api.acme.dev --action read \\
                --resource docs/q3.pdf > proof.txt
            """
    )

    @Option(help: ArgumentHelp("Token text or file.", valueName: "token"))
    var token: String
    @Option(
        name: .customLong("holder-key"),
        help: ArgumentHelp("The token holder's private key file.", valueName: "file")
    )
    var holderKey: String
    @OptionGroup var request: RequestOptions
    @Option(help: ArgumentHelp("Proof file to create; default: print.", valueName: "file"))
    var out: String?

    func run() async throws {
        let t = try readToken(token)
        let key = try KeyFiles.readPrivate(holderKey)
        guard key.publicKey == t.holder else {
            throw CLIError.rejected("key \(key.publicKey.keyID) is not the token's holder \(t.holder.keyID)")
        }
        let proof = ProofOfPossession.sign(
            token: t,
            request: try request.request(),
            holderKey: key,
            at: SystemClock().now()
        )
        try emit(proof.text, to: out)
    }
}
#endif
