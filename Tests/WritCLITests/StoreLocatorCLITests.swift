import Foundation
import Testing

/// `--store`-style arguments (`sqlite:PATH`, `file:PATH`, plain paths, `postgres://…`) parsed the same way by
/// `revoke`, `verify --revocations`, `verify --nonces` and `demo`.
@Suite("writ store locators")
struct StoreLocatorCLITests {
    let dir: String

    init() async throws {
        dir = try CLITests.temporaryDirectory()
        for name in ["revocation", "issuer", "agent"] {
            let keygen = try await CLITests.run(["keygen", "--out", dir + "/\(name).key"])
            #expect(keygen.status == 0, "\(keygen.stderr)")
        }
    }

    func verify(_ extra: [String]) async throws -> CLITests.Run {
        let common = ["--audience", "api", "--action", "read"]
        let proof = try await CLITests.run(
            ["prove", "--token", dir + "/token.txt", "--holder-key", dir + "/agent.key", "--resource", "docs/a"]
                + common
        )
        return try await CLITests.run(
            [
                "verify", "--token", dir + "/token.txt", "--trust", dir + "/issuer.pub", "--resource", "docs/a",
                "--proof", proof.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
            ] + common + extra
        )
    }

    #if SQLite
    @Test("sqlite: a feed and nonces in one database, for revoke, revoke --list and verify")
    func sqliteStores() async throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let database = "sqlite:" + dir + "/state/writ.sqlite"
        let mint = try await CLITests.run([
            "mint", "--issuer-key", dir + "/issuer.key", "--holder", dir + "/agent.pub", "--subject",
            "spiffe://acme.test/agent/a/1", "--resource", "docs/*", "--out", dir + "/token.txt", "--audience", "api",
            "--action", "read",
        ])
        #expect(mint.status == 0, "\(mint.stderr)")
        let first = try await CLITests.run([
            "revoke", "--store", database, "--key", dir + "/revocation.key", "--task", "t",
        ])
        #expect(first.status == 0 && first.stdout.contains("revoked #1 task:t"), "\(first.stderr)")
        let list = try await CLITests.run(["revoke", "--store", database, "--list", "--trust", dir + "/revocation.pub"])
        #expect(list.status == 0 && list.stdout.contains("every signature verified"), "\(list.stderr)")
        let feed = ["--revocations", database, "--revocation-key", dir + "/revocation.pub"]
        let nonces = ["--nonces", "sqlite:" + dir + "/nonces.sqlite"]
        let live = try await verify(feed + nonces)
        #expect(live.status == 0, "\(live.stderr)")
        #expect(
            try await CLITests.run([
                "revoke", "--store", database, "--key", dir + "/revocation.key", "--token-block", dir + "/token.txt",
            ]).status == 0
        )
        let revoked = try await verify(feed)
        #expect(revoked.status == 1 && revoked.stderr.contains("revoked"), "\(revoked.stderr)")
        // A nonce database shared by two runs: the second run of one proof is a replay.
        let proof = try await CLITests.run([
            "prove", "--token", dir + "/token.txt", "--holder-key", dir + "/agent.key", "--resource", "docs/a",
            "--audience", "api", "--action", "read",
        ]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let arguments =
            [
                "verify", "--token", dir + "/token.txt", "--trust", dir + "/issuer.pub", "--resource", "docs/a",
                "--audience", "api", "--action", "read", "--proof", proof,
            ] + nonces
        #expect(try await CLITests.run(arguments).status == 0)
        let replay = try await CLITests.run(arguments)
        #expect(replay.status == 1 && replay.stderr.contains("already used"), "\(replay.stderr)")
        // --list never creates a database; a text file is not one (exit 2, naming the file).
        let missing = try await CLITests.run(["revoke", "--store", "sqlite:" + dir + "/none.sqlite", "--list"])
        #expect(missing.status == 2 && !FileManager.default.fileExists(atPath: dir + "/none.sqlite"))
        let notADatabase = try await CLITests.run(["revoke", "--store", "sqlite:" + dir + "/issuer.pub", "--list"])
        #expect(notADatabase.status == 2 && notADatabase.stderr.contains("not-a-database"), "\(notADatabase.stderr)")
    }
    #endif

    @Test(
        "postgres:// is parsed and refused with 'not available in this command yet' (exit 2), the password never shown"
    )
    func postgresRefused() async throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let url = "postgres://writ:hunter2@db.internal/writ"
        for arguments in [
            ["revoke", "--store", url, "--list"],
            ["revoke", "--store", url, "--key", dir + "/revocation.key", "--task", "t"],
            ["demo", "--dir", dir + "/demo", "--store", url],
        ] {
            let run = try await CLITests.run(arguments)
            #expect(run.status == 2, "\(arguments): \(run.stderr)")
            #expect(run.stderr.contains("not available in `writ"), "\(run.stderr)")
            #expect(!run.stderr.contains("hunter2"), "the password leaked: \(run.stderr)")
        }
        let unknown = try await CLITests.run(["revoke", "--store", "mysql://x/y", "--list"])
        #expect(unknown.status == 2 && unknown.stderr.contains("unknown store scheme"), "\(unknown.stderr)")
    }

    @Test("file: and plain paths name the flat-file feed, as before")
    func fileStores() async throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let plain = try await CLITests.run([
            "revoke", "--store", dir + "/feed.log", "--key", dir + "/revocation.key", "--task", "t",
        ])
        #expect(plain.status == 0, "\(plain.stderr)")
        let viaScheme = try await CLITests.run(["revoke", "--store", "file:" + dir + "/feed.log", "--list"])
        #expect(viaScheme.status == 0 && viaScheme.stdout.contains("1 entries"), "\(viaScheme.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir + "/feed.log.head"))
    }
}
