#if CLI
import Writ

/// What the demo checked and saw, printed as it goes and as JSON with `--json`.
final class DemoReport {

    struct Expectation: Codable {
        let section: String
        let name: String
        let passed: Bool
        let detail: String
    }

    struct AuditSummary: Codable {
        let service: String
        let path: String
        let entries: UInt64
        let valid: Bool
        let checkpointsVerified: Int
        let rootHash: String
        let detail: String
    }

    struct JSON: Codable {
        let passed: Bool
        let seed: UInt64?
        let directory: String
        let expectations: [Expectation]
        let drill: RevocationDrill.Report?
        let audit: [AuditSummary]
        let timelineRows: Int
        let taskIDs: [String]
    }

    let quiet: Bool
    private var section = ""
    private(set) var expectations: [Expectation] = []
    var drill: RevocationDrill.Report?
    var audit: [AuditSummary] = []
    var timelineRows = 0
    var taskIDs: [String] = []

    init(quiet: Bool) { self.quiet = quiet }

    var passed: Bool { expectations.allSatisfy(\.passed) && (drill?.passed ?? false) && audit.allSatisfy(\.valid) }

    func begin(_ title: String) {
        section = title
        say("\n▸ \(title)")
    }

    func say(_ line: String) {
        if !quiet { print(line) }
    }

    /// Records an expectation and prints it with ✓ or ✗.
    @discardableResult
    func expect(_ name: String, _ passed: Bool, _ detail: String = "") -> Bool {
        expectations.append(Expectation(section: section, name: name, passed: passed, detail: detail))
        say("  \(passed ? "✓" : "✗") \(name)\(detail.isEmpty ? "" : " — \(detail)")")
        return passed
    }

    func json(seed: UInt64?, directory: String) -> JSON {
        JSON(
            passed: passed,
            seed: seed,
            directory: directory,
            expectations: expectations,
            drill: drill,
            audit: audit,
            timelineRows: timelineRows,
            taskIDs: taskIDs
        )
    }
}
#endif
