#if CLI
import Foundation
import Synchronization
import WritFileSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
/// The demo's signal sources, kept alive while the demo runs.
///
/// `@unchecked Sendable`: the array is immutable after `init`, and dispatch sources are thread-safe objects (their
/// `cancel()` may be called from any thread).
final class SignalSources: @unchecked Sendable {
    let sources: [any DispatchSourceSignal]
    init(_ sources: [any DispatchSourceSignal]) { self.sources = sources }
}
#endif

/// A child process of the process demo: one `writ serve` role, in its own process group, its standard output
/// collected (for the `ready` / `listening on` lines) and its standard error appended to `logs/<name>.log`.
final class DemoChild: Sendable {
    /// What a child failing to start or dying says: which child, and the tail of its log.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let name: String
    let pid: pid_t
    let logPath: String
    private let output = Mutex<[UInt8]>([])
    private let status = Mutex<Int32?>(nil)

    private init(name: String, pid: pid_t, logPath: String) {
        self.name = name
        self.pid = pid
        self.logPath = logPath
    }

    /// Starts `executable arguments…` in a new process group (so that a terminal's ^C reaches only the demo, which
    /// then stops every child itself), with SIGINT and SIGTERM at their default action and stdin from /dev/null.
    static func spawn(name: String, executable: String, arguments: [String], logPath: String) throws -> DemoChild {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw Failure(description: "\(name): pipe failed (errno \(errno))") }
        // Not inherited by later children (the child's end becomes its fd 1 through dup2, which clears the flag).
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        // Nothing else of the demo's: a server holding a copy of a pipe the demo reads to its end (another child's
        // output) would keep that read from ever ending. Closed in the child, so a descriptor another thread opens
        // meanwhile is closed too.
        _ = POSIXFile.addCloseFromThree(&actions)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGPIPE)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes,
            Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)
        )
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let environment = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { for pointer in envp { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        close(fds[1])
        guard result == 0 else {
            close(fds[0])
            throw Failure(description: "\(name): cannot start \(executable) (\(String(cString: strerror(result))))")
        }
        let child = DemoChild(name: name, pid: pid, logPath: logPath)
        let readEnd = fds[0]
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                if count <= 0 { break }
                child.output.withLock { $0.append(contentsOf: buffer[0..<count]) }
            }
            close(readEnd)
        }
        return child
    }

    /// What the child printed on standard output so far.
    var stdout: String { String(decoding: output.withLock { $0 }, as: UTF8.self) }

    /// The exit status (`nil` while it runs); reaps the child once.
    var exitStatus: Int32? {
        status.withLock { status in
            if status != nil { return status }
            var raw: Int32 = 0
            let reaped = waitpid(pid, &raw, WNOHANG)
            if reaped == pid {
                status = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
            } else if reaped < 0, errno == ECHILD {
                status = -1
            }
            return status
        }
    }

    var isRunning: Bool { exitStatus == nil }

    /// The last `lines` lines of its log.
    func logTail(_ lines: Int = 12) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        let tail = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines)
        return tail.map { "      | " + $0 }.joined(separator: "\n")
    }

    /// Waits until the child prints `listening on http://HOST:PORT` (and, for a verifier, `ready` before it);
    /// the URL. A child that exits or is not ready within `timeout` is stopped and named, with its log's tail.
    func waitUntilListening(timeout: Duration, needsReady: Bool) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let lines = stdout.split(separator: "\n")
            if let line = lines.first(where: { $0.hasPrefix("listening on ") }),
                !needsReady || lines.contains("ready")
            {
                return String(line.dropFirst("listening on ".count))
            }
            if let status = exitStatus {
                throw Failure(
                    description: "\(name) exited with status \(status) before it was ready; the end of \(logPath):\n"
                        + logTail()
                )
            }
            if ContinuousClock.now >= deadline {
                stop()
                throw Failure(
                    description: "\(name) was not ready within \(timeout.components.seconds) s (stopped); the end "
                        + "of \(logPath):\n" + logTail()
                )
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Stops the child's whole process group: SIGTERM, then SIGKILL after `grace`; waits until it is reaped.
    /// Blocking (it is also called from a signal handler's queue and on exit paths that cannot await).
    func stop(grace: Duration = .seconds(3)) {
        // Signals go to the group only while its leader has not been reaped (a reaped pid may be reused).
        if isRunning {
            kill(-pid, SIGTERM)
            let deadline = ContinuousClock.now + grace
            while isRunning, ContinuousClock.now < deadline { usleep(10_000) }
            if isRunning { kill(-pid, SIGKILL) }
        }
        while isRunning { usleep(5_000) }
    }

    /// Kills the group at once (the SIGKILL fault) and reaps the child.
    func killNow() {
        if isRunning { kill(-pid, SIGKILL) }
        while isRunning { usleep(5_000) }
    }
}

/// Every child the demo started, so that every exit path (the end, a thrown error, SIGINT or SIGTERM of the demo)
/// stops them all.
final class DemoChildren: Sendable {
    static let shared = DemoChildren()
    private let children = Mutex<[DemoChild]>([])
    private let onSignal = Mutex<SignalSources?>(nil)

    func add(_ child: DemoChild) { children.withLock { $0.append(child) } }

    func remove(_ child: DemoChild) { children.withLock { $0.removeAll { $0 === child } } }

    /// Stops every child still running (all at once: SIGTERM to every group, then SIGKILL after 3 s).
    func stopAll() {
        let all = children.withLock { all in
            defer { all = [] }
            return all
        }
        for child in all where child.isRunning { kill(-child.pid, SIGTERM) }
        for child in all { child.stop() }
    }

    /// The process ids of children still running.
    var running: [pid_t] { children.withLock { $0.filter(\.isRunning).map(\.pid) } }

    /// On SIGINT or SIGTERM of the demo: stop every child, run `cleanup`, exit 130 / 143.
    func stopOnSignals(cleanup: @escaping @Sendable () -> Void) {
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in
                FileHandle.standardError.write(Data("\nwrit demo: signal \(number): stopping every child\n".utf8))
                stopAll()
                cleanup()
                exit(128 + number)
            }
            source.resume()
            sources.append(source)
        }
        let held = SignalSources(sources)
        onSignal.withLock { $0 = held }
    }

    /// Restores the default SIGINT and SIGTERM actions.
    func restoreSignals() {
        let held = onSignal.withLock { held in
            defer { held = nil }
            return held
        }
        for source in held?.sources ?? [] { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
/// The demo's signal sources, kept alive while the demo runs.
///
/// `@unchecked Sendable`: the array is immutable after `init`, and dispatch sources are thread-safe objects (their
/// `cancel()` may be called from any thread).
final class SignalSources: @unchecked Sendable {
    let sources: [any DispatchSourceSignal]
    init(_ sources: [any DispatchSourceSignal]) { self.sources = sources }
}
#endif
