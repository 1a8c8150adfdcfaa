import Foundation
import Synchronization
import Testing

/// Runs the `writ` executable as a user would and checks exit codes, output and files.
@Suite("writ command line")
struct CLITests {
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The `writ` executable, built beside the test bundle (or the one `WRIT_EXECUTABLE` names, to run these
    /// tests against another build, e.g. to show that a test fails on an older one).
    static var writ: URL? {
        if let path = ProcessInfo.processInfo.environment["WRIT_EXECUTABLE"] { return URL(fileURLWithPath: path) }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = directory.appendingPathComponent("writ")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }

    /// Runs `writ` with `arguments` on a thread of its own and waits for it without holding a thread of the
    /// cooperative pool (a blocked pool thread — there are as many as cores — would stall every other suite's
    /// async work, e.g. PostgreSQL pools and HTTP servers, for as long as the child runs).
    static func run(_ arguments: [String]) async throws -> Run {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try runBlocking(arguments) })
            }
        }
    }

    /// The longest one `writ` run may take before it is stopped and reported (the process demo takes 25–40 s).
    static let runLimit: Duration = .seconds(240)

    /// Runs `writ` with `arguments` on the calling thread (blocking it until the child exits, at most
    /// ``runLimit``).
    ///
    /// Both pipes are read at once (a child filling one while the other is read to its end would block forever).
    /// A run past the limit is stopped (SIGTERM, then SIGKILL) and returned with status 124 and a note on stderr,
    /// so that a hung child fails its test by name instead of hanging the whole run; so is a run whose output never
    /// ends because something the child started still holds its pipes.
    static func runBlocking(_ arguments: [String]) throws -> Run {
        let executable = try #require(writ, "writ not found beside \(CommandLine.arguments[0])")
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let output = Output()
        output.collect(out.fileHandleForReading, errors: false)
        output.collect(err.fileHandleForReading, errors: true)
        try process.run()
        let deadline = ContinuousClock.now + runLimit
        var note = ""
        if !output.waitForEnds(until: deadline) || !waitForExit(process, until: deadline) {
            note = "\n[CLITests: writ \(arguments.joined(separator: " ")) still ran after \(runLimit): stopped]"
            kill(process.processIdentifier, SIGTERM)
            if !waitForExit(process, until: .now + .seconds(5)) { kill(process.processIdentifier, SIGKILL) }
            _ = waitForExit(process, until: .now + .seconds(5))
            _ = output.waitForEnds(until: .now + .seconds(5))
        }
        let collected = output.state.withLock { $0 }
        return Run(
            status: note.isEmpty && !process.isRunning ? process.terminationStatus : 124,
            stdout: String(decoding: collected.out, as: UTF8.self),
            stderr: String(decoding: collected.err, as: UTF8.self) + note
        )
    }

    /// Polls until `process` exits or `deadline` passes; whether it exited.
    private static func waitForExit(_ process: Process, until deadline: ContinuousClock.Instant) -> Bool {
        while process.isRunning {
            guard ContinuousClock.now < deadline else { return false }
            usleep(10_000)
        }
        return true
    }

    /// A child's standard output and error, collected as they arrive.
    final class Output: Sendable {
        struct Streams {
            var out = Data()
            var err = Data()
            var ended = 0
        }
        let state = Mutex(Streams())

        /// Reads `handle` to its end on a thread of its own (not a `readabilityHandler`: under a loaded full run
        /// its end-of-file was seen never to be delivered, leaving the run waiting after the child had exited).
        func collect(_ handle: FileHandle, errors: Bool) {
            Thread.detachNewThread { [self] in
                let fd = handle.fileDescriptor  // `handle`, captured, stays open until this thread is done
                var buffer = [UInt8](repeating: 0, count: 1 << 16)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if count < 0, errno == EINTR { continue }
                    guard count > 0 else { break }
                    state.withLock {
                        errors
                            ? $0.err.append(contentsOf: buffer[0..<count])
                            : $0.out.append(contentsOf: buffer[0..<count])
                    }
                }
                state.withLock { $0.ended += 1 }
            }
        }

        /// Waits until both streams ended or `deadline` passes; whether both ended.
        func waitForEnds(until deadline: ContinuousClock.Instant) -> Bool {
            while state.withLock({ $0.ended }) < 2 {
                guard ContinuousClock.now < deadline else { return false }
                usleep(5_000)
            }
            return true
        }
    }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "writ-cli-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("writ demo: every expectation holds, exit 0, JSON report, audit logs and revocation file written")
    func demo() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try await Self.run(["demo", "--dir", dir, "--seed", "3", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect(report?["passed"] as? Bool == true)
        let expectations = report?["expectations"] as? [[String: Any]] ?? []
        #expect(expectations.count >= 30)
        #expect(expectations.allSatisfy { $0["passed"] as? Bool == true })
        #if SQLite
        let state = ["writ.sqlite"]  // the embedded default: authority state, feed, watermarks, nonces
        #else
        let state = ["revocations.log", "revocations.log.head"]
        #endif
        for file in [
            "audit/authority.log", "audit/repo.log", "audit/tickets.log", "audit/payments.log",
            "feed-keys/revocation.pub", "keys/repo.pub",
        ] + state {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + file), "\(file)")
        }

        // The audit logs it wrote verify, and one tampered byte is caught (exit 1, named on stderr).
        #expect(try await Self.run(["audit", "verify", "--keys", dir + "/keys", dir + "/audit/repo.log"]).status == 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/audit/repo.log"))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: dir + "/audit/repo.log"))
        let tampered = try await Self.run(["audit", "verify", "--keys", dir + "/keys", dir + "/audit/repo.log"])
        #expect(tampered.status == 1)
        #expect(tampered.stderr.hasPrefix("error:"))

        // TTL advice from the (intact) authority log.
        let advice = try await Self.run(["ttl", "advise", "--json", dir + "/audit/authority.log"])
        #expect(advice.status == 0, "\(advice.stderr)")
        #expect(advice.stdout.contains("\"agentClass\" : \"planner\""))
    }

    @Test("writ drill passes on a healthy deployment and exits 1 when a service does not apply revocations")
    func drill() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let healthy = try await Self.run(["drill", "--dir", dir])
        #expect(healthy.status == 0, "\(healthy.stdout)\(healthy.stderr)")
        #expect(healthy.stdout.contains("✓"))
        let deaf = try await Self.run(["drill", "--dir", dir, "--deaf", "tickets"])
        #expect(deaf.status == 1)
        #expect(deaf.stdout.contains("✗ tickets revocation"))
    }

    @Test("keygen writes the private key with mode 0600")
    func keygen() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try await Self.run(["keygen", "--out", dir + "/agent.key"])
        #expect(run.status == 0, "\(run.stderr)")
        let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/agent.key")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(FileManager.default.fileExists(atPath: dir + "/agent.pub"))
    }

    @Test("usage errors exit 2 with one line on standard error; unreadable input exits 2")
    func usageErrors() async throws {
        let unknown = try await Self.run(["--no-such-option"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.split(separator: "\n").count == 1)
        #expect(unknown.stderr.hasPrefix("error:"))
        let missing = try await Self.run(["audit", "verify", "/nonexistent/writ.log"])
        #expect(missing.status == 2)
        #expect(!missing.stderr.contains("Fatal"))
    }
}
