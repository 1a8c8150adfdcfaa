import Foundation
import Testing

/// Locates `../shared/conformance` (or `WRIT_CONFORMANCE_DIR`) the way `WritTesting.Conformance` does; this test
/// target depends on nothing but WritPolicy.
enum ConformanceData {
    static var root: URL? {
        if let override = ProcessInfo.processInfo.environment["WRIT_CONFORMANCE_DIR"] {
            return URL(fileURLWithPath: override)
        }
        // This file is <repo>/Tests/WritPolicyTests/ConformanceData.swift.
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let candidate = repo.deletingLastPathComponent().appendingPathComponent("shared/conformance")
        return FileManager.default.fileExists(atPath: candidate.path) ? candidate : nil
    }

    static func url(_ relative: String) -> URL? {
        guard let root else { return nil }
        let url = root.appendingPathComponent(relative)
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    static func isAvailable(_ relative: String) -> Bool { url(relative) != nil }

    /// Whether a conformance test should run: its data is present, or `WRIT_REQUIRE_CONFORMANCE=1` (CI) demands
    /// it, in which case missing data fails the test instead of skipping it.
    static func shouldRun(_ relative: String) -> Bool {
        isAvailable(relative) || ProcessInfo.processInfo.environment["WRIT_REQUIRE_CONFORMANCE"] == "1"
    }

    /// The reason a skipped conformance test prints.
    static func skipNote(_ relative: String) -> Comment {
        Comment(
            rawValue: "conformance data absent: shared/conformance/\(relative) beside the checkout "
                + "(or WRIT_CONFORMANCE_DIR); WRIT_REQUIRE_CONFORMANCE=1 makes this a failure"
        )
    }

    /// Extracts the corpus tests whose names start with `prefix` into a fresh temporary folder and returns it.
    static func extractCorpusSample(prefix: String) throws -> URL {
        guard let tarball = url("cedar/corpus-tests.tar.gz") else { throw CocoaError(.fileNoSuchFile) }
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent(
            "writ-cedar-sample-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["-xzf", tarball.path, "-C", temp.path, "--wildcards", "corpus-tests/\(prefix)*"]
        try tar.run()
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else { throw CocoaError(.fileReadCorruptFile) }
        return temp
    }
}
