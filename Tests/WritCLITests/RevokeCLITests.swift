import Foundation
import Testing

/// `writ revoke`: signed appends, read-only listing, and the footguns of the security report.
@Suite("writ revoke")
struct RevokeCLITests {
    let dir: String
    let store: String

    init() async throws {
        dir = try CLITests.temporaryDirectory()
        store = dir + "/revocations.log"
        let keygen = try await CLITests.run(["keygen", "--out", dir + "/revocation.key"])
        #expect(keygen.status == 0, "\(keygen.stderr)")
    }

    func revoke(_ arguments: [String]) async throws -> CLITests.Run {
        try await CLITests.run(["revoke", "--store", store, "--key", dir + "/revocation.key"] + arguments)
    }

    func files() throws -> [Data] {
        try [store, store + ".head"].map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
    }

    @Test("revoke signs durable entries; --list verifies them with --trust and never modifies the feed")
    func appendAndList() async throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try await revoke(["--task", "task-1", "--reason", "completed"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("revoked #1 task:task-1"))
        let agent = try await revoke(["--agent", "spiffe://acme.test/agent/x/1"])
        #expect(agent.status == 0, "\(agent.stderr)")
        #expect(try await revoke(["--agent", "not-a-spiffe-id"]).status == 2)
        let before = try files()
        let unchecked = try await CLITests.run(["revoke", "--store", store, "--list"])
        #expect(unchecked.status == 0, "\(unchecked.stderr)")
        #expect(unchecked.stdout.contains("signatures NOT checked"))
        let list = try await CLITests.run([
            "revoke", "--store", store, "--list", "--json", "--trust", dir + "/revocation.pub",
        ])
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains("task-1") && list.stdout.contains("spiffe://acme.test/agent/x/1"))
        #expect(list.stdout.contains("\"signaturesVerified\" : true"))
        #expect(try files() == before, "--list must not modify the feed or its head")
    }

    @Test("--list with another key, or on a tampered feed, exits 1; a missing or empty feed exits 2")
    func refusals() async throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try await revoke(["--task", "task-1"]).status == 0)
        _ = try await CLITests.run(["keygen", "--out", dir + "/other.key"])
        let other = try await CLITests.run(["revoke", "--store", store, "--list", "--trust", dir + "/other.pub"])
        #expect(other.status == 1, "\(other.stdout)")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: store))
        bytes[bytes.count - 70] ^= 0x01  // inside the entry's fields, before its signature
        try bytes.write(to: URL(fileURLWithPath: store))
        let tampered = try await CLITests.run([
            "revoke", "--store", store, "--list", "--trust", dir + "/revocation.pub",
        ])
        #expect(tampered.status == 1, "\(tampered.stdout)")
        #expect(tampered.stderr.hasPrefix("error:"))
        let missing = try await CLITests.run(["revoke", "--store", dir + "/none.log", "--list"])
        #expect(missing.status == 2 && missing.stderr.contains("does not exist"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/none.log"))
        _ = FileManager.default.createFile(atPath: dir + "/empty.log", contents: Data())
        let empty = try await CLITests.run(["revoke", "--store", dir + "/empty.log", "--list"])
        #expect(empty.status == 2 && empty.stderr.contains("is empty"))
        #expect(try await CLITests.run(["revoke", "--store", store, "--task", "t"]).status == 2, "no --key")
    }

    @Test("--token-block takes the token itself (its last block); 32 hex digits are refused, not silently wrong")
    func tokenBlock() async throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await CLITests.run(["keygen", "--out", dir + "/issuer.key"])
        _ = try await CLITests.run(["keygen", "--out", dir + "/agent.key"])
        let mint = try await CLITests.run([
            "mint", "--issuer-key", dir + "/issuer.key", "--holder", dir + "/agent.pub",
            "--subject", "spiffe://acme.test/agent/a/1", "--audience", "api", "--action", "read",
            "--resource", "docs/*", "--out", dir + "/token.txt",
        ])
        #expect(mint.status == 0, "\(mint.stderr)")
        let token = try String(contentsOfFile: dir + "/token.txt", encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines
        )
        let inspect = try await CLITests.run(["inspect", token])
        let lines = inspect.stdout.split(separator: "\n")
        let tokenID = try #require(lines.first?.split(separator: " ").dropFirst().first, "\(inspect)")
        let refused = try await revoke(["--token-block", String(tokenID)])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("--revocation-id"))
        #expect(!FileManager.default.fileExists(atPath: store), "a refused revocation creates nothing")
        let byFile = try await revoke(["--token-block", dir + "/token.txt", "--reason", "anomaly"])
        #expect(byFile.status == 0, "\(byFile.stderr)")
        let revocationID = try #require(lines.first { $0.hasPrefix("block 0") }?.split(separator: " ").last)
        #expect(byFile.stdout.contains("block:\(revocationID)"), "\(byFile.stdout) vs \(inspect.stdout)")
        let byText = try await revoke(["--token-block", token, "--reason", "anomaly"])
        #expect(byText.stdout.contains("already revoked"), "the same block, given as text")
        #expect(try await revoke(["--token-block", "garbage"]).status == 2)
    }

    @Test("verify --revocations: a revoked block is refused, a feed signed by another key fails closed")
    func verifyAgainstFeed() async throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await CLITests.run(["keygen", "--out", dir + "/issuer.key"])
        _ = try await CLITests.run(["keygen", "--out", dir + "/agent.key"])
        _ = try await CLITests.run(["keygen", "--out", dir + "/other.key"])
        let common = ["--audience", "api", "--action", "read"]
        #expect(
            try await CLITests.run(
                [
                    "mint", "--issuer-key", dir + "/issuer.key", "--holder", dir + "/agent.pub", "--subject",
                    "spiffe://acme.test/agent/a/1", "--resource", "docs/*", "--out", dir + "/token.txt",
                ] + common
            ).status == 0
        )
        #expect(try await revoke(["--task", "unrelated"]).status == 0)
        func verify(_ extra: [String]) async throws -> CLITests.Run {
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
        let feed = ["--revocations", store, "--revocation-key", dir + "/revocation.pub"]
        let live = try await verify(feed)
        #expect(live.status == 0, "\(live.stderr)")
        let forged = try await verify(["--revocations", store, "--revocation-key", dir + "/other.pub"])
        #expect(forged.status == 1 && forged.stderr.contains("does not verify"), "\(forged.stderr)")
        #expect(try await revoke(["--token-block", dir + "/token.txt"]).status == 0)
        let revoked = try await verify(feed)
        #expect(revoked.status == 1 && revoked.stderr.contains("revoked"), "\(revoked.stderr)")
        #expect(try await verify([]).status == 0, "without --revocations the revocation is not checked (documented)")
        let missing = try await verify([
            "--revocations", dir + "/none.log", "--revocation-key", dir + "/revocation.pub",
        ])
        #expect(missing.status == 2)
    }
}
