#if CLI
import ArgumentParser
import Foundation
import WritCrypto
import WritIdentity
import WritTokens

/// `writ mint`.
struct MintCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mint",
        abstract: "Mint a capability token (block 0, signed by the issuer).",
        discussion: """
            Prints the token (writ1_…) or writes it to --out (mode 0600). The class is taken from --classes, or \
            defined by --class/--max-ttl/--max-depth; --ttl must not exceed its maximum TTL.

            \(ClassOptions.formatHelp)

            Examples:
              writ mint --issuer-key issuer.key --holder agent.pub \\
                --subject spiffe://acme.dev/agent/researcher/7 \\
                --class researcher --audience api.acme.dev \\
                --action read --action list --resource 'docs/*' \\
                --task task-42 --step 3 --intent "summarise Q3" \\
                --ttl 5m --out token.txt
            """
    )

    @Option(name: .customLong("issuer-key"), help: ArgumentHelp("Issuer private key file.", valueName: "file"))
    var issuerKey: String
    @Option(help: ArgumentHelp("Holder public key file (or private key file).", valueName: "file"))
    var holder: String
    @Option(help: ArgumentHelp("Subject SPIFFE ID.", valueName: "spiffe-id"))
    var subject: String
    @Option(help: ArgumentHelp("Audience (repeatable).", valueName: "service"))
    var audience: [String] = []
    @Option(help: ArgumentHelp("Action (repeatable).", valueName: "action"))
    var action: [String] = []
    @Option(help: ArgumentHelp("Resource pattern, exact or ending in * (repeatable).", valueName: "pattern"))
    var resource: [String] = []
    @Option(help: ArgumentHelp("Task id.", valueName: "id"))
    var task: String?
    @Option(help: ArgumentHelp("Task step.", valueName: "n"))
    var step: UInt64?
    @Option(help: ArgumentHelp("Declared intent.", valueName: "text"))
    var intent: String?
    @Option(help: ArgumentHelp("Lifetime (at most the class's maximum TTL).", valueName: "duration"))
    var ttl: String = "5m"
    @Option(
        name: .customLong("require-attribute"),
        help: ArgumentHelp("Caveat: request attribute name=value (repeatable).", valueName: "name=value")
    )
    var requireAttribute: [String] = []
    @Option(name: .customLong("depth-limit"), help: ArgumentHelp("Caveat: maximum delegation depth.", valueName: "n"))
    var depthLimit: UInt8?
    @Option(help: ArgumentHelp("Token file to create (mode 0600); default: print.", valueName: "file"))
    var out: String?
    @OptionGroup var classOptions: ClassOptions

    func run() async throws {
        let issuer = try KeyFiles.readPrivate(issuerKey)
        let holderKey = try KeyFiles.readPublic(holder)
        let agentClass = try classOptions.agentClass(named: classOptions.className)
        let now = SystemClock().now()
        let lifetime = try parseDuration(ttl, option: "--ttl")
        do {
            var caveats = try requireAttribute.map { text -> Caveat in
                let (name, value) = try parseAttribute(text)
                return .requestAttribute(name: name, value: value)
            }
            if let depthLimit { caveats.append(.maximumDelegationDepth(depthLimit)) }
            let claims = TokenClaims(
                subject: try AgentIdentity(subject),
                holder: holderKey,
                agentClass: agentClass.name,
                audiences: audience,
                actions: action,
                resources: try resource.map { try ResourcePattern($0) },
                taskID: task,
                step: step,
                intent: intent,
                issuedAt: now,
                expiresAt: now.advanced(by: lifetime),
                caveats: caveats
            )
            let token = try CapabilityToken.mint(claims, agentClass: agentClass, issuerKey: issuer)
            try emit(token.text, to: out)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError.input(describe(error))
        }
    }
}
#endif
