import ArgumentParser
import Writ

/// `writ demo`: shows Writ working end to end.
///
/// At this stage of the project it walks through the cryptographic foundation: an issuer key signs, a verifier
/// accepts the signature and rejects a tampered copy.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run Writ's end-to-end demonstration.",
        discussion: "Example: swift run writ demo"
    )

    func run() async throws {
        let issuer = Ed25519.PrivateKey()
        print("issuer key \(issuer.publicKey.keyID) created (secret shown as \(issuer.seed))")
        let message = Array("mint: agent coder/1 may read repo/writ for 60s".utf8)
        let signature = issuer.signature(for: message)
        let valid = issuer.publicKey.isValidSignature(signature, for: message)
        var tampered = message
        tampered[0] ^= 1
        let rejected = !issuer.publicKey.isValidSignature(signature, for: tampered)
        print("signature verifies: \(valid ? "✓" : "✗"); tampered message rejected: \(rejected ? "✓" : "✗")")
        guard valid && rejected else { throw CLIError.rejected("demo expectation failed") }
        print("demo: all expectations held")
    }
}
