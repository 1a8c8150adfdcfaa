import Synchronization
import WritCrypto

/// Where verifiers leave their signed ``WatermarkReport``s for the authority, kept apart from the feed so that
/// verifiers need no write access to it.
///
/// A store keeps, per verifier name, the report with the latest ``WatermarkReport/recordedAt`` (so a restarted
/// verifier that has not caught up yet shows as lagging). It checks no signature: a ``RevocationPublisher`` counts
/// only reports signed by registered verifiers' keys when it builds a ``RevocationProof``.
public protocol WatermarkStore: Sendable {
    /// Records a report (ignored when the store holds a later one for the same verifier).
    func record(_ report: WatermarkReport) async throws
    /// The latest report of every verifier.
    func reports() async throws -> [WatermarkReport]
    /// Forgets a verifier (decommissioned).
    func removeVerifier(_ verifier: String) async throws
}

/// A ``WatermarkStore`` held in memory.
public final class InMemoryWatermarkStore: WatermarkStore {
    private let latest = Mutex<[String: WatermarkReport]>([:])

    /// Creates an empty store.
    public init() {}

    public func record(_ report: WatermarkReport) async throws {
        latest.withLock { latest in
            if let current = latest[report.verifier], current.recordedAt > report.recordedAt { return }
            latest[report.verifier] = report
        }
    }

    public func reports() async throws -> [WatermarkReport] {
        latest.withLock { $0.values.sorted { $0.verifier < $1.verifier } }
    }

    public func removeVerifier(_ verifier: String) async throws {
        _ = latest.withLock { $0.removeValue(forKey: verifier) }
    }
}
