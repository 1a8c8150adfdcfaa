import Foundation
import Testing

/// The command-line footguns of issue 10 §4: each test runs the built `writ` as a user would.
@Suite("writ command line: footguns")
struct CLIFootgunTests {
    typealias Run = CLITests.Run

    func run(_ arguments: [String]) async throws -> Run { try await CLITests.run(arguments) }

    /// A work directory with an issuer key, an agent key, a token for the agent and one fresh proof.
    struct Setup {
        let dir: String
        var issuerPub: String { dir + "/issuer.pub" }
        var token: String { dir + "/token.txt" }
        var proof: String { dir + "/proof.txt" }

        func verifyArguments(_ extra: [String] = []) -> [String] {
            [
                "verify", "--token", token, "--trust", issuerPub, "--class", "researcher", "--audience", "api",
                "--action", "read", "--resource", "docs/a", "--proof", proof,
            ] + extra
        }
    }

    func setUp() async throws -> Setup {
        let dir = try CLITests.temporaryDirectory()
        let setup = Setup(dir: dir)
        for name in ["issuer", "agent"] {
            let keygen = try await run(["keygen", "--out", dir + "/\(name).key"])
            try #require(keygen.status == 0, "\(keygen.stderr)")
        }
        let mint = try await run([
            "mint", "--issuer-key", dir + "/issuer.key", "--holder", dir + "/agent.pub",
            "--subject", "spiffe://acme.dev/agent/researcher/1", "--class", "researcher", "--audience", "api",
            "--action", "read", "--resource", "docs/*", "--ttl", "5m", "--out", setup.token,
        ])
        try #require(mint.status == 0, "\(mint.stderr)")
        let prove = try await run([
            "prove", "--token", setup.token, "--holder-key", dir + "/agent.key", "--audience", "api",
            "--action", "read", "--resource", "docs/a", "--out", setup.proof,
        ])
        try #require(prove.status == 0, "\(prove.stderr)")
        return setup
    }

    // MARK: - Replay across runs

    @Test("two writ verify processes sharing --nonces: the second run of the same proof is a replay (exit 1)")
    func replayAcrossProcesses() async throws {
        let setup = try await setUp()
        defer { try? FileManager.default.removeItem(atPath: setup.dir) }
        let nonces = setup.dir + "/api.nonces"
        let first = try await run(setup.verifyArguments(["--nonces", nonces]))
        #expect(first.status == 0, "\(first.stderr)")
        let second = try await run(setup.verifyArguments(["--nonces", nonces]))
        #expect(second.status == 1)
        #expect(second.stderr.contains("replayedNonce"), "\(second.stderr)")
        let attributes = try FileManager.default.attributesOfItem(atPath: nonces)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    @Test("concurrent writ verify processes sharing --nonces accept one proof exactly once")
    func concurrentProcesses() async throws {
        let setup = try await setUp()
        defer { try? FileManager.default.removeItem(atPath: setup.dir) }
        let arguments = setup.verifyArguments(["--nonces", setup.dir + "/api.nonces"])
        let statuses = try await withThrowingTaskGroup(of: Int32.self) { group in
            for _ in 0..<4 { group.addTask { try await CLITests.run(arguments).status } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses.sorted() == [0, 1, 1, 1])
    }

    @Test("a damaged --nonces file fails the run closed (exit 2), naming the file and the line")
    func damagedNonceFile() async throws {
        let setup = try await setUp()
        defer { try? FileManager.default.removeItem(atPath: setup.dir) }
        let nonces = setup.dir + "/api.nonces"
        try Data("writ-nonces v1\nnot a record\n".utf8).write(to: URL(fileURLWithPath: nonces))
        let damaged = try await run(setup.verifyArguments(["--nonces", nonces]))
        #expect(damaged.status == 2)
        #expect(damaged.stderr.contains("'\(nonces)':2"), "\(damaged.stderr)")
        // A file that is not a nonce file at all (here: a key) is refused and left as it was.
        let key = try Data(contentsOf: URL(fileURLWithPath: setup.dir + "/agent.key"))
        let wrongFile = try await run(setup.verifyArguments(["--nonces", setup.dir + "/agent.key"]))
        #expect(wrongFile.status == 2)
        #expect(wrongFile.stderr.contains(":1"), "\(wrongFile.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: setup.dir + "/agent.key")) == key)
    }

    @Test("verify --help says what a run without --nonces and revocation data does not check")
    func verifyHelp() async throws {
        let help = try await run(["verify", "--help"])
        #expect(help.status == 0)
        // Help is wrapped to the terminal width: compare with white space collapsed.
        let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(text.contains("--nonces <file>"))
        #expect(text.contains("What a run does NOT check"))
        #expect(text.contains("the same proof verifies again in every later run until it is stale"))
        #expect(
            text.contains("no revocation data is consulted: a revoked token, task, agent or issuer key still verifies")
        )
        #expect(try await run(["help", "verify"]).status == 0)
    }

    // MARK: - keygen

    @Test("keygen refuses to overwrite an existing key without --force; --force replaces it with mode 0600")
    func keygenOverwrite() async throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let key = dir + "/issuer.key"
        #expect(try await run(["keygen", "--out", key]).status == 0)
        let original = try String(contentsOfFile: key, encoding: .utf8)
        let again = try await run(["keygen", "--out", key])
        #expect(again.status == 2)
        #expect(again.stderr.contains("--force"), "\(again.stderr)")
        #expect(try String(contentsOfFile: key, encoding: .utf8) == original)

        // Only the public file existing is refused too, and nothing is written.
        try FileManager.default.removeItem(atPath: key)
        #expect(try await run(["keygen", "--out", key]).status == 2)
        #expect(!FileManager.default.fileExists(atPath: key))

        let forced = try await run(["keygen", "--out", key, "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try String(contentsOfFile: key, encoding: .utf8) != original)
        let attributes = try FileManager.default.attributesOfItem(atPath: key)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    @Test("keygen never writes through a symbolic link, with or without --force")
    func keygenSymlink() async throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let victim = dir + "/victim.txt"
        try Data("precious\n".utf8).write(to: URL(fileURLWithPath: victim))
        try FileManager.default.createSymbolicLink(atPath: dir + "/agent.key", withDestinationPath: victim)
        try FileManager.default.createSymbolicLink(atPath: dir + "/dangling.key", withDestinationPath: dir + "/new")
        for arguments in [
            ["keygen", "--out", dir + "/agent.key"], ["keygen", "--out", dir + "/agent.key", "--force"],
            ["keygen", "--out", dir + "/dangling.key"], ["keygen", "--out", dir + "/dangling.key", "--force"],
        ] {
            let refused = try await run(arguments)
            #expect(refused.status == 2, "\(arguments)")
            #expect(refused.stderr.contains("symbolic link"), "\(refused.stderr)")
        }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
        #expect(!FileManager.default.fileExists(atPath: dir + "/new"))
        // A symbolic link at the public path is refused as well.
        try FileManager.default.createSymbolicLink(atPath: dir + "/other.pub", withDestinationPath: victim)
        let publicLink = try await run(["keygen", "--out", dir + "/other.key", "--force"])
        #expect(publicLink.status == 2)
        #expect(!FileManager.default.fileExists(atPath: dir + "/other.key"))
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
    }

    @Test("token and proof --out replace a file atomically (mode 0600) but never write through a symbolic link")
    func outputSymlink() async throws {
        let setup = try await setUp()
        defer { try? FileManager.default.removeItem(atPath: setup.dir) }
        let victim = setup.dir + "/victim.txt"
        try Data("precious\n".utf8).write(to: URL(fileURLWithPath: victim))
        let link = setup.dir + "/link.txt"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: victim)
        let prove = [
            "prove", "--token", setup.token, "--holder-key", setup.dir + "/agent.key", "--audience", "api",
            "--action", "read", "--resource", "docs/a", "--out",
        ]
        let refused = try await run(prove + [link])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("symbolic link"), "\(refused.stderr)")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
        // An existing regular file is replaced, with the secret's mode.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: setup.proof)
        #expect(try await run(prove + [setup.proof]).status == 0)
        let attributes = try FileManager.default.attributesOfItem(atPath: setup.proof)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    @Test("keygen refuses --public naming the same file as --out (also through another spelling of the path)")
    func keygenSameFile() async throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        for (out, pub) in [
            (dir + "/a.key", dir + "/a.key"), (dir + "/a.key", dir + "/sub/../a.key"),
            (dir + "/a.key", dir + "/./a.key"),
        ] {
            for force in [false, true] {
                let refused = try await run(["keygen", "--out", out, "--public", pub] + (force ? ["--force"] : []))
                #expect(refused.status == 2, "\(out) \(pub)")
                #expect(refused.stderr.contains("same file"), "\(refused.stderr)")
                #expect(!FileManager.default.fileExists(atPath: dir + "/a.key"))
            }
        }
    }

    // MARK: - Messages

    @Test("an argument that is not a token or proof is never echoed back whole")
    func noEcho() async throws {
        let setup = try await setUp()
        defer { try? FileManager.default.removeItem(atPath: setup.dir) }
        let secret = "eyJhbGciOiJFZERTQSJ9.c2VjcmV0LXNlY3JldC1zZWNyZXQ.c2lnbmF0dXJl"
        let proofText = try String(contentsOfFile: setup.proof, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let keyText = try String(contentsOfFile: setup.dir + "/agent.key", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let runs = [
            try await run(["inspect", secret]),
            try await run(["inspect", proofText]),  // a proof where a token goes
            try await run(["inspect", keyText]),  // a private key where a token goes
            try await run(setup.verifyArguments(["--proof", secret])),
            try await run([
                "prove", "--token", setup.token, "--holder-key", keyText, "--audience", "api", "--action", "read",
                "--resource", "docs/a",
            ]),
        ]
        for result in runs {
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stderr.hasPrefix("error:"))
            for whole in [secret, proofText, keyText] {
                #expect(!result.stderr.contains(whole), "echoed: \(result.stderr)")
                #expect(!result.stderr.contains(String(whole.prefix(9))), "more than 8 characters: \(result.stderr)")
            }
        }
        #expect(runs[1].stderr.contains("is a proof, not a token"), "\(runs[1].stderr)")
        #expect(runs[2].stderr.contains("is a private key, not a token"), "\(runs[2].stderr)")
    }

    @Test("a bad --classes file is explained (file, class, key, what was expected), never dumped")
    func classesMessages() async throws {
        let setup = try await setUp()
        defer { try? FileManager.default.removeItem(atPath: setup.dir) }
        let cases: [(String, [String])] = [
            (
                #"[{"name": "researcher", "defaultTTLSeconds": "300", "maximumTTLSeconds": 900}]"#,
                ["class 1", "'defaultTTLSeconds'", "whole number"]
            ),
            (#"[{"name": "researcher", "defaultTTLSeconds": 300}]"#, ["class 1", "'maximumTTLSeconds'", "missing"]),
            (
                #"[{"name": "researcher", "defaultTTLSeconds": 300, "maximumTTLSeconds": 900, "maxDepth": 2}]"#,
                ["class 1", "unknown key 'maxDepth'"]
            ),
            (#"{"name": "researcher"}"#, ["JSON array"]),
            (#"[{"name": "researcher""#, ["not valid JSON"]),
            (
                #"[{"name": "r", "defaultTTLSeconds": 1, "maximumTTLSeconds": 1, "maximumDelegationDepth": 99}]"#,
                ["'maximumDelegationDepth'", "0…15"]
            ),
        ]
        for (json, needles) in cases {
            let file = setup.dir + "/classes.json"
            try Data(json.utf8).write(to: URL(fileURLWithPath: file))
            let result = try await run(setup.verifyArguments(["--classes", file]))
            #expect(result.status == 2, "\(json): \(result.stderr)")
            #expect(result.stderr.contains("'\(file)'"), "\(result.stderr)")
            for needle in needles { #expect(result.stderr.contains(needle), "\(needle) in \(result.stderr)") }
            for raw in ["DecodingError", "NSCocoaErrorDomain", "Domain=", "codingPath", "debugDescription"] {
                #expect(!result.stderr.contains(raw), "\(result.stderr)")
            }
        }
        let help = try await run(["verify", "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(
            separator: " "
        )
        #expect(help.contains("\"defaultTTLSeconds\": 300"))
        #expect(help.contains("Any other key is refused"))
        #expect(try await run(["mint", "--help"]).stdout.contains("maximumDelegationDepth"))
    }

    @Test("--skew 0s is valid; a skew above the cap is refused with the cap named, not clamped")
    func skew() async throws {
        let setup = try await setUp()
        defer { try? FileManager.default.removeItem(atPath: setup.dir) }
        let zero = try await run(setup.verifyArguments(["--skew", "0s"]))
        #expect(zero.status == 0, "\(zero.stderr)")
        #expect(try await run(setup.verifyArguments(["--skew", "0"])).status == 0)
        let above = try await run(setup.verifyArguments(["--skew", "10m"]))
        #expect(above.status == 2)
        #expect(above.stderr.contains("--skew"))
        #expect(above.stderr.contains("maximum 5m"), "\(above.stderr)")
    }

    @Test("every duration and number option parses totally: junk, zero, huge and negative values are refused by name")
    func numberOptions() async throws {
        let setup = try await setUp()
        defer { try? FileManager.default.removeItem(atPath: setup.dir) }
        let mint = [
            "mint", "--issuer-key", setup.dir + "/issuer.key", "--holder", setup.dir + "/agent.pub",
            "--subject", "spiffe://acme.dev/agent/researcher/1", "--class", "researcher", "--audience", "api",
            "--action", "read", "--resource", "docs/*",
        ]
        let cases: [([String], String)] = [
            (mint + ["--ttl", "0"], "--ttl"),
            (mint + ["--ttl", "-5m"], "--ttl"),
            (mint + ["--ttl", "5 m"], "--ttl"),
            (mint + ["--ttl", "+5m"], "--ttl"),
            (mint + ["--ttl", "99999999999999999999999d"], "maximum 366d"),
            (mint + ["--ttl", "367d", "--max-ttl", "366d"], "maximum 366d"),
            (mint + ["--max-ttl", "9223372036854775807s"], "maximum 366d"),
            (mint + ["--max-depth", "16"], "--max-depth"),
            (mint + ["--max-depth", "9223372036854775807"], "--max-depth"),
            (mint + ["--depth-limit", "300"], "--depth-limit"),
            (mint + ["--step", "-1"], "--step"),
            (setup.verifyArguments(["--skew", "99999999999999999999s"]), "maximum 5m"),
            (setup.verifyArguments(["--skew", "1e3"]), "--skew"),
        ]
        for (arguments, needle) in cases {
            let result = try await run(arguments)
            #expect(result.status == 2, "\(arguments.suffix(2)): \(result.stderr)")
            #expect(result.stderr.contains(needle), "\(needle) in \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        }
    }

    @Test("a delegate class allowing an enormous depth is refused up front instead of trapping the verifier")
    func enormousDelegateDepth() async throws {
        let setup = try await setUp()
        defer { try? FileManager.default.removeItem(atPath: setup.dir) }
        let classes = setup.dir + "/classes.json"
        try Data(
            #"""
            [{"name": "researcher", "defaultTTLSeconds": 300, "maximumTTLSeconds": 900,
              "maximumDelegationDepth": 3, "mayDelegate": true},
             {"name": "helper", "defaultTTLSeconds": 60, "maximumTTLSeconds": 300,
              "maximumDelegationDepth": 9223372036854775807, "mayDelegate": true}]
            """#.utf8
        ).write(to: URL(fileURLWithPath: classes))
        #expect(try await run(["keygen", "--out", setup.dir + "/helper.key"]).status == 0)
        let delegated = setup.dir + "/helper-token.txt"
        let delegate = try await run([
            "delegate", "--token", setup.token, "--holder-key", setup.dir + "/agent.key", "--to",
            setup.dir + "/helper.pub", "--delegate-class", "helper", "--out", delegated,
        ])
        #expect(delegate.status == 0, "\(delegate.stderr)")
        let proof = try await run([
            "prove", "--token", delegated, "--holder-key", setup.dir + "/helper.key", "--audience", "api",
            "--action", "read", "--resource", "docs/a",
        ])
        let result = try await run([
            "verify", "--token", delegated, "--trust", setup.issuerPub, "--classes", classes, "--audience", "api",
            "--action", "read", "--resource", "docs/a", "--proof",
            proof.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
        ])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("class 2: key 'maximumDelegationDepth'"), "\(result.stderr)")
    }

    @Test("ttl advise refuses a margin that is huge, infinite or not a number (exit 2, naming --margin)")
    func ttlMargin() async throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try await run(["demo", "--dir", dir, "--seed", "1", "--json"]).status == 0)
        let log = dir + "/audit/authority.log"
        for (margin, needle) in [
            ("1e18", "maximum 100"), ("1e300", "maximum 100"), ("inf", "not a finite number"),
            ("nan", "not a finite number"), ("0.5", "minimum 1"), ("abc", "not a finite number"),
        ] {
            let result = try await run(["ttl", "advise", "--margin", margin, log])
            #expect(result.status == 2, "\(margin): \(result.stderr)")
            #expect(result.stderr.contains("--margin"), "\(result.stderr)")
            #expect(result.stderr.contains(needle), "\(result.stderr)")
            #expect(!result.stderr.contains("Fatal error"))
        }
        let ok = try await run(["ttl", "advise", "--margin", "100", "--json", log])
        #expect(ok.status == 0, "\(ok.stderr)")
    }
}
