import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A free TCP port on 127.0.0.1 for a test server, below Linux's ephemeral range (32768–60999): a port the kernel
/// handed out for `bind(0)` and released goes back to that range, where an outgoing connection of a concurrently
/// running test can take it as its local port before the server binds it (a flaky bind, or a test talking to the
/// wrong server). Ports are drawn at random from 20000–32767, checked bindable, and never handed out twice in one
/// process. Returns 0 when none was found.
///
/// The port stays reserved for the rest of the process's life: a socket bound to it with `SO_REUSEADDR` and never
/// listening is kept open. A server binding it with `SO_REUSEADDR` (Hummingbird's default, in this process or a
/// child) still can, since neither socket listens before it; but another process drawing ports the same way finds
/// it taken, so two processes (the test suite and a `writ demo` it runs) never pick the same port before their
/// servers bind. Connecting to a reserved port that no server listens on yet is refused, as for a free one.
public func freeLoopbackPort() -> Int {
    for _ in 0..<1_000 {
        let candidate = Int.random(in: 20_000..<32_768)
        guard handedOutPorts.withLock({ $0.insert(candidate).inserted }) else { continue }
        // First a plain bind, which fails while any socket holds the port (another process's reservation
        // included), then the reservation itself.
        guard loopbackPortIsBindable(candidate), let reservation = reserveLoopbackPort(candidate) else { continue }
        reservedPorts.withLock { $0.append(reservation) }
        return candidate
    }
    return 0
}

private let handedOutPorts = Mutex<Set<Int>>([])
/// The reservation sockets, open until the process exits.
private let reservedPorts = Mutex<[Int32]>([])

/// A socket bound to `port` with `SO_REUSEADDR`, close-on-exec and not listening; `nil` when it cannot be bound.
private func reserveLoopbackPort(_ port: Int) -> Int32? {
    let fd = loopbackSocket()
    guard fd >= 0 else { return nil }
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    var yes: Int32 = 1
    var address = loopbackAddress(port)
    let bound =
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size)) == 0
        && withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        } == 0
    guard bound else {
        close(fd)
        return nil
    }
    return fd
}

private func loopbackSocket() -> Int32 {
    #if canImport(Glibc)
    socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    socket(AF_INET, SOCK_STREAM, 0)
    #endif
}

private func loopbackAddress(_ port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(clamping: port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return address
}

private func loopbackPortIsBindable(_ port: Int) -> Bool {
    let fd = loopbackSocket()
    defer { close(fd) }
    var address = loopbackAddress(port)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return bound == 0
}

/// Nothing accepted connections on a loopback port within ``waitUntilListening(_:)``'s 10 s.
public struct NothingListens: Error, CustomStringConvertible {
    /// The port.
    public let port: Int
    public var description: String { "nothing listens on port \(port)" }
}

/// A blocking TCP socket connected to 127.0.0.1:`port` (the caller closes it), or `nil` when nothing accepts;
/// `configure` runs on the socket before it connects (socket options such as `SO_RCVBUF`).
public func connectLoopback(_ port: Int, configure: (Int32) -> Void = { _ in }) -> Int32? {
    let fd = loopbackSocket()
    guard fd >= 0 else { return nil }
    configure(fd)
    var address = loopbackAddress(port)
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else {
        close(fd)
        return nil
    }
    return fd
}

/// Whether something accepts a TCP connection on 127.0.0.1:`port` right now.
public func loopbackAccepts(_ port: Int) -> Bool {
    guard let fd = connectLoopback(port) else { return false }
    close(fd)
    return true
}

/// Waits (up to 10 s) until something accepts connections on 127.0.0.1:`port`.
///
/// - Throws: ``NothingListens`` when nothing does; `CancellationError` when the task is cancelled.
public func waitUntilListening(_ port: Int) async throws {
    for _ in 0..<400 {
        if loopbackAccepts(port) { return }
        try await Task.sleep(for: .milliseconds(25))
    }
    throw NothingListens(port: port)
}
