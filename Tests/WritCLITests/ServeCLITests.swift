import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `writ serve authority` as a process: starts from a config, serves HTTP, stops cleanly on SIGTERM.
@Suite("writ serve")
struct ServeCLITests {
    /// A running `writ serve` child, its standard output read line by line.
    final class Server: @unchecked Sendable {
        // @unchecked: `lines` is only touched under `lock`; the process and pipes are set before sharing.
        let process = Process()
        private let out = Pipe()
        private let err = Pipe()
        private let lock = NSLock()
        private var buffer = Data()
        private var errors = Data()

        init(_ arguments: [String], executable: URL? = CLITests.writ) throws {
            guard let executable else { throw CocoaError(.fileNoSuchFile) }
            process.executableURL = executable
            process.arguments = arguments
            process.standardOutput = out
            process.standardError = err
            // Both pipes are drained as data arrives, so a chatty child never blocks on a full pipe.
            out.fileHandleForReading.readabilityHandler = { [weak self] handle in
                let data = handle.availableData
                guard !data.isEmpty, let self else {
                    handle.readabilityHandler = nil  // end of file
                    return
                }
                lock.lock()
                buffer.append(data)
                lock.unlock()
            }
            err.fileHandleForReading.readabilityHandler = { [weak self] handle in
                let data = handle.availableData
                guard !data.isEmpty, let self else {
                    handle.readabilityHandler = nil
                    return
                }
                lock.lock()
                errors.append(data)
                lock.unlock()
            }
            try process.run()
        }

        var stdout: String {
            lock.lock()
            defer { lock.unlock() }
            return String(decoding: buffer, as: UTF8.self)
        }

        /// Kills the child at once if it still runs (for every test path, so that no process outlives its test).
        func killNow() {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }

        deinit { killNow() }

        /// The `http://…` address the server printed, waiting up to `seconds`.
        func address(within seconds: Double = 30) async throws -> String? {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline, process.isRunning {
                if let line = stdout.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }) {
                    return String(line.dropFirst("listening on ".count))
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            return nil
        }

        /// Sends `signal` and waits (up to `seconds`) for the exit status; `nil` if it is still running.
        func stop(_ signal: Int32 = SIGTERM, within seconds: Double = 10) async throws -> Int32? {
            kill(process.processIdentifier, signal)
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if !process.isRunning { return process.terminationStatus }
                try await Task.sleep(for: .milliseconds(50))
            }
            process.terminate()
            return nil
        }

        var stderr: String {
            lock.lock()
            defer { lock.unlock() }
            return String(decoding: errors, as: UTF8.self)
        }

        /// Waits (up to `seconds`) until standard output contains `text`.
        func waitFor(_ text: String, within seconds: Double = 30) async throws -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if stdout.contains(text) { return true }
                if !process.isRunning { return stdout.contains(text) }
                try await Task.sleep(for: .milliseconds(50))
            }
            return false
        }
    }

    static func config(in dir: String, port: Int = 0, store: String = "sqlite:state/authority.sqlite") -> String {
        """
        {
          "listen": { "host": "127.0.0.1", "port": \(port) },
          "origin": "http://127.0.0.1:8080",
          "store": "\(store)",
          "keys": {
            "issuer": "keys/issuer.key", "revocation": "keys/revocation.key",
            "audit": "keys/audit.key", "auditSalt": "keys/audit-salt.key"
          },
          "operatorKeys": ["operator.pub"],
          "agentClasses": [{ "name": "coder", "defaultTTLSeconds": 60, "maximumTTLSeconds": 300 }],
          "entitlements": { "coder": [{ "audience": "repo", "actions": ["get"], "resources": ["repo/*"] }] }
        }
        """
    }

    static func get(_ url: String) async throws -> (status: Int, body: Data) {
        let (data, response) = try await URLSession.shared.data(from: try #require(URL(string: url)))
        return ((response as? HTTPURLResponse)?.statusCode ?? -1, data)
    }

    @Test("serve authority: creates its keys and store, serves the trust bundle and metadata, exits 0 on SIGTERM")
    func authorityServesAndStops() async throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(
            try await CLITests.run(["keygen", "--out", dir + "/operator.key", "--public", dir + "/operator.pub"]).status
                == 0
        )
        let configPath = dir + "/authority.json"
        try Self.config(in: dir).write(toFile: configPath, atomically: true, encoding: .utf8)

        var bundles: [[[String]]] = []
        for start in 0..<2 {
            let server = try Server(["serve", "authority", "--config", configPath, "--log-level", "warning"])
            let address = try #require(try await server.address(), "no address: \(server.stdout)")
            if start == 0 {
                #expect(server.stdout.contains("created issuer key"))
                #expect(server.stdout.contains("created store sqlite:"))
            } else {
                #expect(!server.stdout.contains("created"), "the second start reuses keys and store")
            }
            let bundle = try await Self.get(address + "/v1/trust-bundle")
            #expect(bundle.status == 200)
            let json = try JSONSerialization.jsonObject(with: bundle.body) as? [String: Any]
            #expect(
                json?["issuer_keys"] != nil && json?["revocation_keys"] != nil,
                "\(String(decoding: bundle.body, as: UTF8.self))"
            )
            bundles.append(
                ["issuer_keys", "revocation_keys"].map { field in
                    ((json?[field] as? [[String: Any]]) ?? []).compactMap { $0["key_id"] as? String }.sorted()
                }
            )
            let metadata = try await Self.get(address + "/.well-known/oauth-protected-resource")
            #expect(metadata.status == 200)
            let status = try await server.stop(SIGTERM)
            #expect(status == 0, "exit status after SIGTERM: \(String(describing: status)) \(server.stderr)")
        }
        #expect(bundles[0] == bundles[1] && bundles[0].allSatisfy { $0.count == 1 }, "the same keys after a restart")
        for file in ["keys/issuer.key", "keys/revocation.key", "keys/audit.key", "state/authority.sqlite"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + file), "\(file)")
        }
    }

    @Test(
        "serve authority: a bad config, an unreachable PostgreSQL, a port in use or an unreadable key exit non-zero, named"
    )
    func authorityRefusesBadSetups() async throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(
            try await CLITests.run(["keygen", "--out", dir + "/operator.key", "--public", dir + "/operator.pub"]).status
                == 0
        )
        let configPath = dir + "/authority.json"

        try "{ \"listen\": { \"host\": \"127.0.0.1\" } }".write(toFile: configPath, atomically: true, encoding: .utf8)
        var run = try await CLITests.run(["serve", "authority", "--config", configPath])
        #expect(run.status == 2)
        #expect(run.stderr.contains("'port': missing"), "\(run.stderr)")

        // A misspelt setting is refused, never silently defaulted: at the top, in a section, in a class.
        for (from, to, named) in [
            ("\"store\":", "\"stor\":", "'stor'"),
            ("\"auditSalt\":", "\"auditSlat\":", "'keys.auditSlat'"),
            ("\"maximumTTLSeconds\":", "\"maxTTLSeconds\":", "'agentClasses[0].maxTTLSeconds'"),
        ] {
            try Self.config(in: dir).replacingOccurrences(of: from, with: to).write(
                toFile: configPath,
                atomically: true,
                encoding: .utf8
            )
            run = try await CLITests.run(["serve", "authority", "--config", configPath])
            #expect(run.status == 2)
            #expect(run.stderr.contains("\(named) is not a setting of `writ serve authority`"), "\(run.stderr)")
        }

        run = try await CLITests.run(["serve", "authority", "--config", dir + "/missing.json"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("missing.json"), "\(run.stderr)")

        try Self.config(in: dir, store: "postgres://u:secret@db/writ").write(
            toFile: configPath,
            atomically: true,
            encoding: .utf8
        )
        run = try await CLITests.run(["serve", "authority", "--config", configPath])
        #expect(run.status == 2)
        #expect(run.stderr.contains("PostgreSQL") && run.stderr.contains("@db/writ"), "\(run.stderr)")
        #expect(!run.stderr.contains("secret"))

        try FileManager.default.createDirectory(atPath: dir + "/keys", withIntermediateDirectories: true)
        try "not a key\n".write(toFile: dir + "/keys/issuer.key", atomically: true, encoding: .utf8)
        try Self.config(in: dir).write(toFile: configPath, atomically: true, encoding: .utf8)
        run = try await CLITests.run(["serve", "authority", "--config", configPath])
        #expect(run.status == 2)
        #expect(run.stderr.contains("issuer key"), "\(run.stderr)")
        try FileManager.default.removeItem(atPath: dir + "/keys/issuer.key")

        // A port in use: a first server holds it, a second one on the same port fails cleanly.
        let first = try Server(["serve", "authority", "--config", configPath])
        let address = try #require(try await first.address(), "no address: \(first.stdout)")
        let port = try #require(Int(address.split(separator: ":").last ?? ""))
        try Self.config(in: dir, port: port).write(toFile: configPath, atomically: true, encoding: .utf8)
        run = try await CLITests.run(["serve", "authority", "--config", configPath])
        #expect(run.status == 2)
        #expect(run.stderr.contains("cannot serve on 127.0.0.1:\(port)"), "\(run.stderr)")
        #expect(try await first.stop(SIGINT) == 0)

        run = try await CLITests.run(["serve", "authority", "--print-example-config"])
        #expect(run.status == 0)
        #expect((try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) != nil, "\(run.stdout)")
    }
}
