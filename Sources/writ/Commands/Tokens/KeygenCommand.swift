#if CLI
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

            An existing file is never overwritten unless --force is given; then each file is replaced atomically \
            (a new file renamed over it). A symbolic link is never written through, with or without --force, and \
            --public may not name the same file as --out. Nothing is written when any check fails.

            Examples:
              writ keygen --out issuer.key          # also writes issuer.pub
              writ keygen --out agent.key --public keys/agent.pub
              writ keygen --out issuer.key --force  # rotate: replace both files
            """
    )

    @Option(help: ArgumentHelp("Private key file to create (mode 0600).", valueName: "file"))
    var out: String

    @Option(help: ArgumentHelp("Public key file to create (default: <out>.pub).", valueName: "file"))
    var `public`: String?

    @Flag(help: "Replace existing key files (never through a symbolic link).")
    var force = false

    func run() async throws {
        let publicPath = `public` ?? (out.hasSuffix(".key") ? String(out.dropLast(4)) + ".pub" : out + ".pub")
        guard !OutputFile.sameFile(out, publicPath) else {
            throw CLIError.input("--public: '\(publicPath)' is the same file as --out '\(out)'")
        }
        // Check both paths before writing either, so a refusal leaves nothing half done.
        for (path, option) in [(out, "--out"), (publicPath, "--public")] {
            try OutputFile.checkReplaceable(path, option: option)
            if !force, OutputFile.exists(path) {
                throw CLIError.input("\(option): '\(path)' already exists; pass --force to replace it")
            }
        }
        let key = Ed25519.PrivateKey()
        let privateText = KeyFiles.privateText(key) + "\n"
        let publicText = KeyFiles.publicText(key.publicKey) + "\n"
        if force {
            try OutputFile.replace(out, contents: privateText, mode: 0o600, option: "--out")
            try OutputFile.replace(publicPath, contents: publicText, mode: 0o644, option: "--public")
        } else {
            try OutputFile.create(out, contents: privateText, mode: 0o600, option: "--out")
            do {
                try OutputFile.create(publicPath, contents: publicText, mode: 0o644, option: "--public")
            } catch {
                unlink(out)  // created just now: leave no private key without its public half
                throw error
            }
        }
        print("key id \(key.publicKey.keyID)")
    }
}
#endif
