#if CLI
import AsyncHTTPClient
import Foundation
import Writ

/// `writ demo` across processes, start to end: files, children, the scenario, the logs, and cleanup on every path.
enum DemoProcessRun {
    /// The `--json` report of the process demo.
    struct JSON: Codable {
        let mode: String
        let passed: Bool
        let directory: String
        let expectations: [DemoReport.Expectation]
        let pending: [String]
        let timings: [DemoProcessScenario.Timing]
        let timingSummary: [DemoProcessScenario.TimingSummary]
        let watermarkProofs: [String]
        let audit: [DemoReport.AuditSummary]
        let timelineRows: Int
        let taskIDs: [String]
        let children: [String: Int32]
        let elapsedSeconds: Double
    }

    /// Drops the run's PostgreSQL schemas with `psql` (when it is installed; else says what to drop).
    static func dropSchemas(_ url: String, schema: String, names: [String], json: Bool) {
        let base = String(url.split(separator: "?", maxSplits: 1).first ?? "")
        let sql = (["authority"] + names).map {
            "DROP SCHEMA IF EXISTS \"\(DemoProcessSetup.schemaPrefix($0))_\(schema)\" CASCADE;"
        }.joined()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", "-q", base, "-c", sql]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        if (try? process.run()) != nil { process.waitUntilExit() }
        if process.terminationStatus != 0, !json {
            print("  PostgreSQL schemas \(schema)_* not dropped (psql unavailable or failed): \(sql)")
        }
    }

    /// Runs the demo; whether every expectation held.
    static func run(
        directory: String,
        postgres: String?,
        keep: Bool,
        json: Bool,
        sabotage: String? = nil
    ) async throws -> Bool {
        let started = ContinuousClock.now
        let report = DemoReport(quiet: json)
        let schema = "writ_demo_" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let postgresURL = postgres.map { $0 + ($0.contains("?") ? "&" : "?") + "schema=\(schema)" }
        let setup: DemoProcessSetup
        do {
            setup = try DemoProcessSetup.make(directory: directory, postgres: postgresURL, sabotage: sabotage)
        } catch {
            throw CLIError.input("cannot set up the demo in '\(directory)': \(error)")
        }
        report.say("Writ demo — separate processes on loopback, work directory \(directory)")
        report.say(
            "Real clock: token lifetimes, refreshes, deadlines and every time printed are measured on the wall clock."
        )
        report.say(
            "Stores: "
                + (postgres == nil
                    ? "each child on its own SQLite file (<dir>/<name>.sqlite); services follow the authority's signed "
                        + "feed over HTTP"
                    : "one PostgreSQL, a schema per child (\(schema)_<name>)")
        )
        let processes = DemoProcesses(setup: setup, report: report)
        DemoChildren.shared.stopOnSignals {}
        defer {
            processes.stopAll()
            DemoChildren.shared.restoreSignals()
        }
        let legacy = DemoLegacyAPI(port: setup.legacyPort, key: DemoProcessSetup.legacyKey)
        let relay: DemoRelay
        do { relay = try DemoRelay(port: setup.relayPort, target: setup.authorityPort) } catch {
            throw CLIError.input("cannot start the demo: \(error)")
        }
        defer { relay.stop() }
        let http = DemoWire.makeClient()
        var scenario: DemoProcessScenario?
        do {
            report.begin("Starting the processes (each in its own process group; logs in \(directory)/logs/)")
            try await legacy.start()
            report.say("  ● legacy billing API (in this process) on http://127.0.0.1:\(setup.legacyPort)")
            relay.start()
            report.say("  ● relay to the authority (in this process) on \(setup.authorityURL), its public origin")
            try await processes.start("authority", role: "authority")
            for verifier in setup.everyVerifier {
                try processes.spawn(verifier.name, role: verifier.role)
            }
            for verifier in setup.everyVerifier {
                try await processes.waitReady(verifier.name, role: verifier.role)
            }
            let run = try DemoProcessScenario(
                processes: processes,
                report: report,
                http: http,
                legacy: legacy,
                relay: relay
            )
            scenario = run
            try await run.run()
        } catch {
            report.expect("the scenario ran to the end", false, "\(error)")
        }
        report.begin("Stopping every child (SIGTERM, SIGKILL after 3 s)")
        var statuses: [String: Int32] = [:]
        for name in ["tickets-mcp", "billing", "payments", "tickets", "repo", "authority"] {
            if let status = processes.stop(name) { statuses[name] = status }
        }
        processes.stopAll()
        report.expect(
            "every child stopped (\(statuses.map { "\($0.key) \($0.value)" }.sorted().joined(separator: ", ")))",
            DemoChildren.shared.running.isEmpty
        )
        await legacy.stop()
        if let scenario {
            do {
                let lines = try scenario.verifyLogs()
                scenario.timeline(lines)
            } catch {
                report.expect("the audit logs were read back", false, "\(error)")
            }
        }
        try? await http.shutdown()
        let elapsed = started.duration(to: .now)
        let passed = report.expectations.allSatisfy(\.passed)
        if json {
            let out = JSON(
                mode: "processes",
                passed: passed,
                directory: directory,
                expectations: report.expectations,
                pending: scenario?.pending ?? [],
                timings: scenario?.timings ?? [],
                timingSummary: scenario?.timingSummary ?? [],
                watermarkProofs: scenario?.watermarkProofs ?? [],
                audit: report.audit,
                timelineRows: report.timelineRows,
                taskIDs: report.taskIDs,
                children: statuses,
                elapsedSeconds: milliseconds(elapsed) / 1000
            )
            print(try jsonText(out))
        } else {
            let held = report.expectations.filter(\.passed).count
            print("\n━━ Summary (processes)")
            print("  expectations held: \(held)/\(report.expectations.count)")
            for item in scenario?.pending ?? [] { print("  ⧗ pending: \(item)") }
            for row in scenario?.timingSummary ?? [] {
                print(
                    "  revocation → denial on \(row.service): p50 \(String(format: "%.0f", row.p50)) ms, "
                        + "p99 \(String(format: "%.0f", row.p99)) ms, max \(String(format: "%.0f", row.max)) ms "
                        + "(\(row.samples) revocations; budget p99 ≤ \(postgres == nil ? 100 : 50) ms)"
                )
            }
            print("  audit logs read back: \(report.audit.filter(\.valid).count)/\(report.audit.count)")
            print("  forensic timeline: \(report.timelineRows) events for the tasks")
            print("  files: \(directory)/ (configs *.json, keys/, logs/*.log, *.sqlite, deployment.json)")
            if keep {
                print("    try: \(processes.executable) serve service --config \(directory)/repo.json --print-audit")
            }
            print("  took \(ms(elapsed)) wall (measured; budget < 60 s)")
            for failure in report.expectations where !failure.passed {
                print("  ✗ \(failure.section): \(failure.name) — \(failure.detail)")
            }
            print(passed ? "demo: every expectation held" : "demo: some expectations failed")
        }
        if let postgres, !keep {
            dropSchemas(postgres, schema: schema, names: setup.everyVerifier.map(\.name), json: json)
        }
        return passed
    }
}
#endif
