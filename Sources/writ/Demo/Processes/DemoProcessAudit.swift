#if CLI
import Foundation

/// The audit logs, read back after every child stopped: each verifier's log from its own store by a later process
/// (`writ serve service|broker --config … --print-audit`, which opens and checks the log), and the merged
/// timeline of the demo's tasks.
extension DemoProcessScenario {
    /// One audit entry as `--print-audit` prints it.
    struct AuditLine: Codable, Sendable {
        let service: String
        let index: String
        let kind: String
        let agent: String?
        let task: String?
        let action: String?
        let resource: String?
        let decision: String?
        let reason: String?
    }

    /// Runs `--print-audit` for every verifier; the entries, per service in log order.
    func verifyLogs() throws -> [AuditLine] {
        report.begin("Audit logs: each verifier's log read back from its store by a later process")
        var all: [AuditLine] = []
        for verifier in setup.everyVerifier {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: processes.executable)
            process.arguments = [
                "serve", verifier.role, "--config", setup.directory + "/\(verifier.name).json", "--print-audit",
                "--log-level", "error",
            ]
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            let errors = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            var lines: [AuditLine] = []
            for line in data.split(separator: UInt8(ascii: "\n")) {
                guard let fields = try? JSONDecoder().decode([String: String].self, from: Data(line)) else { continue }
                lines.append(
                    AuditLine(
                        service: verifier.name,
                        index: fields["index"] ?? "",
                        kind: fields["kind"] ?? "",
                        agent: fields["agent"],
                        task: fields["task"],
                        action: fields["action"],
                        resource: fields["resource"],
                        decision: fields["decision"],
                        reason: fields["reason"]
                    )
                )
            }
            let used = lines.filter { $0.kind == "used" }.count
            let denied = lines.filter { $0.kind == "denied" }.count
            let ok = process.terminationStatus == 0 && !lines.isEmpty
            report.expect(
                "\(verifier.name): \(lines.count) entries (\(used) used, \(denied) denied), log opened and checked",
                ok,
                ok ? "" : String(decoding: errors, as: UTF8.self).prefix(300).description
            )
            report.audit.append(
                DemoReport.AuditSummary(
                    service: verifier.name,
                    path: setup.store(verifier.name),
                    entries: UInt64(lines.count),
                    valid: ok,
                    checkpointsVerified: 0,
                    rootHash: "",
                    detail: "writ serve \(verifier.role) --print-audit exit \(process.terminationStatus)"
                )
            )
            all += lines
        }
        return all
    }

    /// The task's events across services (each service's log order kept; services in the order the workflow used
    /// them). No cross-service clock is claimed: the entries carry no shared timestamp in this output.
    func timeline(_ lines: [AuditLine]) {
        report.begin("The task's entries per service, as a later process reads them (log order, no shared clock)")
        let mine = lines.filter { line in line.task.map { tasks.contains($0) } ?? false }
        for line in mine.prefix(40) {
            report.say(
                "    \(line.service.padding(toLength: 9, withPad: " ", startingAt: 0)) #\(line.index) "
                    + "\(line.kind) \(line.action ?? "") \(line.resource ?? "")"
                    + (line.reason.map { " — \($0.prefix(60))" } ?? "")
            )
        }
        if mine.count > 40 { report.say("    … \(mine.count - 40) more") }
        report.timelineRows = mine.count
        report.taskIDs = tasks
        report.expect(
            "the task's events are in the services' logs (\(mine.count) entries)",
            mine.contains { $0.kind == "used" } && mine.contains { $0.kind == "denied" }
        )
    }
}
#endif
