#if CLI
import ArgumentParser
import Foundation
import WritCrypto
import WritIdentity
import WritTokens

/// Options that say which agent classes exist.
struct ClassOptions: ParsableArguments {
    /// The `--classes` file format, for the commands' help.
    static let formatHelp = """
        The --classes file is a JSON array with one object per class, for example
          [{"name": "researcher", "defaultTTLSeconds": 300, "maximumTTLSeconds": 900,
            "maximumDelegationDepth": 2, "mayDelegate": true, "refreshLimit": 3}]
        name: 1…64 of a-z 0-9 . - _ (required); defaultTTLSeconds, maximumTTLSeconds: whole seconds, \
        1…\(maximumOptionDuration.components.seconds) (366 days), default ≤ maximum (required); \
        maximumDelegationDepth: 0…\(ClassOptions.maximumDepth) (default 0); mayDelegate: true or false \
        (default false); refreshLimit: a whole number ≥ 0 (default 0). Any other key is refused.
        """

    /// The deepest delegation chain a class may allow: every delegation is one block after the issuer's.
    static let maximumDepth = TokenLimits.maximumBlocks - 1

    @Option(
        name: .customLong("classes"),
        help: ArgumentHelp("JSON file with an array of agent classes (format: see the text above).", valueName: "file")
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
        help: ArgumentHelp(
            "Maximum TTL of the class defined on the command line (at most 366d).",
            valueName: "duration"
        )
    )
    var maximumTTL: String = "1h"

    @Option(
        name: .customLong("max-depth"),
        help: ArgumentHelp(
            "Maximum delegation depth of that class (0: may not delegate; at most \(ClassOptions.maximumDepth)).",
            valueName: "n"
        )
    )
    var maximumDepth: Int = 3

    func classes() throws -> [AgentClass] {
        if let classesFile { return try Self.readClasses(classesFile) }
        let maximum = try parseDuration(maximumTTL, option: "--max-ttl")
        guard (0...Self.maximumDepth).contains(maximumDepth) else {
            throw CLIError.input("--max-depth: \(maximumDepth) is outside 0…\(Self.maximumDepth)")
        }
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
            throw CLIError.input("--class: \(error)")
        }
    }

    func agentClass(named name: String) throws -> AgentClass {
        guard let found = try classes().first(where: { $0.name == name }) else {
            throw CLIError.input("class '\(name)' is not defined\(classesFile.map { " in '\($0)'" } ?? "")")
        }
        return found
    }

    /// Reads a `--classes` file strictly (see ``formatHelp``): every message names the file, the class and the key.
    static func readClasses(_ path: String) throws -> [AgentClass] {
        let data = try readFile(path)
        let entries: [ClassEntry]
        do {
            entries = try JSONDecoder().decode([ClassEntry].self, from: data)
        } catch let error as ClassEntry.Failure {
            throw CLIError.input("'\(path)': \(error.message)")
        } catch {
            throw CLIError.input("'\(path)' is not a JSON array of agent classes: \(describe(error))")
        }
        var seen: Set<String> = []
        for entry in entries where !seen.insert(entry.agentClass.name).inserted {
            throw CLIError.input("'\(path)': class '\(entry.agentClass.name)' is defined twice")
        }
        return entries.map(\.agentClass)
    }
}

/// One object of a `--classes` file, decoded strictly: unknown keys and out-of-range numbers are refused.
private struct ClassEntry: Decodable {
    struct Failure: Error { let message: String }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private static let keys = [
        "name", "defaultTTLSeconds", "maximumTTLSeconds", "maximumDelegationDepth", "mayDelegate", "refreshLimit",
    ]

    let agentClass: AgentClass

    init(from decoder: any Decoder) throws {
        let number = (decoder.codingPath.last?.intValue ?? 0) + 1
        let container = try decoder.container(keyedBy: AnyKey.self)
        func fail(_ message: String) -> Failure { Failure(message: "class \(number): \(message)") }
        for key in container.allKeys where !Self.keys.contains(key.stringValue) {
            throw fail("unknown key '\(key.stringValue)' (known: \(Self.keys.joined(separator: ", ")))")
        }
        func value<T: Decodable>(_ type: T.Type, _ key: String, what: String) throws -> T? {
            let codingKey = AnyKey(stringValue: key)
            guard container.contains(codingKey) else { return nil }
            do {
                return try container.decode(T.self, forKey: codingKey)
            } catch {
                throw fail("key '\(key)': expected \(what)")
            }
        }
        func seconds(_ key: String) throws -> Duration {
            let limit = maximumOptionDuration.components.seconds
            guard let value = try value(Int64.self, key, what: "a whole number of seconds") else {
                throw fail("key '\(key)' is missing")
            }
            guard (1...limit).contains(value) else { throw fail("key '\(key)': \(value) is outside 1…\(limit)") }
            return .seconds(value)
        }
        guard let name = try value(String.self, "name", what: "a string") else { throw fail("key 'name' is missing") }
        let depth = try value(Int.self, "maximumDelegationDepth", what: "a whole number") ?? 0
        guard (0...ClassOptions.maximumDepth).contains(depth) else {
            throw fail("key 'maximumDelegationDepth': \(depth) is outside 0…\(ClassOptions.maximumDepth)")
        }
        let refreshLimit = try value(Int.self, "refreshLimit", what: "a whole number") ?? 0
        do {
            agentClass = try AgentClass(
                name: name,
                defaultTTL: try seconds("defaultTTLSeconds"),
                maximumTTL: try seconds("maximumTTLSeconds"),
                maximumDelegationDepth: depth,
                mayDelegate: try value(Bool.self, "mayDelegate", what: "true or false") ?? false,
                refreshLimit: refreshLimit
            )
        } catch let error as IdentityError {
            throw fail("\(error)")
        }
    }
}
#endif
