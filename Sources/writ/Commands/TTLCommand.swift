#if CLI
import ArgumentParser
import Foundation
import Writ

/// `writ ttl`: token lifetime advice.
struct TTLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ttl",
        abstract: "Token lifetime advice from audit history.",
        subcommands: [TTLAdviseCommand.self]
    )
}

/// `writ ttl advise LOG...`.
struct TTLAdviseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "advise",
        abstract: "Recommend the smallest workable TTL per agent class from audit logs.",
        discussion: """
            "Start by issuing the smallest workable token lifetime for each agent class." Reads the authority's
            and the services' audit logs (each is verified first; a log that fails verification is refused), and
            measures per agent class how long task steps actually used their tokens: from the step's first issued
            token to the last use of any of its tokens (refreshed and delegated ones included).

            The rule: default TTL = p99 of step use × margin (rounded up, at least 1 s); maximum TTL = longest
            step use × margin (at least the default); refresh fraction = 0.75, or 0.66 when steps needed a
            refresh on average. Steps whose tokens were never used are reported: they did not need a token.

            Examples:
              swift run writ ttl advise writ-demo/audit/*.log
              swift run writ ttl advise --margin 2 --json authority.log repo.log
            """
    )

    @Argument(help: "Audit log files (the authority's and the services').")
    var logs: [String]

    /// The largest `--margin` accepted.
    static let maximumMargin = 100

    @Option(
        name: .long,
        help: "Safety margin applied to observed use: a number from 1 to \(TTLAdviseCommand.maximumMargin)."
    )
    var margin: String = "1.5"

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func validate() throws {
        guard !logs.isEmpty else { throw ValidationError("give at least one audit log") }
        do {
            _ = try marginValue()
        } catch let error as CLIError {
            throw ValidationError(error.message)
        }
    }

    /// `--margin` as a finite number within 1…``maximumMargin``; anything else is refused, never clamped.
    func marginValue() throws -> Double {
        guard let value = Double(margin), value.isFinite else {
            throw CLIError.input("--margin: '\(shortPrefix(margin, keeping: 24))' is not a finite number")
        }
        guard value >= 1 else { throw CLIError.input("--margin: \(margin) is below the minimum 1") }
        guard value <= Double(Self.maximumMargin) else {
            throw CLIError.input("--margin: \(margin) is above the maximum \(Self.maximumMargin)")
        }
        return value
    }

    func run() async throws {
        let margin = try marginValue()
        var events: [AuditEvent] = []
        for path in logs {
            guard FileManager.default.fileExists(atPath: path) else { throw CLIError.input("cannot read '\(path)'") }
            let report: AuditVerificationReport
            let scan: FileAuditStore.Scan
            do {
                report = try AuditVerifier.verify(fileAt: path)
                scan = try FileAuditStore.scan(path: path)
            } catch {
                throw CLIError.input("'\(path)' is not a readable audit log: \(describe(error))")
            }
            if let failure = report.failure {
                throw CLIError.rejected("'\(path)' failed verification: \(failure)")
            }
            for bytes in scan.entries {
                do {
                    events.append(try AuditEntry(decoding: bytes).event)
                } catch {
                    throw CLIError.rejected("'\(path)': undecodable entry: \(describe(error))")
                }
            }
        }
        let advice = TTLAdvisor(margin: margin).advise(events)
        if json {
            print(try jsonText(advice))
            return
        }
        if advice.isEmpty {
            print("no issued-and-used steps found in \(logs.count) log(s)")
            return
        }
        let header = [
            "CLASS", "STEPS", "UNUSED", "MEDIAN", "P99", "MAX", "REFRESH/STEP", "ISSUED TTL", "→ DEFAULT", "→ MAX",
            "→ REFRESH AT",
        ]
        var rows = [header]
        for a in advice {
            rows.append([
                a.agentClass, String(a.steps), String(a.unusedSteps), seconds(a.medianUseSeconds),
                seconds(a.p99UseSeconds),
                seconds(a.maximumUseSeconds), String(format: "%.2f", a.meanRefreshes),
                a.issuedTTLSeconds.map(seconds) ?? "-", a.recommendedDefaultTTLSeconds.map { "\($0)s" } ?? "-",
                a.recommendedMaximumTTLSeconds.map { "\($0)s" } ?? "-",
                a.recommendedRefreshFraction.map { String(format: "%.2f", $0) } ?? "-",
            ])
        }
        var widths = [Int](repeating: 0, count: header.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        for row in rows {
            print(
                row.enumerated().map { i, c in c + String(repeating: " ", count: widths[i] - c.count) }.joined(
                    separator: "  "
                )
            )
        }
        print(
            "rule: default = p99 step use × \(margin), max = longest use × \(margin), refresh at 0.75 (0.66 if steps refresh)"
        )
    }

    private func seconds(_ value: Double) -> String { String(format: "%.1fs", value) }
}
#endif
