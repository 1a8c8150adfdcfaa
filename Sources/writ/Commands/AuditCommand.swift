import ArgumentParser

/// Placeholder for `writ audit`; replaced by the real command group.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Not built yet.")
    func run() async throws { throw CLIError.input("'writ audit' is not built yet") }
}
