import ArgumentParser
import Foundation
import WritCrypto
import WritIdentity
import WritTokens

// The token commands: keygen, mint, delegate, inspect, prove, verify.
//
// Key files: a private key file holds `writsk1_` + base64url(32-byte seed) and is created with mode 0600; a
// public key file holds `writpk1_` + base64url(32-byte key). Tokens and proofs are passed either as their text
// (`writ1_…`, `writp1_…`) or as the path of a file holding it.

// MARK: - Shared helpers

enum KeyFiles {
    static let privatePrefix = "writsk1_"
    static let publicPrefix = "writpk1_"

    static func privateText(_ key: Ed25519.PrivateKey) -> String {
        key.seed.withUnsafeBytes { privatePrefix + Base64URL.encode($0) }
    }

    static func publicText(_ key: Ed25519.PublicKey) -> String {
        publicPrefix + Base64URL.encode(key.rawRepresentation)
    }

    static func readPrivate(_ path: String) throws -> Ed25519.PrivateKey {
        let text = try readText(path)
        guard text.hasPrefix(privatePrefix), var raw = Base64URL.decode(text.dropFirst(privatePrefix.count)),
            raw.count == 32
        else {
            throw CLIError.input("'\(path)' is not a writ private key file (\(privatePrefix)…)")
        }
        defer { for i in raw.indices { raw[i] = 0 } }
        guard let key = try? Ed25519.PrivateKey(seed: SecureBytes(raw)) else {
            throw CLIError.input("'\(path)' holds an invalid key")
        }
        return key
    }

    /// Reads a public key file, or the public half of a private key file.
    static func readPublic(_ path: String) throws -> Ed25519.PublicKey {
        let text = try readText(path)
        if text.hasPrefix(privatePrefix) { return try readPrivate(path).publicKey }
        guard text.hasPrefix(publicPrefix), let raw = Base64URL.decode(text.dropFirst(publicPrefix.count)),
            let key = try? Ed25519.PublicKey(rawRepresentation: raw)
        else {
            throw CLIError.input("'\(path)' is not a writ public key file (\(publicPrefix)…)")
        }
        return key
    }
}

/// Reads a token given as text or as a file path.
func readToken(_ argument: String) throws -> CapabilityToken {
    let text = argument.hasPrefix(TokenFormat.textPrefix) ? argument : try readText(argument)
    do {
        return try CapabilityToken(text: text)
    } catch {
        throw CLIError.rejected("token: \(error)")
    }
}

/// Reads a proof given as text or as a file path.
func readProof(_ argument: String) throws -> ProofOfPossession {
    let text = argument.hasPrefix(ProofOfPossession.textPrefix) ? argument : try readText(argument)
    do {
        return try ProofOfPossession(text: text)
    } catch {
        throw CLIError.rejected("proof: \(error)")
    }
}

/// Parses `300`, `300s`, `5m`, `2h` or `1d` as a duration.
func parseDuration(_ text: String, option: String) throws -> Duration {
    let units: [(Character, Int64)] = [("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
    var number = Substring(text)
    var scale: Int64 = 1
    if let last = text.last, let unit = units.first(where: { $0.0 == last }) {
        number = text.dropLast()
        scale = unit.1
    }
    guard let value = Int64(number), value > 0, value <= 366 * 86_400 / scale else {
        throw CLIError.input("\(option): '\(text)' is not a duration such as 300, 90s, 5m, 2h")
    }
    return .seconds(value * scale)
}

/// Parses `name=value`.
func parseAttribute(_ text: String) throws -> (String, String) {
    guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
        throw CLIError.input("attribute '\(text)' must be name=value")
    }
    return (String(text[..<eq]), String(text[text.index(after: eq)...]))
}

/// Writes `text` to `path`, or prints it when no path is given.
func emit(_ text: String, to path: String?, mode: mode_t = 0o600) throws {
    if let path {
        try writeFile(path, contents: text + "\n", mode: mode)
    } else {
        print(text)
    }
}

/// Options that say which agent classes exist.
struct ClassOptions: ParsableArguments {
    @Option(
        name: .customLong("classes"),
        help: ArgumentHelp("JSON file with an array of agent classes.", valueName: "file")
    )
    var classesFile: String?

    @Option(
        name: .customLong("class"),
        help: ArgumentHelp(
            "Agent class name (defined by the options below unless --classes is given).",
            valueName: "name"
        )
    )
    var className: String = "agent"

    @Option(
        name: .customLong("max-ttl"),
        help: ArgumentHelp("Maximum TTL of the class defined on the command line.", valueName: "duration")
    )
    var maximumTTL: String = "1h"

    @Option(
        name: .customLong("max-depth"),
        help: ArgumentHelp("Maximum delegation depth of that class (0: may not delegate).", valueName: "n")
    )
    var maximumDepth: Int = 3

    func classes() throws -> [AgentClass] {
        if let classesFile {
            do {
                return try JSONDecoder().decode([AgentClass].self, from: try readFile(classesFile))
            } catch let error as CLIError {
                throw error
            } catch {
                throw CLIError.input("'\(classesFile)' is not a JSON array of agent classes: \(error)")
            }
        }
        let maximum = try parseDuration(maximumTTL, option: "--max-ttl")
        do {
            return [
                try AgentClass(
                    name: className,
                    defaultTTL: maximum,
                    maximumTTL: maximum,
                    maximumDelegationDepth: maximumDepth,
                    mayDelegate: maximumDepth > 0
                )
            ]
        } catch {
            throw CLIError.input("class: \(error)")
        }
    }

    func agentClass(named name: String) throws -> AgentClass {
        guard let found = try classes().first(where: { $0.name == name }) else {
            throw CLIError.input("class '\(name)' is not defined")
        }
        return found
    }
}

// MARK: - keygen

/// `writ keygen`.
struct KeygenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Generate an Ed25519 key pair.",
        discussion: """
            Writes the private key to --out (mode 0600) and the public key to --public (default: --out with \
            ".key" replaced by ".pub"), and prints the key id.

            Examples:
              writ keygen --out issuer.key          # also writes issuer.pub
              writ keygen --out agent.key --public keys/agent.pub
            """
    )

    @Option(help: ArgumentHelp("Private key file to create (mode 0600).", valueName: "file"))
    var out: String

    @Option(help: ArgumentHelp("Public key file to create (default: <out>.pub).", valueName: "file"))
    var `public`: String?

    func run() async throws {
        let key = Ed25519.PrivateKey()
        try writeFile(out, contents: KeyFiles.privateText(key) + "\n", mode: 0o600)
        let publicPath = `public` ?? (out.hasSuffix(".key") ? String(out.dropLast(4)) + ".pub" : out + ".pub")
        try writeFile(publicPath, contents: KeyFiles.publicText(key.publicKey) + "\n", mode: 0o644)
        print("key id \(key.publicKey.keyID)")
    }
}

// MARK: - mint

/// `writ mint`.
struct MintCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mint",
        abstract: "Mint a capability token (block 0, signed by the issuer).",
        discussion: """
            Prints the token (writ1_…) or writes it to --out (mode 0600). The class is taken from --classes, or \
            defined by --class/--max-ttl/--max-depth; --ttl must not exceed its maximum TTL.

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
    @Option(help: ArgumentHelp("Lifetime.", valueName: "duration"))
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
            throw CLIError.input("\(error)")
        }
    }
}

// MARK: - delegate

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
            throw CLIError.input("\(error)")
        }
    }
}

// MARK: - inspect

/// A token's contents, for `writ inspect --json`.
struct TokenSummary: Encodable {
    struct Block: Encodable {
        var index: Int
        var kind: String
        var signerKeyID: String?
        var holderKeyID: String
        var revocationID: String
        var delegate: String?
        var delegateClass: String?
        var audiences: [String]?
        var actions: [String]?
        var resources: [String]?
        var notBefore: String?
        var expiresAt: String?
        var caveats: [String]
    }

    var tokenID: String
    var bytes: Int
    var digest: String
    var issuerKeyID: String
    var subject: String
    var agentClass: String
    var taskID: String?
    var step: UInt64?
    var intent: String?
    var issuedAt: String
    var blocks: [Block]

    init(_ t: CapabilityToken) {
        let c = t.root.claims
        tokenID = c.tokenID.description
        bytes = t.bytes.count
        digest = t.digest.description
        issuerKeyID = t.root.issuerKeyID.description
        subject = c.subject.description
        agentClass = c.agentClass
        taskID = c.taskID
        step = c.step
        intent = c.intent
        issuedAt = c.issuedAt.description
        var blocks = [
            Block(
                index: 0,
                kind: "issuer",
                signerKeyID: t.root.issuerKeyID.description,
                holderKeyID: c.holder.keyID.description,
                revocationID: t.root.revocationID.description,
                audiences: c.audiences,
                actions: c.actions,
                resources: c.resources.map(\.text),
                notBefore: c.notBefore.description,
                expiresAt: c.expiresAt.description,
                caveats: c.caveats.map(\.description)
            )
        ]
        var signer = c.holder
        for (i, d) in t.delegations.enumerated() {
            let a = d.attenuation
            blocks.append(
                Block(
                    index: i + 1,
                    kind: "delegation",
                    signerKeyID: signer.keyID.description,
                    holderKeyID: a.holder.keyID.description,
                    revocationID: d.revocationID.description,
                    delegate: a.delegate?.description,
                    delegateClass: a.delegateClass,
                    audiences: a.audiences,
                    actions: a.actions,
                    resources: a.resources?.map(\.text),
                    notBefore: a.notBefore?.description,
                    expiresAt: a.expiresAt?.description,
                    caveats: a.caveats.map(\.description)
                )
            )
            signer = a.holder
        }
        self.blocks = blocks
    }
}

/// `writ inspect`.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show what a token contains (no signature check).",
        discussion: """
            Decodes the token and prints every block. Nothing is verified: use `writ verify` for that. The token \
            itself is never printed.

            Examples:
              writ inspect token.txt
              writ inspect --json token.txt | jq .blocks
            """
    )

    @Argument(help: ArgumentHelp("Token text or file.", valueName: "token"))
    var token: String
    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let summary = TokenSummary(try readToken(token))
        if json {
            print(try jsonText(summary))
            return
        }
        var lines = [
            "token \(summary.tokenID)  (\(summary.bytes) bytes, \(summary.blocks.count) block\(summary.blocks.count == 1 ? "" : "s"))",
            "digest      \(summary.digest)",
            "issuer key  \(summary.issuerKeyID)",
            "subject     \(summary.subject)  class \(summary.agentClass)",
            "issued      \(summary.issuedAt)",
        ]
        if let task = summary.taskID { lines.append("task        \(task)\(summary.step.map { " step \($0)" } ?? "")") }
        if let intent = summary.intent { lines.append("intent      \(intent)") }
        for b in summary.blocks {
            lines.append(
                "block \(b.index) (\(b.kind)) signed by \(b.signerKeyID ?? "?"), holder \(b.holderKeyID), revocation id \(b.revocationID)"
            )
            if let d = b.delegate { lines.append("  delegate   \(d)") }
            if let c = b.delegateClass { lines.append("  class      \(c)") }
            if let v = b.audiences { lines.append("  audiences  \(v.joined(separator: ", "))") }
            if let v = b.actions { lines.append("  actions    \(v.joined(separator: ", "))") }
            if let v = b.resources { lines.append("  resources  \(v.joined(separator: ", "))") }
            if let v = b.notBefore { lines.append("  not before \(v)") }
            if let v = b.expiresAt { lines.append("  expires    \(v)") }
            for c in b.caveats { lines.append("  caveat     \(c)") }
        }
        print(lines.joined(separator: "\n"))
    }
}

// MARK: - prove

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

// MARK: - verify

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
