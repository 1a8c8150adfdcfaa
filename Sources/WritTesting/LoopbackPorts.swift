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
public func freeLoopbackPort() -> Int {
    for _ in 0..<1_000 {
        let candidate = Int.random(in: 20_000..<32_768)
        guard handedOutPorts.withLock({ $0.insert(candidate).inserted }) else { continue }
        if loopbackPortIsBindable(candidate) { return candidate }
    }
    return 0
}

private let handedOutPorts = Mutex<Set<Int>>([])

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

/// Waits (up to 10 s) until something accepts connections on 127.0.0.1:`port`.
///
/// - Throws: ``NothingListens`` when nothing does; `CancellationError` when the task is cancelled.
public func waitUntilListening(_ port: Int) async throws {
    for _ in 0..<400 {
        let fd = loopbackSocket()
        var address = loopbackAddress(port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        close(fd)
        if result == 0 { return }
        try await Task.sleep(for: .milliseconds(25))
    }
    throw NothingListens(port: port)
}
