import ArgumentParser
import Foundation
import WritCrypto
import WritIdentity
import WritTokens

// Tokens and proofs are passed either as their text (`writ1_…`, `writp1_…`) or as the path of a file holding it.

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
