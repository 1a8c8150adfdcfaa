#if CLI
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process demo's children: the authority, the services and the broker, each a `writ serve` child of this same
/// executable, started, restarted, killed (the faults) and stopped on every exit path.
final class DemoProcesses {
    let setup: DemoProcessSetup
    let executable: String
    let report: DemoReport
    private let current = DemoMutableBox<[String: DemoChild]>([:])

    /// How long a child may take to print `listening on` (a loaded 2-core machine: generous).
    static let readiness: Duration = .seconds(20)

    init(setup: DemoProcessSetup, report: DemoReport) {
        self.setup = setup
        self.report = report
        self.executable = Self.selfExecutable()
    }

    /// This executable (`/proc/self/exe` resolved; else the first argument, resolved against the working directory).
    static func selfExecutable() -> String {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        let first = CommandLine.arguments.first ?? "writ"
        if first.hasPrefix("/") { return first }
        return FileManager.default.currentDirectoryPath + "/" + first
    }

    func child(_ name: String) -> DemoChild? { current.value[name] }

    /// Starts a child (without waiting for it).
    func spawn(_ name: String, role: String) throws {
        let child = try DemoChild.spawn(
            name: name,
            executable: executable,
            arguments: ["serve", role, "--config", setup.directory + "/\(name).json", "--log-level", "notice"],
            logPath: setup.directory + "/logs/\(name).log"
        )
        DemoChildren.shared.add(child)
        current.update { $0[name] = child }
    }

    /// Waits until a started child listens (a verifier: `ready` first, which it prints only after catching up the
    /// feed); how long that took since `since`.
    @discardableResult
    func waitReady(_ name: String, role: String, since: ContinuousClock.Instant = .now) async throws -> Duration {
        guard let child = child(name) else { throw DemoChild.Failure(description: "\(name) was not started") }
        let url = try await child.waitUntilListening(timeout: Self.readiness, needsReady: role != "authority")
        let took = since.duration(to: .now)
        report.say("  ● \(name) (pid \(child.pid)) \(role == "authority" ? "" : "ready, ")listening on \(url)")
        return took
    }

    /// Starts a child and waits until it listens; how long that took.
    @discardableResult
    func start(_ name: String, role: String) async throws -> Duration {
        let started = ContinuousClock.now
        try spawn(name, role: role)
        return try await waitReady(name, role: role, since: started)
    }

    /// Stops one child (SIGTERM, then SIGKILL after 3 s); its exit status.
    @discardableResult
    func stop(_ name: String) -> Int32? {
        guard let child = child(name) else { return nil }
        child.stop()
        DemoChildren.shared.remove(child)
        return child.exitStatus
    }

    /// SIGKILL, at once (a crash).
    func kill(_ name: String) {
        guard let child = child(name) else { return }
        child.killNow()
        DemoChildren.shared.remove(child)
    }

    /// Stops every child; the pids that were still running.
    func stopAll() {
        for (_, child) in current.value { child.stop() }
        DemoChildren.shared.stopAll()
    }

    /// The children's pids (for the report and the tests' orphan check).
    var pids: [String: pid_t] { current.value.mapValues(\.pid) }
}

/// A value behind a lock, for the demo's bookkeeping.
final class DemoMutableBox<Value: Sendable>: Sendable {
    private let lock: Mutex<Value>
    init(_ value: Value) { lock = Mutex(value) }
    var value: Value { lock.withLock { $0 } }
    func update<R>(_ body: (inout Value) -> R) -> R { lock.withLock { body(&$0) } }
}

/// Milliseconds, for a person.
func ms(_ duration: Duration) -> String {
    let value = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    return value < 10 ? String(format: "%.1f ms", value) : String(format: "%.0f ms", value)
}

/// Milliseconds as a number.
func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}
#endif
