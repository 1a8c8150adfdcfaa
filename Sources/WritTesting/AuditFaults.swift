import Synchronization
public import WritAudit

/// An ``AuditStore`` wrapper that fails on command, for fail-closed tests: while failing, every append throws
/// ``AuditError/Code/storeFailure`` (like a full disk) and nothing is stored.
public final class FaultInjectingAuditStore: AuditStore {
    private let base: any AuditStore
    private let failing = Mutex(false)

    /// Wraps `base`.
    public init(_ base: some AuditStore) { self.base = base }

    /// Makes every append fail until ``heal()``.
    public func failNextAppends() { failing.withLock { $0 = true } }

    /// Lets appends through again.
    public func heal() { failing.withLock { $0 = false } }

    public func count() async throws -> UInt64 { try await base.count() }

    public func append(
        _ entries: [[UInt8]],
        firstIndex: UInt64,
        checkpoint: SignedCheckpoint,
        frontier: AuditFrontier
    ) async throws {
        if failing.withLock({ $0 }) { throw AuditError(.storeFailure, "injected fault: disk full") }
        try await base.append(entries, firstIndex: firstIndex, checkpoint: checkpoint, frontier: frontier)
    }

    public func read(_ range: Range<UInt64>) async throws -> [[UInt8]] { try await base.read(range) }

    public func latestCheckpoint() async throws -> SignedCheckpoint? { try await base.latestCheckpoint() }

    public func latestFrontier() async throws -> AuditFrontier? { try await base.latestFrontier() }
}

/// An ``AuditSink`` that never records anything: every call throws ``AuditError/Code/storeFailure``. Inject it to
/// check that a host fails closed when its audit trail cannot be written.
public struct FailingAuditSink: AuditSink {
    /// Creates the sink.
    public init() {}

    public func record(_ event: AuditEvent) async throws -> UInt64 {
        throw AuditError(.storeFailure, "injected fault: audit sink unavailable")
    }
}

/// An ``AuditSink`` that keeps events in memory, in order, without a log (for tests that only look at what was
/// recorded).
public final class RecordingAuditSink: AuditSink {
    private let events = Mutex<[AuditEvent]>([])

    /// Creates an empty sink.
    public init() {}

    /// The recorded events, in order.
    public var recorded: [AuditEvent] { events.withLock { $0 } }

    public func record(_ event: AuditEvent) async throws -> UInt64 {
        events.withLock { events in
            events.append(event)
            return UInt64(events.count - 1)
        }
    }
}
