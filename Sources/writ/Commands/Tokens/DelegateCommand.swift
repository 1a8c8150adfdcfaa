#if CLI
import ArgumentParser
import Foundation
import WritCrypto
import WritIdentity
import WritTokens

/// `writ delegate`.
struct DelegateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delegate",
        abstract: "Attenuate a token and hand it to another holder (a sub-agent's own key).",
        discussion: """
            Appends a delegation block signed with the current holder's key. Everything given narrows the token; \
            anything not given stays as it is. The new holder must have its own key.

            Examples:
              writ delegate --token token.txt --holder-key agent.key \\
                --to helper.pub --delegate spiffe://acme.dev/agent/helper/1 \\
                --delegate-class helper --action read \\
                --resource 'docs/public/*' --ttl 2m --out helper-token.txt
            """
    )

    @Option(help: ArgumentHelp("Token text or file.", valueName: "token"))
    var token: String
    @Option(
        name: .customLong("holder-key"),
        help: ArgumentHelp("Current holder's private key file.", valueName: "file")
    )
    var holderKey: String
    @Option(help: ArgumentHelp("Next holder's public key file.", valueName: "file"))
    var to: String
    @Option(help: ArgumentHelp("The sub-agent's SPIFFE ID.", valueName: "spiffe-id"))
    var delegate: String?
    @Option(name: .customLong("delegate-class"), help: ArgumentHelp("The sub-agent's class.", valueName: "name"))
    var delegateClass: String?
    @Option(help: ArgumentHelp("Keep only these audiences (repeatable).", valueName: "service"))
    var audience: [String] = []
    @Option(help: ArgumentHelp("Keep only these actions (repeatable).", valueName: "action"))
    var action: [String] = []
    @Option(help: ArgumentHelp("Narrower resource patterns (repeatable).", valueName: "pattern"))
    var resource: [String] = []
    @Option(help: ArgumentHelp("Expire this long from now (never later than the token).", valueName: "duration"))
    var ttl: String?
    @Option(
        name: .customLong("require-attribute"),
        help: ArgumentHelp("Caveat: request attribute name=value (repeatable).", valueName: "name=value")
    )
    var requireAttribute: [String] = []
    @Option(name: .customLong("depth-limit"), help: ArgumentHelp("Caveat: maximum delegation depth.", valueName: "n"))
    var depthLimit: UInt8?
    @Option(help: ArgumentHelp("Token file to create (mode 0600); default: print.", valueName: "file"))
    var out: String?

    func run() async throws {
        let current = try readToken(token)
        let key = try KeyFiles.readPrivate(holderKey)
        let next = try KeyFiles.readPublic(to)
        do {
            var caveats = try requireAttribute.map { text -> Caveat in
                let (name, value) = try parseAttribute(text)
                return .requestAttribute(name: name, value: value)
            }
            if let depthLimit { caveats.append(.maximumDelegationDepth(depthLimit)) }
            let attenuation = Attenuation(
                holder: next,
                delegate: try delegate.map { try AgentIdentity($0) },
                delegateClass: delegateClass,
                audiences: audience.isEmpty ? nil : audience,
                actions: action.isEmpty ? nil : action,
                resources: resource.isEmpty ? nil : try resource.map { try ResourcePattern($0) },
                expiresAt: try ttl.map { SystemClock().now().advanced(by: try parseDuration($0, option: "--ttl")) },
                caveats: caveats
            )
            try emit(try current.delegating(attenuation, holderKey: key).text, to: out)
        } catch let error as TokenError {
            throw CLIError.rejected("\(error)")
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError.input(describe(error))
        }
    }
}
#endif
