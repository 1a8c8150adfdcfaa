/// Something that records audit events durably: an ``AuditLog``, or in tests a sink that fails on purpose.
///
/// The composition layer takes `any AuditSink`. A host that runs fail-closed does not report a decision as
/// allowed unless ``record(_:)`` returned (as Vault refuses requests when no audit device can write).
public protocol AuditSink: Sendable {
    /// Records `event` and returns its entry index once the entry is durable.
    ///
    /// - Throws: an ``AuditError`` when the event could not be recorded; the caller must then fail closed.
    func record(_ event: AuditEvent) async throws -> UInt64
}
