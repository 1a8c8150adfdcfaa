import Foundation
import Testing
import WritAudit
import WritTesting

@Suite("Audit store conformance")
struct StoreConformanceTests {
    @Test("the in-memory store passes the shared suite")
    func inMemory() async throws {
        try await AuditStoreConformance(makeStore: { InMemoryAuditStore() }).run()
    }

    @Test("the file store passes the shared suite, including reopening")
    func file() async throws {
        let directory = try TemporaryDirectory()
        let counter = Counter()
        try await AuditStoreConformance(
            makeStore: { try FileAuditStore.open(path: directory.path("log-\(counter.next()).writ")) },
            reopenStore: { try await reopenFileStore(path: directory.path("log-\(counter.current).writ")) }
        ).run()
    }
}
