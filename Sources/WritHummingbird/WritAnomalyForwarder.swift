#if HTTP
public import Logging
public import ServiceLifecycle
public import Writ
public import WritCrypto
public import WritHTTP

/// Forwards a gatekeeper's anomaly reports to the authority (`POST /v1/anomalies`, signed in by the service's
/// key), so the authority revokes everywhere what the gatekeeper already quarantined locally. A
/// swift-service-lifecycle `Service`: run it beside the HTTP server; it ends when the gatekeeper's stream ends or
/// its task is cancelled. A report the authority cannot take is logged and retried a few times, then dropped
/// (the local quarantine stays).
public struct WritAnomalyForwarder: Service {
    /// The gatekeeper whose anomalies are forwarded.
    public let gatekeeper: Gatekeeper
    /// The authority client.
    public let client: WritAuthorityClient
    private let key: Ed25519.PrivateKey
    private let logger: Logger
    private let attempts: Int

    /// Creates a forwarder signing in with the service's `key` (configured at the authority as a service key).
    public init(
        gatekeeper: Gatekeeper,
        client: WritAuthorityClient,
        key: Ed25519.PrivateKey,
        attempts: Int = 3,
        logger: Logger = Logger(label: "writ.anomalies", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.gatekeeper = gatekeeper
        self.client = client
        self.key = key
        self.attempts = max(1, attempts)
        self.logger = logger
    }

    /// Forwards reports until cancelled.
    public func run() async throws {
        for await report in gatekeeper.anomalies.cancelOnGracefulShutdown() {
            var delay = Duration.milliseconds(100)
            for attempt in 1...attempts {
                do {
                    try await client.reportAnomaly(report, key: key)
                    logger.debug("anomaly forwarded", metadata: ["detector": .string(report.detector)])
                    break
                } catch {
                    logger.warning(
                        "anomaly not forwarded",
                        metadata: ["attempt": .stringConvertible(attempt), "error": .string("\(error)")]
                    )
                    if attempt < attempts { try? await Task.sleep(for: delay) }
                    delay *= 2
                }
            }
        }
    }
}
#endif
