#if CLI
import Foundation
import WritCrypto
import WritHTTP

/// The deployment file of `writ drill --deployment FILE` (`Docs/Drill.md`): where the authority and each service
/// are, the operator key the drill acts with, and the agent class its canary agent enrols in.
///
/// Unknown keys are refused, naming the key; paths are relative to the file's directory.
struct DrillDeployment: Sendable {
    /// How the drill calls a service's probe route (it maps to `drill.probe` on `drill/canary`).
    struct Probe: Sendable, Decodable {
        /// `GET`, `POST`, …
        var method: String
        /// The request target (`/drill/canary`).
        var path: String
    }

    /// One service under test.
    struct Service: Sendable {
        /// The name the table shows.
        var name: String
        /// The service's origin.
        var origin: WritOrigin
        /// Its audience and verifier name (its `writ serve` `name`).
        var verifier: String
        /// The public key of its audit log.
        var auditKey: Ed25519.PublicKey
        /// The probe route.
        var probe: Probe
        /// The verifier's watermark report key, when the file names one (else the authority's registered key).
        var reportKey: Ed25519.PublicKey?
    }

    /// The authority's origin.
    var authority: WritOrigin
    /// The authority's audience.
    var authorityAudience: String
    /// The operator key (issues the join token, revokes, reads watermarks and audit logs).
    var operatorKey: Ed25519.PrivateKey
    /// The agent class the canary agent enrols in (entitled to `drill.probe` on `drill/canary` at every service).
    var drillClass: String
    /// The services, in the table's order.
    var services: [Service]

    private struct File: Decodable {
        struct Service: Decodable {
            var name: String
            var url: String
            var verifier: String
            var auditKey: String
            var probe: Probe
            var reportKey: String?
        }
        var authority: String
        var authorityAudience: String?
        var operatorKey: String
        var drillClass: String
        var services: [Service]
    }

    static let topKeys: Set<String> = ["authority", "authorityAudience", "operatorKey", "drillClass", "services"]
    static let serviceKeys: Set<String> = ["name", "url", "verifier", "auditKey", "probe", "reportKey"]
    static let probeKeys: Set<String> = ["method", "path"]

    /// Reads and checks the file at `path`.
    ///
    /// - Throws: ``CLIError`` (exit 2) naming the file and the key that is missing, unknown or wrong.
    static func load(_ path: String) throws -> DrillDeployment {
        func bad(_ message: String) -> CLIError { CLIError.input("--deployment '\(path)': \(message)") }
        let data: Data
        do { data = try readFile(path) } catch { throw CLIError.input("--deployment: \(describe(error))") }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw bad("not a JSON object")
        }
        for key in object.keys.sorted() where !topKeys.contains(key) { throw bad("'\(key)' is not a deployment key") }
        for (i, item) in ((object["services"] as? [Any]) ?? []).enumerated() {
            guard let service = item as? [String: Any] else { throw bad("services[\(i)]: not an object") }
            for key in service.keys.sorted() where !serviceKeys.contains(key) {
                throw bad("'services[\(i)].\(key)' is not a deployment key")
            }
            for key in ((service["probe"] as? [String: Any])?.keys.sorted() ?? []) where !probeKeys.contains(key) {
                throw bad("'services[\(i)].probe.\(key)' is not a deployment key")
            }
        }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch { throw bad(describe(error)) }
        let base = (path as NSString).deletingLastPathComponent
        func resolve(_ file: String) -> String {
            file.hasPrefix("/") || base.isEmpty ? file : (base as NSString).appendingPathComponent(file)
        }
        let authority: WritOrigin
        do { authority = try WritOrigin(file.authority) } catch {
            throw bad("authority: '\(file.authority)' is not an http(s) origin")
        }
        guard !file.drillClass.isEmpty else { throw bad("drillClass: empty") }
        guard !file.services.isEmpty else { throw bad("services: at least one service is needed") }
        let operatorKey: Ed25519.PrivateKey
        do { operatorKey = try readPrivateKey(resolve(file.operatorKey)) } catch {
            throw bad("operatorKey: \(describe(error))")
        }
        var services: [Service] = []
        var names = Set<String>()
        for (i, spec) in file.services.enumerated() {
            guard !spec.name.isEmpty, names.insert(spec.name).inserted else {
                throw bad("services[\(i)].name: empty or used twice")
            }
            guard !spec.verifier.isEmpty else { throw bad("services[\(i)].verifier: empty") }
            let origin: WritOrigin
            do { origin = try WritOrigin(spec.url) } catch {
                throw bad("services[\(i)].url: '\(spec.url)' is not an http(s) origin")
            }
            let auditKey: Ed25519.PublicKey
            do { auditKey = try readPublicKey(resolve(spec.auditKey)) } catch {
                throw bad("services[\(i)].auditKey: \(describe(error))")
            }
            let reportKey: Ed25519.PublicKey?
            do { reportKey = try spec.reportKey.map { try readPublicKey(resolve($0)) } } catch {
                throw bad("services[\(i)].reportKey: \(describe(error))")
            }
            let method = spec.probe.method.uppercased()
            guard ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(method) else {
                throw bad("services[\(i)].probe.method: '\(spec.probe.method)' is not GET, POST, PUT, PATCH or DELETE")
            }
            do { _ = try WritRouteMap().map(method: method, target: spec.probe.path) } catch {
                throw bad("services[\(i)].probe.path: '\(spec.probe.path)' is not a request target")
            }
            services.append(
                Service(
                    name: spec.name,
                    origin: origin,
                    verifier: spec.verifier,
                    auditKey: auditKey,
                    probe: Probe(method: method, path: spec.probe.path),
                    reportKey: reportKey
                )
            )
        }
        return DrillDeployment(
            authority: authority,
            authorityAudience: file.authorityAudience ?? "writ-authority",
            operatorKey: operatorKey,
            drillClass: file.drillClass,
            services: services
        )
    }

    /// A `writsk1_` key file, or a file holding a 32-byte seed in hex or base64url.
    static func readPrivateKey(_ path: String) throws -> Ed25519.PrivateKey {
        do { return try KeyFiles.readPrivate(path) } catch let first {
            guard let key = try? loadPrivateKey(path) else { throw first }
            return key
        }
    }

    /// A `writpk1_` (or `writsk1_`: its public half) key file, or a verifier key / 32 bytes in hex or base64url.
    static func readPublicKey(_ path: String) throws -> Ed25519.PublicKey {
        do { return try KeyFiles.readPublic(path) } catch let first {
            guard FileManager.default.fileExists(atPath: path), let key = try? loadPublicKey(path) else { throw first }
            return key
        }
    }
}
#endif
