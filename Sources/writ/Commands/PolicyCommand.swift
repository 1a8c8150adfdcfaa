#if CLI
import ArgumentParser
import Foundation
@_spi(Conformance) import WritPolicy

/// `writ policy …`: evaluate and check Cedar policies.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Evaluate and check Cedar-compatible policies.",
        subcommands: [PolicyEvalCommand.self, PolicyCheckCommand.self, PolicyConformanceCommand.self]
    )
}

/// `writ policy eval`: one request against a policy set.
struct PolicyEvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a request against Cedar policies.",
        discussion: """
            Prints {"decision": "allow"|"deny", "reasons": [...], "errors": [...]} (plus "checkpoint" when a \
            @checkpoint forbid applies). Exit 0 on any decision; 2 when an input cannot be read.
            """
    )

    @Option(name: .long, help: "Cedar policy text file.")
    var policies: String
    @Option(name: .long, help: "Entities in Cedar JSON format (an array).")
    var entities: String?
    @Option(name: .long, help: "Request JSON: principal, action, resource, context.")
    var request: String

    func run() async throws {
        let policySet: PolicySet
        let store: PolicyEntities
        let parsedRequest: PolicyRequest
        do {
            policySet = try PolicySet(text: try readPolicyText(policies))
        } catch let error as PolicyError {
            throw CLIError.input("\(policies): \(error)")
        }
        do {
            store = try entities.map { try PolicyEntities(json: try readFile($0)) } ?? PolicyEntities()
        } catch let error as PolicyError {
            throw CLIError.input("\(entities ?? ""): \(error)")
        }
        do {
            parsedRequest = try PolicyRequest(json: try readFile(request))
        } catch let error as PolicyError {
            throw CLIError.input("\(request): \(error)")
        }
        let decision = policySet.evaluate(parsedRequest, entities: store)
        print(try jsonText(DecisionOutput(decision, policySet)))
    }
}

/// `writ policy check`: parse a policy file and report errors with line:column.
struct PolicyCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check Cedar policy syntax; errors are reported as FILE:LINE:COLUMN.",
        discussion: "Exit 0 when the file parses, 1 when it does not, 2 when it cannot be read."
    )

    @Argument(help: "Cedar policy text file.")
    var file: String

    func run() async throws {
        let text = try readPolicyText(file)
        do {
            let set = try PolicySet(text: text)
            print("\(file): \(set.count) \(set.count == 1 ? "policy" : "policies") OK")
        } catch {
            let location = error.line.map { "\($0):\(error.column ?? 0): " } ?? ""
            throw CLIError.rejected("\(file):\(location)\(error.context)")
        }
    }
}

/// `writ policy conformance`: run Cedar's integration-test corpus.
struct PolicyConformanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance",
        abstract: "Run Cedar integration tests (a corpus-tests.tar.gz or a folder of test JSON files).",
        discussion: """
            Prints "N passed, M failed". Exit 0 when all pass, 1 otherwise. A tarball is extracted to a \
            temporary folder with /usr/bin/tar.
            """
    )

    @Argument(help: "corpus-tests.tar.gz, or a folder holding test JSON files.")
    var path: String
    @Option(name: .long, help: "Folder that paths inside the tests are relative to (default: parent of the tests).")
    var root: String?

    func run() async throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError.input("cannot read '\(path)'")
        }
        var testsFolder = URL(fileURLWithPath: path)
        var cleanup: URL?
        if !isDirectory.boolValue {
            let temp = FileManager.default.temporaryDirectory.appendingPathComponent("writ-cedar-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
            cleanup = temp
            let tar = Process()
            tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
            tar.arguments = ["-xzf", path, "-C", temp.path]
            // tar's own complaints would break the one-line error rule: keep them and report the first line.
            let complaints = Pipe()
            tar.standardError = complaints
            do {
                try tar.run()
            } catch {
                throw CLIError.input("cannot run /usr/bin/tar to extract '\(path)': \(describe(error))")
            }
            let stderr = complaints.fileHandleForReading.readDataToEndOfFile()
            tar.waitUntilExit()
            guard tar.terminationStatus == 0 else {
                let first = String(decoding: stderr, as: UTF8.self).split(separator: "\n").first.map(String.init)
                throw CLIError.input("cannot extract '\(path)'\(first.map { ": \($0)" } ?? "")")
            }
            let entries = try FileManager.default.contentsOfDirectory(atPath: temp.path)
            testsFolder = entries.count == 1 ? temp.appendingPathComponent(entries[0]) : temp
        }
        defer { if let cleanup { try? FileManager.default.removeItem(at: cleanup) } }
        let rootURL = root.map { URL(fileURLWithPath: $0) } ?? testsFolder.deletingLastPathComponent()
        let files = try CedarConformance.testFiles(in: testsFolder)
        let report = CedarConformance.run(files, root: rootURL)
        for failure in report.failures { printError(failure) }
        print("\(report.passed) passed, \(report.failed) failed")
        if report.failed > 0 { throw CLIError(message: "\(report.failed) conformance requests failed", exitCode: 1) }
    }
}

/// Reads a policy file as UTF-8 text (not trimmed, so line numbers stay right).
private func readPolicyText(_ path: String) throws -> String {
    guard let text = String(data: try readFile(path), encoding: .utf8) else {
        throw CLIError.input("'\(path)' is not UTF-8 text")
    }
    return text
}

/// The JSON printed by `writ policy eval`.
struct DecisionOutput: Encodable {
    struct ErrorOutput: Encodable {
        let policy: String
        let message: String
    }
    struct CheckpointOutput: Encodable {
        let policy: String
        let reason: String
    }

    let decision: String
    let reasons: [String]
    let errors: [ErrorOutput]
    let checkpoint: CheckpointOutput?
    let annotations: [String: String]?

    init(_ decision: PolicyDecision, _ set: PolicySet) {
        self.decision = decision.outcome.rawValue
        reasons = decision.reasons.map(\.rawValue)
        errors = decision.errors.map { ErrorOutput(policy: $0.policy.rawValue, message: $0.message) }
        checkpoint = decision.checkpoint.map { CheckpointOutput(policy: $0.policy.rawValue, reason: $0.reason) }
        // Show @id annotations beside the positional ids of determining policies.
        var ids: [String: String] = [:]
        for reason in decision.reasons {
            if let policy = set.policies.first(where: { $0.id == reason }), let id = policy.annotation("id") {
                ids[reason.rawValue] = id
            }
        }
        annotations = ids.isEmpty ? nil : ids
    }

    enum CodingKeys: String, CodingKey {
        case decision, reasons, errors, checkpoint
        case annotations = "ids"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(decision, forKey: .decision)
        try container.encode(reasons, forKey: .reasons)
        try container.encode(errors, forKey: .errors)
        try container.encodeIfPresent(checkpoint, forKey: .checkpoint)
        try container.encodeIfPresent(annotations, forKey: .annotations)
    }
}
#endif
