import Foundation
import Testing

/// `writ audit verify` and `writ audit timeline` on the demo's logs, as a user runs them: keys from the demo's keys
/// folder, the checkpoint file and witness copies found beside each log, and tampering caught with exit 1.
@Suite("writ audit verify and timeline")
struct AuditVerifyCLITests {
    /// A fresh demo run's work directory, shared by the tests of this suite (each copies what it changes).
    static let demo: Result<String, any Error> = Result {
        let dir = try CLITests.temporaryDirectory()
        let run = try CLITests.runBlocking(["demo", "--dir", dir, "--seed", "1", "--json"])
        guard run.status == 0 else { throw CLIFailure(description: "demo failed: \(run.stderr)") }
        return dir
    }

    struct CLIFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// A copy of the demo's repo log, its checkpoint file and witness copy, and the keys folder path.
    struct Copy {
        let dir: String
        let keys: String
        var log: String { dir + "/repo.log" }

        init() throws {
            let demo = try AuditVerifyCLITests.demo.get()
            dir = try CLITests.temporaryDirectory()
            keys = demo + "/keys"
            for name in try FileManager.default.contentsOfDirectory(atPath: demo + "/audit")
            where name.hasPrefix("repo.log") && !name.hasSuffix(".tmp") {
                try FileManager.default.copyItem(atPath: demo + "/audit/" + name, toPath: dir + "/" + name)
            }
        }

        /// The log's frames: (offset, length incl. header and CRC, is a checkpoint frame).
        func frames() throws -> (bytes: [UInt8], frames: [(offset: Int, size: Int, checkpoint: Bool)]) {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: log)))
            var frames: [(Int, Int, Bool)] = []
            var offset = 8
            while offset + 4 <= bytes.count {
                let length =
                    Int(bytes[offset] & 0x7f) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8
                    | Int(bytes[offset + 3])
                frames.append((offset, length + 8, bytes[offset] & 0x80 != 0))
                offset += length + 8
            }
            return (bytes, frames)
        }

        func write(_ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: log)) }

        func verify(_ extra: [String] = ["--keys"]) async throws -> CLITests.Run {
            try await CLITests.run(["audit", "verify", log] + (extra == ["--keys"] ? ["--keys", keys] : extra))
        }
    }

    @Test("the demo's log verifies against its keys folder: every entry covered, witnessed")
    func verified() async throws {
        let copy = try Copy()
        let run = try await copy.verify()
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("OK:") && run.stdout.contains("witnessed up to"))
        #expect(run.stdout.contains("checkpoint file (size"))
        #expect(run.stdout.contains("cannot detect whole trailing batches dropped"))
    }

    @Test("without a key the command refuses; with --no-key it says UNVERIFIED and never 'verified'")
    func withoutKey() async throws {
        let copy = try Copy()
        let refused = try await copy.verify([])
        #expect(refused.status == 2 && refused.stderr.contains("--no-key"), "\(refused.stderr)")
        let chainOnly = try await copy.verify(["--no-key"])
        #expect(chainOnly.status == 0, "\(chainOnly.stderr)")
        #expect(chainOnly.stdout.contains("UNVERIFIED") && chainOnly.stdout.contains("NOT checked"))
        #expect(!chainOnly.stdout.contains("verified by") && !chainOnly.stdout.contains("OK"))
    }

    @Test("another log's key verifies nothing: unknown key, exit 1")
    func wrongKey() async throws {
        let copy = try Copy()
        let run = try await copy.verify(["--key", copy.keys + "/tickets.pub"])
        #expect(run.status == 1)
        #expect(run.stdout.contains("unverified: signed by unknown key repo+"), "\(run.stdout)")
        #expect(!run.stdout.contains("OK"))
    }

    @Test("a flipped byte in the last entry is tampering, exit 1 naming it")
    func flippedLastEntry() async throws {
        let copy = try Copy()
        var (bytes, frames) = try copy.frames()
        let last = try #require(frames.last { !$0.checkpoint })
        let entries = frames.filter { !$0.checkpoint }.count
        bytes[last.offset + 30] ^= 0x01
        try copy.write(bytes)
        let run = try await copy.verify()
        #expect(run.status == 1)
        #expect(run.stderr.contains("entry \(entries - 1):"), "\(run.stderr)")
    }

    @Test("the last batch cut off, or the checkpoint file deleted, is exit 1", arguments: [false, true])
    func cutOrDeleted(deleteCheckpointFile: Bool) async throws {
        let copy = try Copy()
        if deleteCheckpointFile {
            try FileManager.default.removeItem(atPath: copy.log + ".checkpoint")
        } else {
            let (bytes, frames) = try copy.frames()
            let lastEntry = try #require(frames.lastIndex { !$0.checkpoint })
            try copy.write(Array(bytes[..<frames[lastEntry].offset]))
        }
        let run = try await copy.verify()
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr.contains(deleteCheckpointFile ? "missing" : "removed"), "\(run.stderr)")
    }

    @Test("the timeline takes the same keys; without them it refuses, with --no-key every row says NONE")
    func timeline() async throws {
        let demo = try Self.demo.get()
        let logs = ["authority", "repo", "tickets", "payments"].map { demo + "/audit/\($0).log" }
        let verified = try await CLITests.run(["audit", "timeline"] + logs + ["--keys", demo + "/keys"])
        #expect(verified.status == 0, "\(verified.stderr)")
        let rows = verified.stdout.split(separator: "\n").dropFirst()
        #expect(!rows.isEmpty && rows.allSatisfy { $0.contains(" ok ") })
        #expect(try await CLITests.run(["audit", "timeline"] + logs).status == 2)
        let unverified = try await CLITests.run(["audit", "timeline"] + logs + ["--no-key"])
        #expect(unverified.status == 0)
        #expect(unverified.stdout.split(separator: "\n").dropFirst().allSatisfy { $0.contains(" NONE ") })
        #expect(unverified.stderr.contains("NOT checked"))
    }
}
