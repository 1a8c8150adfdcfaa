import ArgumentParser

/// Placeholder for `writ policy`; replaced by the real command group.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "policy", abstract: "Not built yet.")
    func run() async throws { throw CLIError.input("'writ policy' is not built yet") }
}
