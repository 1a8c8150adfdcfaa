import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `writ demo --processes`: the mission across real `writ serve` children, and that no child outlives the demo.
@Suite("writ demo --processes", .serialized)
struct DemoProcessTests {
    /// Processes whose command line mentions `text` (read from /proc; empty where there is no /proc).
    static func processes(mentioning text: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid -> String? in
            guard Int(pid) != nil, Int32(pid) != getpid(),
                let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
            else { return nil }
            let line = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            return line.contains(text) ? "\(pid): \(line)" : nil
        }
    }

    /// Whether something accepts a TCP connection on 127.0.0.1:`port`.
    static func listening(_ port: Int) -> Bool {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0
    }

    /// The ports in `deployment.json` (the authority's and each verifier's).
    static func ports(_ dir: String) throws -> [Int] {
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/deployment.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let services = (json["services"] as? [[String: Any]]) ?? []
        let urls = [json["authority"] as? String] + services.map { $0["url"] as? String }
        let authority = try Data(contentsOf: URL(fileURLWithPath: dir + "/authority.json"))
        let listen = (try JSONSerialization.jsonObject(with: authority) as? [String: Any])?["listen"] as? [String: Any]
        return urls.compactMap { $0.flatMap { URL(string: $0)?.port } } + [listen?["port"] as? Int].compactMap { $0 }
    }

    @Test("the process demo: every expectation holds, every child stopped, no port left bound")
    func processDemo() async throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try await CLITests.run(["demo", "--processes", "--json", "--dir", dir])
        let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        let expectations = (report?["expectations"] as? [[String: Any]]) ?? []
        let failed = expectations.filter { $0["passed"] as? Bool != true }
        #expect(run.status == 0, "failed: \(failed) \(run.stderr.suffix(2000))")
        #expect(report?["passed"] as? Bool == true)
        #expect(expectations.count >= 30, "\(expectations.count) expectations")
        #expect(failed.isEmpty, "\(failed)")
        let names = expectations.compactMap { $0["name"] as? String }
        for needed in [
            "planner attested over HTTP", "replayed request denied", "old task's token denied after hand-off",
            "planner's token denied after completion", "killed (SIGKILL): requests to tickets fail",
            "denial burst detected by the tool server, reported, and the ticketer revoked",
            "MCP tools/list shows the triage step only the tools it may call",
            "close_ticket, outside the triage step, is refused", "the planner's own MCP session still works",
        ] {
            #expect(names.contains { $0.hasPrefix(needed) }, "missing expectation '\(needed)'")
        }
        #expect(names.contains { $0.hasPrefix("every revocation denied on every service") })
        #expect(names.contains { $0.hasPrefix("after the restart") })
        let summary = (report?["timingSummary"] as? [[String: Any]]) ?? []
        #expect(summary.count == 4, "\(summary)")
        #expect(summary.allSatisfy { ($0["samples"] as? Int ?? 0) >= 8 }, "\(summary)")
        let pending = (report?["pending"] as? [String]) ?? []
        #expect(pending.isEmpty, "nothing is pending on the embedded default: \(pending)")
        #expect(Self.processes(mentioning: dir).isEmpty, "orphans: \(Self.processes(mentioning: dir))")
        for port in try Self.ports(dir) {
            #expect(!Self.listening(port), "port \(port) is still bound")
        }
        #expect(FileManager.default.fileExists(atPath: dir + "/logs/authority.log"))
        #expect(FileManager.default.fileExists(atPath: dir + "/repo.sqlite"))
    }

    @Test("a child failing at start: a clear error naming it and its log, and no orphan")
    func childFailsAtStart() async throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try await CLITests.run(["demo", "--processes", "--json", "--dir", dir, "--sabotage", "tickets"])
        #expect(run.status == 1, "\(run.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        let expectations = (report?["expectations"] as? [[String: Any]]) ?? []
        let failure = expectations.first { $0["name"] as? String == "the scenario ran to the end" }
        let detail = failure?["detail"] as? String ?? ""
        #expect(detail.contains("tickets exited with status 2"), "\(detail)")
        #expect(detail.contains("logs/tickets.log"), "\(detail)")
        #expect(detail.contains("policy"), "the log's tail says what is wrong: \(detail)")
        let stopped = expectations.first { ($0["name"] as? String ?? "").hasPrefix("every child stopped") }
        #expect(stopped?["passed"] as? Bool == true, "\(String(describing: stopped))")
        #expect(Self.processes(mentioning: dir).isEmpty, "orphans: \(Self.processes(mentioning: dir))")
        for port in try Self.ports(dir) {
            #expect(!Self.listening(port), "port \(port) is still bound")
        }
    }
}
