#if CLI
import Foundation

/// What `writ drill --deployment FILE` found: one row per service, one cell per check, as the in-process drill's
/// table (`RevocationDrill.Report`), measured on the real processes.
struct RemoteDrillReport: Sendable, Encodable {
    /// One cell.
    struct Check: Sendable, Encodable {
        /// Whether the check held.
        var passed: Bool
        /// How long it took, in milliseconds of this process's wall clock (for the revocation: revoke → denial).
        var milliseconds: Double
        /// What was seen.
        var detail: String
    }

    /// One service's row.
    struct Row: Sendable, Encodable {
        /// The service's name in the deployment file.
        var service: String
        /// Its verifier name (audience).
        var verifier: String
        /// The revoked token is denied, and the service's signed watermark covers the revocation.
        var revocation: Check
        /// The refreshed token works and the superseded one is denied.
        var refresh: Check
        /// The allowed call and the denial are in the service's audit log, verified with its key.
        var logging: Check

        /// Whether every check of the row held.
        var passed: Bool { revocation.passed && refresh.passed && logging.passed }

        /// The names of the checks that failed.
        var failedChecks: [String] {
            [("revocation", revocation), ("refresh", refresh), ("logging", logging)].filter { !$0.1.passed }.map(\.0)
        }
    }

    /// The rows, in the deployment file's order.
    var rows: [Row]

    /// Whether every check held.
    var passed: Bool { rows.allSatisfy(\.passed) }

    enum CodingKeys: String, CodingKey { case rows, passed }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(rows, forKey: .rows)
        try container.encode(passed, forKey: .passed)
    }

    /// `repo (revocation, logging); tickets (refresh)`.
    var failureSummary: String {
        rows.filter { !$0.passed }.map { "\($0.service) (\($0.failedChecks.joined(separator: ", ")))" }
            .joined(separator: "; ")
    }

    /// A table: service × revocation / refresh / logging, ✓ or ✗ with the time each took, then each failure.
    func table() -> String {
        func cell(_ check: Check) -> String { (check.passed ? "✓ " : "✗ ") + Self.format(check.milliseconds) + " ms" }
        let header = ["SERVICE", "REVOCATION", "REFRESH", "LOGGING"]
        let lines = [header] + rows.map { [$0.service, cell($0.revocation), cell($0.refresh), cell($0.logging)] }
        var widths = [Int](repeating: 0, count: header.count)
        for line in lines { for (i, c) in line.enumerated() { widths[i] = max(widths[i], c.count) } }
        var text = lines.map { line in
            line.enumerated().map { i, c in c + String(repeating: " ", count: widths[i] - c.count) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
        for row in rows {
            for (name, check) in [("revocation", row.revocation), ("refresh", row.refresh), ("logging", row.logging)]
            where !check.passed {
                text += "\n✗ \(row.service) \(name): \(check.detail)"
            }
        }
        return text
    }

    /// At most one decimal.
    static func format(_ value: Double) -> String {
        let tenths = (value * 10).rounded()
        guard tenths.truncatingRemainder(dividingBy: 10) == 0, let whole = Int64(exactly: tenths / 10) else {
            return String(tenths / 10)
        }
        return String(whole)
    }
}
#endif
