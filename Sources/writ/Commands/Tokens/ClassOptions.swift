import ArgumentParser
import Foundation
import WritCrypto
import WritIdentity
import WritTokens

/// Options that say which agent classes exist.
struct ClassOptions: ParsableArguments {
    @Option(
        name: .customLong("classes"),
        help: ArgumentHelp("JSON file with an array of agent classes.", valueName: "file")
    )
    var classesFile: String?

    @Option(
        name: .customLong("class"),
        help: ArgumentHelp(
            "Agent class name (defined by the options below unless --classes is given).",
            valueName: "name"
        )
    )
    var className: String = "agent"

    @Option(
        name: .customLong("max-ttl"),
        help: ArgumentHelp("Maximum TTL of the class defined on the command line.", valueName: "duration")
    )
    var maximumTTL: String = "1h"

    @Option(
        name: .customLong("max-depth"),
        help: ArgumentHelp("Maximum delegation depth of that class (0: may not delegate).", valueName: "n")
    )
    var maximumDepth: Int = 3

    func classes() throws -> [AgentClass] {
        if let classesFile {
            do {
                return try JSONDecoder().decode([AgentClass].self, from: try readFile(classesFile))
            } catch let error as CLIError {
                throw error
            } catch {
                throw CLIError.input("'\(classesFile)' is not a JSON array of agent classes: \(error)")
            }
        }
        let maximum = try parseDuration(maximumTTL, option: "--max-ttl")
        do {
            return [
                try AgentClass(
                    name: className,
                    defaultTTL: maximum,
                    maximumTTL: maximum,
                    maximumDelegationDepth: maximumDepth,
                    mayDelegate: maximumDepth > 0
                )
            ]
        } catch {
            throw CLIError.input("class: \(error)")
        }
    }

    func agentClass(named name: String) throws -> AgentClass {
        guard let found = try classes().first(where: { $0.name == name }) else {
            throw CLIError.input("class '\(name)' is not defined")
        }
        return found
    }
}
