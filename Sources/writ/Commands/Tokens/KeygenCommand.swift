import ArgumentParser
import Foundation
import WritCrypto
import WritIdentity
import WritTokens

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
