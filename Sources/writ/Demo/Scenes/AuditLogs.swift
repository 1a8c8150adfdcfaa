#if CLI
import Foundation
import Writ
import WritAudit
import WritCrypto
import WritTesting

extension DemoScenario {
    /// Audit: every log's latest batch checkpoint is witnessed by the authority, and every file verified against the
    /// keys folder.
    func verifyLogs() async throws {
        report.begin("Audit: witness each log's latest batch checkpoint, verify every file against the keys folder")
        let logs: [(String, AuditLog, any AuditStore)] =
            [("authority", deployment.authorityLog, deployment.authorityAudit)]
            + deployment.services.map { ($0.name, $0.log, $0.auditStore) }
        let keys = try Self.keyring(folder: deployment.directory + "/keys")
        for (name, log, store) in logs {
            let path = deployment.auditPath(name)
            // The file store writes its checkpoint file in batches; the verifier reads the file.
            try await (store as? FileAuditStore)?.flushCheckpointFile()
            let witnessed = try deployment.authorityLog.cosign(try log.checkpoint(), logKey: log.publicKey)
            try Data(witnessed.text.utf8).write(to: URL(fileURLWithPath: path + ".witness-authority.checkpoint"))
            let verification = try AuditVerifier.verify(fileAt: path, keys: keys)
            report.audit.append(
                .init(
                    service: name,
                    path: path,
                    entries: verification.entryCount,
                    valid: verification.isVerified && verification.witnessedSize == verification.entryCount,
                    checkpointsVerified: verification.checkpointsVerified,
                    rootHash: Hex.encode(verification.rootHash),
                    detail: verification.failure?.description ?? "ok"
                )
            )
            report.say(
                "  \(verification.isVerified ? "✓" : "✗") \(name): \(verification.entryCount) entries, chain + Merkle "
                    + "tree, every entry covered by a batch checkpoint signed by keys/\(name).pub, witnessed by "
                    + "the authority (root \(Hex.encode(verification.rootHash.prefix(6)))…)"
            )
            if !verification.isVerified { report.say("    \(verification)") }
        }
    }

    /// Every log and witness key in the demo's keys folder.
    static func keyring(folder: String) throws -> AuditKeyring {
        var keys = AuditKeyring()
        for name in try FileManager.default.contentsOfDirectory(atPath: folder).sorted() where name.hasSuffix(".pub") {
            let text = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
            try keys.add(verifierKey: text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return keys
    }

    func timeline() throws {
        report.begin("Forensic timeline of the task across all services")
        let keys = try Self.keyring(folder: deployment.directory + "/keys")
        let sources = try (["authority"] + deployment.services.map(\.name)).map(deployment.auditPath).map { path in
            try ForensicTimeline.Source(fileAt: path, keys: keys)
        }
        let merged = try ForensicTimeline(sources: sources, requireVerified: true)
        let first = report.taskIDs.first ?? ""
        let rows = merged.filtered(task: first)
        report.timelineRows = rows.rows.count
        let services = Set(rows.rows.map(\.service)).sorted()
        report.say("  \(rows.rows.count) events for \(first) from \(services.joined(separator: ", ")); first and last:")
        let table = rows.table().split(separator: "\n")
        for line in table.prefix(7) { report.say("  " + line) }
        if table.count > 12 { report.say("  …") }
        for line in table.suffix(5) where table.count > 7 { report.say("  " + line) }
        report.expect("timeline merges the verified logs of \(services.count) systems", services.count >= 4)
    }
}
#endif
