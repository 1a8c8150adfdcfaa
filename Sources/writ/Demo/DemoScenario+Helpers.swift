#if CLI
import Writ
import WritTesting

// What every scene uses: asking a service with a fresh credential, and recording what was expected.
extension DemoScenario {
    func call(
        _ provider: CredentialProvider,
        _ service: DemoDeployment.Service,
        _ action: String,
        _ resource: String,
        approvals: Set<String> = []
    ) async throws -> GateDecision {
        try await service.authorize(action, resource, with: provider, approvals: approvals, traceID: "demo-\(action)")
    }

    func expectAllowed(
        _ name: String,
        _ provider: CredentialProvider,
        _ service: DemoDeployment.Service,
        _ action: String,
        _ resource: String
    ) async throws {
        let decision = try await call(provider, service, action, resource)
        report.expect(name, decision.isAllowed, "\(decision)")
    }

    func expectDenied(
        _ name: String,
        _ provider: CredentialProvider,
        _ service: DemoDeployment.Service,
        _ action: String,
        _ resource: String,
        code: GateDenial.Code
    ) async throws {
        let decision = try await call(provider, service, action, resource)
        let summary: String
        if case .deny(let denial) = decision {
            summary = "denied: \(denial.tokenError.map(\.description) ?? denial.code.description)"
        } else {
            summary = "\(decision)"
        }
        report.expect(name, decision.denialCode == code, summary)
    }

    /// Runs `body`; returns the error text if it threw, `nil` if it succeeded.
    func attempt<T>(_ body: () async throws -> T) async -> String? {
        do {
            _ = try await body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Waits (real time, at most 2 s) for a condition set by another task.
    func waitFor(_ condition: () -> Bool) async throws {
        for _ in 0..<200 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
    }
}
#endif
