#if CLI
import Foundation
import WritAudit
import WritCrypto
import WritHTTP

extension DemoProcessScenario {
    /// The forensic timeline across the running verifiers: each one's whole audit log read over HTTP
    /// (`GET /v1/audit`, the operator's key), every page verified against the log's signed checkpoint with the
    /// audit key the demo gave that verifier, then merged by ``ForensicTimeline`` (time, then causal links within
    /// a millisecond: issuance before use, revocation before the denial it causes) and filtered to the demo's
    /// tasks.
    func mergedTimeline() async throws {
        report.begin("Forensic timeline: every verifier's log read over HTTP, verified and merged")
        var sources: [ForensicTimeline.Source] = []
        for verifier in setup.everyVerifier {
            guard let key = setup.auditKeys[verifier.name] else { continue }
            let client = WritServiceAuditClient(
                origin: try wire.origin(verifier.name),
                service: verifier.name,
                httpClient: wire.http
            )
            var entries: [[UInt8]] = []
            var checkpoint: SignedCheckpoint?
            var after: UInt64 = 0
            while true {
                let page = try await client.verifiedPage(
                    after: after,
                    operatorKey: operatorKey,
                    logKey: key.publicKey
                )
                checkpoint = page.checkpoint
                for entry in page.entries { entries.append(try entry.encoded()) }
                after += UInt64(page.entries.count)
                if page.entries.isEmpty || after >= page.size { break }
            }
            sources.append(
                ForensicTimeline.Source(
                    name: verifier.name,
                    entries: entries,
                    checkpoints: checkpoint.map { [$0] } ?? [],
                    logKey: key.publicKey
                )
            )
        }
        let merged = try ForensicTimeline(sources: sources, requireVerified: true)
        let rows = merged.rows.filter { row in row.event.task.map { tasks.contains($0) } ?? false }
        let services = Set(rows.map(\.service)).sorted()
        let first = merged.filtered(task: tasks.first ?? "")
        report.say(
            "    \(rows.count) events of the demo's \(tasks.count) tasks from \(services.joined(separator: ", ")); "
                + "the first task's first and last:"
        )
        let table = first.table().split(separator: "\n")
        for line in table.prefix(8) { report.say("    " + line) }
        if table.count > 14 { report.say("    …") }
        for line in table.suffix(6) where table.count > 8 { report.say("    " + line) }
        report.timelineRows = rows.count
        // Every verifier's whole log is read and verified; the tasks' events come from the ones the agents used
        // (the HTTP tickets service only serves the drill and the faults now, the agents' tickets work is MCP).
        report.expect(
            "the verified logs of all \(sources.count) verifiers merge into one timeline (\(rows.count) events of "
                + "the tasks, from \(services.joined(separator: ", ")))",
            sources.count == setup.everyVerifier.count && !rows.isEmpty && services.contains(DemoToolSession.audience)
        )
    }
}
#endif
