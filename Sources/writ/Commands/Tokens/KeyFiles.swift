#if CLI
import ArgumentParser
import Foundation
import WritCrypto
import WritIdentity
import WritTokens

// Key files: a private key file holds `writsk1_` + base64url(32-byte seed) and is created with mode 0600; a
// public key file holds `writpk1_` + base64url(32-byte key).

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
        let text = try readKeyText(path)
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
        let text = try readKeyText(path)
        if text.hasPrefix(privatePrefix) { return try readPrivate(path).publicKey }
        guard text.hasPrefix(publicPrefix), let raw = Base64URL.decode(text.dropFirst(publicPrefix.count)),
            let key = try? Ed25519.PublicKey(rawRepresentation: raw)
        else {
            throw CLIError.input("'\(path)' is not a writ public key file (\(publicPrefix)…)")
        }
        return key
    }

    /// Reads a key file; a key's text given instead of a path is refused without echoing it.
    private static func readKeyText(_ path: String) throws -> String {
        if path.hasPrefix(privatePrefix) || path.hasPrefix(publicPrefix) {
            throw CLIError.input("'\(shortPrefix(path))' is a key's text; give the path of the key file instead")
        }
        return try readText(path)
    }
}
#endif
