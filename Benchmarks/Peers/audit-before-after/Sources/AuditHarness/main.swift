import Foundation
import WritAudit
import WritAuditBefore
import WritCrypto

// 64 concurrent appenders, each recording in a loop (closed loop), durable file store; entries/s.
// Configurations interleaved A/B/C/A/B/C... in one process so that they share the machine's conditions.

func event(_ i: Int) -> WritAudit.AuditEvent {
    WritAudit.AuditEvent(.used, agent: "spiffe://corp.example/agent/coder/42", task: "task-7f3a", step: "step-\(i & 7)",
        tokenID: "tok-9c2e41d7a0b5", parentTokenID: "tok-1b77c0de", audience: "billing.corp.example",
        action: "invoice.read", resource: "/invoices/2026/11", decision: .allow, reason: "policy0",
        traceID: "4bf92f3577b34da6a3ce929d0e0e4736")
}
func oldEvent(_ i: Int) -> WritAuditBefore.AuditEvent {
    WritAuditBefore.AuditEvent(.used, agent: "spiffe://corp.example/agent/coder/42", task: "task-7f3a", step: "step-\(i & 7)",
        tokenID: "tok-9c2e41d7a0b5", parentTokenID: "tok-1b77c0de", audience: "billing.corp.example",
        action: "invoice.read", resource: "/invoices/2026/11", decision: .allow, reason: "policy0",
        traceID: "4bf92f3577b34da6a3ce929d0e0e4736")
}

let appenders = 64
let perAppender = Int(CommandLine.arguments.dropFirst().first ?? "300") ?? 300
let rounds = Int(CommandLine.arguments.dropFirst(2).first ?? "5") ?? 5
let dir = NSTemporaryDirectory() + "writ-audit-harness-\(UUID().uuidString)"
try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: dir) }
nonisolated(unsafe) var counter = 0
func path() -> String { counter += 1; return dir + "/log-\(counter).writ" }

func after() async throws -> Double {
    let store = try WritAudit.FileAuditStore.open(path: path())
    let log = try await WritAudit.AuditLog.open(store: store, service: "billing", signingKey: Ed25519.PrivateKey(), salt: WritAudit.AuditSalt())
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for a in 0..<appenders { group.addTask { for i in 0..<perAppender { _ = try await log.record(event(a &+ i)) } } }
        try await group.waitForAll()
    }
    let elapsed = ContinuousClock.now - start
    return Double(appenders * perAppender) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
}

func before() async throws -> Double {
    let store = try WritAuditBefore.FileAuditStore.open(path: path())
    let log = try await WritAuditBefore.AuditLog.open(store: store, service: "billing", signingKey: Ed25519.PrivateKey(), salt: WritAuditBefore.AuditSalt())
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for a in 0..<appenders { group.addTask { for i in 0..<perAppender { _ = try await log.record(oldEvent(a &+ i)) } } }
        try await group.waitForAll()
    }
    let elapsed = ContinuousClock.now - start
    return Double(appenders * perAppender) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
}

/// The physical floor: one pwrite of 64 typical-size frames + one fdatasync, in a loop (no hashing, no signing).
func raw() -> Double {
    let fd = open(path(), O_RDWR | O_CREAT | O_TRUNC, 0o600)
    defer { close(fd) }
    let batch = [UInt8](repeating: 7, count: 64 * 288)
    var offset: off_t = 0
    let batches = perAppender
    let start = ContinuousClock.now
    for _ in 0..<batches {
        _ = batch.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, offset) }
        offset += off_t(batch.count)
        _ = fdatasync(fd)
    }
    let elapsed = ContinuousClock.now - start
    return Double(batches * 64) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
}

var results: [String: [Double]] = [:]
_ = try await before(); _ = try await after()  // warm up
for _ in 0..<rounds {
    results["raw pwrite+fdatasync, 64-entry batches", default: []].append(raw())
    results["before (9c192a7): no checkpoint per batch", default: []].append(try await before())
    results["after: signed checkpoint frame per batch", default: []].append(try await after())
}
func median(_ v: [Double]) -> Double { let s = v.sorted(); return s[s.count / 2] }
for (name, values) in results.sorted(by: { $0.key < $1.key }) {
    print("\(name): median \(Int(median(values))) entries/s  (runs: \(values.map { String(Int($0)) }.joined(separator: ", ")))")
}
let ratio = median(results["after: signed checkpoint frame per batch"]!) / median(results["before (9c192a7): no checkpoint per batch"]!)
print(String(format: "after/before = %.2f", ratio))

if CommandLine.arguments.count > 3 {
    let key = Ed25519.PrivateKey()
    let cp = try WritAudit.Checkpoint(origin: "billing", size: 12345, rootHash: [UInt8](repeating: 1, count: 32))
    let n = 2000
    var t = ContinuousClock.now
    var last: WritAudit.SignedCheckpoint?
    for _ in 0..<n { last = WritAudit.SignedCheckpoint.sign(cp, name: "billing", key: key) }
    print("sign: \((ContinuousClock.now - t) / n)")
    t = ContinuousClock.now
    var total = 0
    for _ in 0..<n { total &+= last!.text.utf8.count }
    print("text: \((ContinuousClock.now - t) / n) \(total)")
}
