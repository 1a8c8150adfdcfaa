#if CLI
import ArgumentParser
import Foundation
import WritCrypto
import WritIdentity
import WritTokens

// Tokens and proofs are passed either as their text (`writ1_…`, `writp1_…`) or as the path of a file holding it.
// An argument that is neither is echoed back as its first 8 characters at most: it may be a secret.

/// Reads a token given as text or as a file path.
///
/// - Parameter label: How messages name the argument (`--token`, `token`).
func readToken(_ argument: String, label: String = "--token") throws -> CapabilityToken {
    let text = try credentialText(argument, prefix: TokenFormat.textPrefix, kind: "token", label: label)
    do {
        return try CapabilityToken(text: text)
    } catch {
        throw CLIError.rejected("token: \(error)")
    }
}

/// Reads a proof given as text or as a file path.
func readProof(_ argument: String, label: String = "--proof") throws -> ProofOfPossession {
    let text = try credentialText(argument, prefix: ProofOfPossession.textPrefix, kind: "proof", label: label)
    do {
        return try ProofOfPossession(text: text)
    } catch {
        throw CLIError.rejected("proof: \(error)")
    }
}

/// What each of writ's text prefixes introduces, for messages about the wrong kind of argument.
private let textKinds = [
    (TokenFormat.textPrefix, "a token"), (ProofOfPossession.textPrefix, "a proof"),
    (KeyFiles.privatePrefix, "a private key"), (KeyFiles.publicPrefix, "a public key"),
]

/// The argument itself when it is a credential's text, else the text of the file it names.
private func credentialText(_ argument: String, prefix: String, kind: String, label: String) throws -> String {
    if argument.hasPrefix(prefix) { return argument }
    if let (_, what) = textKinds.first(where: { argument.hasPrefix($0.0) }) {
        throw CLIError.input("\(label): '\(shortPrefix(argument))' is \(what), not a \(kind) (\(prefix)…)")
    }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory), !isDirectory.boolValue else {
        throw CLIError.input(
            "\(label): '\(shortPrefix(argument))' (\(argument.count) characters) is neither a \(kind) (\(prefix)…) "
                + "nor a readable file"
        )
    }
    let text = try readText(argument)
    if text.hasPrefix(prefix) { return text }
    if let (_, what) = textKinds.first(where: { text.hasPrefix($0.0) }) {
        throw CLIError.input("\(label): '\(argument)' holds \(what), not a \(kind) (\(prefix)…)")
    }
    throw CLIError.input("\(label): '\(argument)' does not hold a \(kind) (\(prefix)…)")
}

/// The longest duration any option takes (366 days).
let maximumOptionDuration: Duration = .seconds(366 * 86_400)

/// Parses `0`, `300`, `300s`, `5m`, `2h` or `1d` as a duration: digits and at most one unit, nothing else.
///
/// - Parameters:
///   - option: The option, for messages.
///   - allowZero: Whether `0` is accepted (a clock skew may be zero; a lifetime may not).
///   - maximum: The largest value accepted; a larger one is refused with the maximum named, never clamped.
func parseDuration(
    _ text: String,
    option: String,
    allowZero: Bool = false,
    maximum: Duration = maximumOptionDuration
) throws -> Duration {
    let units: [(Character, Int64)] = [("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
    var digits = Substring(text)
    var scale: Int64 = 1
    if let last = text.last, let unit = units.first(where: { $0.0 == last }) {
        digits = digits.dropLast()
        scale = unit.1
    }
    guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
        throw CLIError.input(
            "\(option): '\(shortPrefix(text, keeping: 24))' is not a duration such as \(allowZero ? "0, " : "")"
                + "300, 90s, 5m, 2h or 1d"
        )
    }
    let maximumSeconds = maximum.components.seconds
    guard let value = Int64(digits), value <= maximumSeconds / scale else {
        throw CLIError.input(
            "\(option): '\(shortPrefix(text, keeping: 24))' is above the maximum \(durationText(maximum))"
        )
    }
    guard value > 0 || allowZero else { throw CLIError.input("\(option): must be longer than 0") }
    return .seconds(value * scale)
}

/// `300` seconds as `5m`, `86400` as `1d`, `90` as `90s`.
func durationText(_ duration: Duration) -> String {
    let seconds = duration.components.seconds
    for (unit, size) in [("d", Int64(86_400)), ("h", 3600), ("m", 60)] where seconds != 0 && seconds % size == 0 {
        return "\(seconds / size)\(unit)"
    }
    return "\(seconds)s"
}

/// Parses `name=value`.
func parseAttribute(_ text: String) throws -> (String, String) {
    guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
        throw CLIError.input("attribute '\(shortPrefix(text, keeping: 40))' must be name=value")
    }
    return (String(text[..<eq]), String(text[text.index(after: eq)...]))
}

/// Writes `text` to `path` (replacing it atomically, never through a symbolic link), or prints it when no path
/// is given.
func emit(_ text: String, to path: String?, option: String = "--out", mode: mode_t = 0o600) throws {
    if let path {
        try OutputFile.replace(path, contents: text + "\n", mode: mode, option: option)
    } else {
        print(text)
    }
}
#endif
