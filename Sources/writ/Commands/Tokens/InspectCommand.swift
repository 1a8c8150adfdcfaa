#if CLI
import ArgumentParser
import Foundation
import WritCrypto
import WritIdentity
import WritTokens

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
        let summary = TokenSummary(try readToken(token, label: "token"))
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
#endif
