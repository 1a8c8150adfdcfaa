#if CLI
import ArgumentParser
import Foundation

/// The `writ` command-line tool.
///
/// Style: commands that act on a token are top-level verbs (`writ mint`, `writ verify`, …); everything else is
/// `writ <noun> <verb>` (`writ audit verify`, `writ policy eval`, `writ ttl advise`).
/// Exit codes: 0 success, 1 rejected or check failed, 2 usage error or unreadable input.
struct WritCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "writ",
        abstract: "Short-lived, scoped, revocable credentials for AI agents.",
        discussion: """
            Token verbs are top-level; everything else is `writ <noun> <verb>`.
            Exit codes: 0 success · 1 rejected / check failed · 2 usage error or unreadable input.
            Errors are printed as one line on standard error.

            Examples:
              writ demo                                   # the whole mission end to end
              writ keygen --out issuer.key
              writ verify --help                          # verify a token and proof from files
              writ audit verify --keys writ-demo/keys writ-demo/audit/repo.log
              writ drill
            """,
        subcommands: [
            DemoCommand.self,
            KeygenCommand.self, MintCommand.self, DelegateCommand.self, InspectCommand.self,
            ProveCommand.self, VerifyCommand.self,
            PolicyCommand.self,
            AuditCommand.self,
            RevokeCommand.self,
            DrillCommand.self,
            TTLCommand.self,
            ServeCommand.self,
        ]
    )
}

@main
enum Main {
    static func main() async {
        var command: any ParsableCommand
        do {
            command = try WritCommand.parseAsRoot()
        } catch {
            exit(handleParserError(error))
        }
        let exitCode: Int32
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            exitCode = 0
        } catch let error as CLIError {
            printError(error.message)
            exitCode = error.exitCode
        } catch let error where isParserError(error) {
            // Help requests (`writ help verify` runs a built-in command that throws one), validation errors.
            exitCode = handleParserError(error)
        } catch {
            // Anything else a command let through: described in words (never a raw Foundation dump), exit 2.
            printError(describe(error))
            exitCode = 2
        }
        exit(exitCode)
    }

    /// Whether ArgumentParser raised `error` (help, version, validation, exit code), rather than a command.
    static func isParserError(_ error: any Error) -> Bool {
        error is ValidationError || error is ExitCode || error is CleanExit
            || String(reflecting: type(of: error)).hasPrefix("ArgumentParser.")
    }

    /// Help and version requests exit 0; any other parser error is a usage error (exit 2) on one line.
    static func handleParserError(_ error: any Error) -> Int32 {
        let code = WritCommand.exitCode(for: error)
        if code == .success {
            print(WritCommand.fullMessage(for: error))
            return 0
        }
        if error is ExitCode { return code.rawValue }
        let message = WritCommand.message(for: error)
        printError(message.isEmpty ? String(describing: error) : message)
        if code == .validationFailure || error is ValidationError { return 2 }
        return 2
    }
}
#endif
