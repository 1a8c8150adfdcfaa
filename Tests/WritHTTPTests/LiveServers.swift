#if HTTP
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import WritHTTP
import WritTesting

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
#endif
