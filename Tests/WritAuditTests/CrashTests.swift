import Dispatch
import Foundation
import Testing
import WritAudit
import WritCrypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process appends to a file log in a loop and is killed with SIGKILL at random moments; after every kill
/// the log opens, verifies, and holds every entry whose append had returned.
@Suite("File store crash safety")
struct CrashTests {
    /// The helper executable, built beside the test bundle (`.build/<config>/WritAuditCrashHelper`).
    static var helper: URL? {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = directory.appendingPathComponent("WritAuditCrashHelper")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }

    /// Reads a pipe to its end on a Dispatch thread (never blocking the cooperative pool).
    static func drain(_ handle: FileHandle) async -> Data {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: handle.readDataToEndOfFile()) }
        }
    }

    @Test("SIGKILL at random moments loses no acknowledged entry (24 rounds)", .timeLimit(.minutes(5)))
    func killRepeatedly() async throws {
        let helper = try #require(Self.helper, "WritAuditCrashHelper not found beside \(CommandLine.arguments[0])")
        let directory = try TemporaryDirectory()
        let path = directory.path("crash.writ")
        var generator = SystemRandomNumberGenerator()
        var acknowledgedTotal = 0
        for round in 0..<24 {
            let marker = directory.path("ready-\(round)")
            let process = Process()
            process.executableURL = helper
            process.arguments = [path, marker]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            async let collected = Self.drain(output.fileHandleForReading)
            // Wait (bounded) until the helper has opened the log, then let it append for a random while.
            let deadline = ContinuousClock.now + .seconds(60)
            while !FileManager.default.fileExists(atPath: marker), process.isRunning, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(FileManager.default.fileExists(atPath: marker), "round \(round): helper never became ready")
            try await Task.sleep(for: .milliseconds(Int.random(in: 10...250, using: &generator)))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "round \(round): helper exited on its own")
            let lines = String(decoding: await collected, as: UTF8.self).split(separator: "\n")
            let acknowledged = lines.compactMap { $0.hasPrefix("ack ") ? UInt64($0.dropFirst(4)) : nil }
            acknowledgedTotal += acknowledged.count

            // The log opens (repairing a torn tail), verifies, and holds every acknowledged entry.
            let store = try FileAuditStore.open(path: path)
            let count = try await store.count()
            if let highest = acknowledged.max() {
                #expect(highest < count, "round \(round): entry \(highest) was acknowledged but only \(count) survive")
            }
            let key = try Ed25519.PrivateKey(seed: SecureBytes([UInt8](repeating: 0x42, count: 32)))
            let report = try await AuditVerifier.verify(store: store, keys: AuditKeyring(logKey: key.publicKey))
            #expect(report.isVerified, "round \(round): \(report)")
            // Every acknowledged entry is covered by a signature stored in the log.
            if let highest = acknowledged.max() { #expect(highest < report.coveredSize, "round \(round)") }
        }
        #expect(acknowledgedTotal > 0)
    }
}
