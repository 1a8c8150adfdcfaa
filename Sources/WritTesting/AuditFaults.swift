import Synchronization
public import WritAudit

/// An ``AuditStore`` wrapper that fails on command, for fail-closed and recovery tests.
///
/// ``failNextAppends()`` makes every append throw ``AuditError/Code/storeFailure`` without storing anything (a full
/// disk); ``failAppendsAfterStoring()`` stores the batch and then throws (the acknowledgement is lost: a timeout
/// after a remote commit); ``failEverything()`` makes reads fail too (the store is unreachable). ``heal()`` ends
/// every fault.
public final class FaultInjectingAuditStore: AuditStore {
    /// What the store does wrong.
    public enum Fault: Sendable, Hashable {
        /// Appends fail before storing anything.
        case appendsFailBeforeStoring
        /// Appends store the batch, then throw.
        case appendsFailAfterStoring
        /// Every call fails.
        case everythingFails
    }

    private let base: any AuditStore
    private let fault = Mutex<Fault?>(nil)
    private let failures = Mutex(0)

    /// Wraps `base`.
    public init(_ base: some AuditStore) { self.base = base }

    /// Makes every append fail, storing nothing, until ``heal()``.
    public func failNextAppends() { inject(.appendsFailBeforeStoring) }

    /// Makes every append store its batch and then fail, until ``heal()``.
    public func failAppendsAfterStoring() { inject(.appendsFailAfterStoring) }

    /// Makes every call fail, until ``heal()``.
    public func failEverything() { inject(.everythingFails) }

    /// Starts `fault` (replacing any other).
    public func inject(_ fault: Fault) { self.fault.withLock { $0 = fault } }

    /// Lets every call through again.
    public func heal() { fault.withLock { $0 = nil } }

    /// How many calls failed by injection so far.
    public var injectedFailures: Int { failures.withLock { $0 } }

    private func unavailable() throws {
        if fault.withLock({ $0 }) == .everythingFails { try fail("store unreachable") }
    }

    private func fail(_ what: String) throws -> Never {
        failures.withLock { $0 += 1 }
        throw AuditError(.storeFailure, "injected fault: \(what)")
    }

    public func count() async throws -> UInt64 {
        try unavailable()
        return try await base.count()
    }

    public func append(
        _ entries: [[UInt8]],
        firstIndex: UInt64,
        checkpoint: SignedCheckpoint,
        frontier: AuditFrontier
    ) async throws {
        switch fault.withLock({ $0 }) {
        case .appendsFailBeforeStoring: try fail("disk full")
        case .everythingFails: try fail("store unreachable")
        case .appendsFailAfterStoring:
            try await base.append(entries, firstIndex: firstIndex, checkpoint: checkpoint, frontier: frontier)
            try fail("acknowledgement lost after storing")
        case nil:
            try await base.append(entries, firstIndex: firstIndex, checkpoint: checkpoint, frontier: frontier)
        }
    }

    public func read(_ range: Range<UInt64>) async throws -> [[UInt8]] {
        try unavailable()
        return try await base.read(range)
    }

    public func latestCheckpoint() async throws -> SignedCheckpoint? {
        try unavailable()
        return try await base.latestCheckpoint()
    }

    public func latestFrontier() async throws -> AuditFrontier? {
        try unavailable()
        return try await base.latestFrontier()
    }
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
