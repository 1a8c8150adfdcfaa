#if HTTP
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import WritHTTP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A free TCP port on 127.0.0.1 for a test server, below Linux's ephemeral range (32768–60999): a port the kernel
/// handed out for `bind(0)` and released goes back to that range, where an outgoing connection of a concurrently
/// running test can take it as its local port before the server binds it (a flaky bind, or a test talking to the
/// wrong server). Ports are drawn at random from 26384–32767 (WritHTTPTests's share), checked bindable, and never handed
/// out twice in one test process.
func freeLoopbackPort() -> Int {
    for _ in 0..<1_000 {
        let candidate = Int.random(in: 26384..<32768)
        guard handedOutPorts.withLock({ $0.insert(candidate).inserted }) else { continue }
        if loopbackPortIsBindable(candidate) { return candidate }
    }
    return 0
}

private let handedOutPorts = Mutex<Set<Int>>([])

private func loopbackPortIsBindable(_ port: Int) -> Bool {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    return bound == 0
}

/// Runs `services` (servers listening on `ports` of 127.0.0.1) for the duration of `body`, then shuts them down
/// gracefully.
func withLiveServers(
    _ services: [any Service],
    ports: [Int],
    _ body: @Sendable () async throws -> Void
) async throws {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    let serviceGroup = ServiceGroup(
        configuration: .init(services: services, gracefulShutdownSignals: [], logger: logger)
    )
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await serviceGroup.run() }
        do {
            for port in ports { try await waitUntilListening(port) }
            try await body()
        } catch {
            await serviceGroup.triggerGracefulShutdown()
            throw error
        }
        await serviceGroup.triggerGracefulShutdown()
        try await group.waitForAll()
    }
}

/// Waits until something accepts connections on 127.0.0.1:`port`.
func waitUntilListening(_ port: Int) async throws {
    for _ in 0..<400 {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        close(fd)
        if result == 0 { return }
        try await Task.sleep(for: .milliseconds(25))
    }
    throw WritHTTPError(.transport, "nothing listens on port \(port)")
}
#endif
