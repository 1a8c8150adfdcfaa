#if MCP
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process of a test (`WritMCPEchoServer` or `writ`), built beside the test bundle, its standard output
/// and error collected as they arrive. Killed with SIGKILL by ``killNow()`` and on deinit, so that no child
/// outlives its test on any path.
final class MCPChildProcess: Sendable {
    /// The executable `name` beside the test bundle (`.build/<config>/<name>`), or `nil`.
    static func executable(_ name: String) -> URL? {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = directory.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }

    struct Missing: Error, CustomStringConvertible {
        let name: String
        var description: String { "\(name) not found beside \(CommandLine.arguments[0])" }
    }

    // Set up in `init`, then only read; the collected output is under a mutex.
    private let process = Process()
    private let out = Pipe()
    private let err = Pipe()
    private let collected = Collected()

    /// What the child wrote so far (shared with the pipes' handlers).
    final class Collected: Sendable {
        private let state = Mutex<(out: Data, err: Data, outClosed: Bool)>((Data(), Data(), false))

        func withLock<T: Sendable>(_ body: (inout (out: Data, err: Data, outClosed: Bool)) -> T) -> T {
            state.withLock { body(&$0) }
        }
    }

    /// Starts `name` (an executable beside the test bundle) with `arguments`.
    init(_ name: String, _ arguments: [String]) throws {
        guard let executable = Self.executable(name) else { throw Missing(name: name) }
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = out
        process.standardError = err
        let collected = self.collected
        out.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                collected.withLock { $0.outClosed = true }
            } else {
                collected.withLock { $0.out.append(data) }
            }
        }
        err.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil } else { collected.withLock { $0.err.append(data) } }
        }
        try process.run()
    }

    deinit { killNow() }

    var stdout: String { collected.withLock { String(decoding: $0.out, as: UTF8.self) } }
    var stderr: String { collected.withLock { String(decoding: $0.err, as: UTF8.self) } }
    var isRunning: Bool { process.isRunning }

    /// Kills the child at once if it still runs.
    func killNow() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Sends `signal` and waits (up to `seconds`) for the exit status; `nil` (and SIGKILL) if it still runs.
    func stop(_ signal: Int32 = SIGTERM, within seconds: Double = 10) async throws -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, signal)
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if !process.isRunning { return process.terminationStatus }
            try await Task.sleep(for: .milliseconds(50))
        }
        killNow()
        return nil
    }

    /// Waits (up to `seconds`) for the child to exit by itself and its standard output to end; its exit status, or
    /// `nil` if it still runs.
    func waitForExit(within seconds: Double = 30) async throws -> Int32? {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if !process.isRunning, collected.withLock({ $0.outClosed }) { return process.terminationStatus }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Waits (up to `seconds`) until standard output contains `text`.
    func waitFor(_ text: String, within seconds: Double = 60) async throws -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if stdout.contains(text) { return true }
            if !process.isRunning { return stdout.contains(text) }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// The `http://…` address printed as `listening on ADDRESS`, waiting up to `seconds`.
    func address(within seconds: Double = 60) async throws -> String? {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline, process.isRunning {
            if let line = stdout.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }) {
                return String(line.dropFirst("listening on ".count))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }
}
#endif
