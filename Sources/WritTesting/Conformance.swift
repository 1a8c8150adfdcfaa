public import Foundation

/// Locates the public conformance suites (Cedar, RFC 6962 Merkle vectors, Wycheproof) that tests read.
///
/// They live in `../shared/conformance` beside the repository checkout and are never copied into the repo.
/// `WRIT_CONFORMANCE_DIR` overrides the location.
public enum Conformance {
    /// The conformance root, or `nil` when it is not present on this machine.
    public static var root: URL? {
        if let override = ProcessInfo.processInfo.environment["WRIT_CONFORMANCE_DIR"] {
            return URL(fileURLWithPath: override)
        }
        // This file is <repo>/Sources/WritTesting/Conformance.swift.
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let candidate = repo.deletingLastPathComponent().appendingPathComponent("shared/conformance")
        return FileManager.default.fileExists(atPath: candidate.path) ? candidate : nil
    }

    /// A file or folder inside the conformance root, or `nil` when absent.
    public static func url(_ relativePath: String) -> URL? {
        guard let root else { return nil }
        let url = root.appendingPathComponent(relativePath)
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    /// Whether a conformance file is available (for `.enabled(if:)`).
    public static func isAvailable(_ relativePath: String) -> Bool { url(relativePath) != nil }
    /// Whether a conformance test should run: its data is present, or `WRIT_REQUIRE_CONFORMANCE=1` (CI) demands it,
    /// in which case missing data fails the test instead of skipping it.
    public static func shouldRun(_ relativePath: String) -> Bool {
        isAvailable(relativePath) || ProcessInfo.processInfo.environment["WRIT_REQUIRE_CONFORMANCE"] == "1"
    }

    /// The reason a skipped conformance test prints.
    public static func skipNote(_ relativePath: String) -> String {
        "conformance data absent: shared/conformance/\(relativePath) beside the checkout (or WRIT_CONFORMANCE_DIR); "
            + "WRIT_REQUIRE_CONFORMANCE=1 makes this a failure"
    }
}
