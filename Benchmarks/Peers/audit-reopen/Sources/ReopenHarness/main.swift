import Foundation
import WritAudit
import WritCrypto

// Writes an N-entry log straight through FileAuditStore (batches of `batch` entries, each with its signed
// checkpoint and frontier, as AuditLog writes them), then reopens it `rounds` times each way, interleaved.
let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let total = arguments.count > 0 ? arguments[0] : 1_000_000
let rounds = arguments.count > 1 ? arguments[1] : 7
let batch = arguments.count > 2 ? arguments[2] : 1_000

let directory = FileManager.default.temporaryDirectory.appendingPathComponent("writ-reopen-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: directory) }
let path = directory.appendingPathComponent("audit.writ").path
let key = Ed25519.PrivateKey()
let service = "billing"

do {
    let store = try FileAuditStore.open(path: path)
    var tree = MerkleTree()
    var link = AuditEntry.genesisHash
    var index: UInt64 = 0
    let started = ContinuousClock.now
    while index < UInt64(total) {
        var entries: [[UInt8]] = []
        let first = index
        for _ in 0..<min(batch, total - Int(index)) {
            var event = AuditEvent(
                .used,
                time: Timestamp(millisecondsSinceEpoch: 1_700_000_000_000 + Int64(index)),
                agent: "spiffe://example.org/agent/a",
                task: "task-\(index / 100)",
                tokenID: "tok-\(index)",
                audience: "billing",
                action: "read",
                resource: "invoice/\(index)",
                decision: .allow
            )
            event.service = service
            let bytes = try AuditEntry(index: index, previousHash: link, event: event).encoded()
            link = AuditEntry.leafHash(of: bytes)
            tree.append(leafHash: link)
            entries.append(bytes)
            index += 1
        }
        let checkpoint = SignedCheckpoint.sign(
            try Checkpoint(origin: service, size: index, rootHash: try tree.root()),
            name: service,
            key: key
        )
        try await store.append(entries, firstIndex: first, checkpoint: checkpoint, frontier: try tree.frontier(size: index))
    }
    try await store.flushCheckpointFile()
    let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    print("wrote \(total) entries (\(size / 1_048_576) MiB) in \(ContinuousClock.now - started)")
}

/// One reopen: the store, then the log over it, then the store is released (its lock with it).
func reopen(_ checking: AuditOpenCheck) async throws -> Duration {
    let started = ContinuousClock.now
    let store = try FileAuditStore.open(path: path, checking: checking)
    let log = try await AuditLog.open(store: store, service: service, signingKey: key, salt: AuditSalt(), checking: checking)
    let elapsed = ContinuousClock.now - started
    precondition(log.durableSize == UInt64(total))
    return elapsed
}

var results: [String: [Duration]] = [:]
_ = try await reopen(.tail)  // warm the page cache for both
for _ in 0..<rounds {
    results["tail (frontier)", default: []].append(try await reopen(.tail))
    results["full read (.everyEntry)", default: []].append(try await reopen(.everyEntry))
}
for (name, times) in results.sorted(by: { $0.key > $1.key }) {
    let sorted = times.sorted()
    let ms = sorted.map { Double($0.components.attoseconds) / 1e15 + Double($0.components.seconds) * 1e3 }
    print(
        "\(name): median \(String(format: "%.2f", ms[ms.count / 2])) ms, min \(String(format: "%.2f", ms[0])) ms, "
            + "max \(String(format: "%.2f", ms[ms.count - 1])) ms (\(rounds) rounds, \(total) entries)"
    )
}
