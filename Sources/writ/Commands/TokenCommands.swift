import ArgumentParser

// Placeholders for the token commands; replaced by the real ones.

/// `writ keygen`.
struct KeygenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keygen", abstract: "Not built yet.")
    func run() async throws { throw CLIError.input("not built yet") }
}
/// `writ mint`.
struct MintCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mint", abstract: "Not built yet.")
    func run() async throws { throw CLIError.input("not built yet") }
}
/// `writ delegate`.
struct DelegateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delegate", abstract: "Not built yet.")
    func run() async throws { throw CLIError.input("not built yet") }
}
/// `writ inspect`.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Not built yet.")
    func run() async throws { throw CLIError.input("not built yet") }
}
/// `writ prove`.
struct ProveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prove", abstract: "Not built yet.")
    func run() async throws { throw CLIError.input("not built yet") }
}
/// `writ verify`.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Not built yet.")
    func run() async throws { throw CLIError.input("not built yet") }
}
