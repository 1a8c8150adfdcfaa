#if CLI
import Foundation
import Writ
import WritCrypto
import WritHTTP
import WritIdentity

// The `approvers`, `detectors` and `authorityKeys` settings of `writ serve service`, `broker` and `mcp`
// (Docs/Serve.md).

/// One trusted approver: its name and its public key, given as the key's text or as a key file.
struct ApproverSetting: Decodable {
    /// The approver's name (logged with the approvals it signs).
    var name: String
    /// The key's text, `writpk1_…`.
    var publicKey: String?
    /// A public key file (`writpk1_…`), relative to the configuration's directory.
    var publicKeyFile: String?
}

/// One windowed detector's settings (each field optional: the detector's default when absent).
struct WindowedDetectorSetting: Decodable {
    /// Denials (`denialBurst`) or distinct resources (`resourceProbe`) within the window that trigger.
    var threshold: Int?
    /// Calls within the window that trigger (`rateSpike`).
    var limit: Int?
    /// Late presentations tolerated without an anomaly (`useAfterClose`).
    var tolerated: Int?
    /// The sliding window, in seconds.
    var windowSeconds: Int?
}

/// An intent's usual actions and resource prefixes (`intentDeviation`).
struct IntentBaselineSetting: Decodable {
    var actions: [String]
    var resourcePrefixes: [String]?
}

/// `detectors`: when present, exactly the detectors it names run; absent, the core's defaults.
struct DetectorSettings: Decodable {
    var denialBurst: WindowedDetectorSetting?
    var rateSpike: WindowedDetectorSetting?
    var resourceProbe: WindowedDetectorSetting?
    var useAfterClose: WindowedDetectorSetting?
    /// Intent → baseline.
    var intentDeviation: [String: IntentBaselineSetting]?

    /// The keys each detector takes (anything else is refused).
    static let known: [String: Set<String>] = [
        "denialBurst": ["threshold", "windowSeconds"],
        "rateSpike": ["limit", "windowSeconds"],
        "resourceProbe": ["threshold", "windowSeconds"],
        "useAfterClose": ["tolerated", "windowSeconds"],
        "intentDeviation": [],
    ]

    /// The detectors, checked: counts 1…1,000,000 (`tolerated` 0…1,000), windows 1…86,400 s.
    func detectors(_ bad: (String) -> CLIError) throws -> [any AnomalyDetector] {
        func count(_ value: Int?, _ key: String, minimum: Int = 1, maximum: Int = 1_000_000) throws -> Int? {
            guard let value else { return nil }
            guard (minimum...maximum).contains(value) else {
                throw bad("detectors.\(key): \(value) is not between \(minimum) and \(maximum)")
            }
            return value
        }
        func window(_ setting: WindowedDetectorSetting, _ name: String, default seconds: Int) throws -> Duration {
            .seconds(try count(setting.windowSeconds, "\(name).windowSeconds", maximum: 86_400) ?? seconds)
        }
        var detectors: [any AnomalyDetector] = []
        if let s = denialBurst {
            detectors.append(
                DenialBurstDetector(
                    threshold: try count(s.threshold, "denialBurst.threshold") ?? 5,
                    window: try window(s, "denialBurst", default: 60)
                )
            )
        }
        if let s = rateSpike {
            detectors.append(
                RateSpikeDetector(
                    limit: try count(s.limit, "rateSpike.limit") ?? 100,
                    window: try window(s, "rateSpike", default: 10)
                )
            )
        }
        if let s = resourceProbe {
            detectors.append(
                ResourceProbeDetector(
                    threshold: try count(s.threshold, "resourceProbe.threshold") ?? 20,
                    window: try window(s, "resourceProbe", default: 60)
                )
            )
        }
        if let s = useAfterClose {
            detectors.append(
                UseAfterCloseDetector(
                    tolerated: try count(s.tolerated, "useAfterClose.tolerated", minimum: 0, maximum: 1_000) ?? 1,
                    window: try window(s, "useAfterClose", default: 60)
                )
            )
        }
        if let baselines = intentDeviation, !baselines.isEmpty {
            var table: [String: IntentDeviationDetector.Baseline] = [:]
            for (intent, baseline) in baselines {
                guard !intent.isEmpty, !baseline.actions.isEmpty else {
                    throw bad("detectors.intentDeviation: '\(intent)' needs a name and at least one action")
                }
                table[intent] = .init(
                    actions: Set(baseline.actions),
                    resourcePrefixes: baseline.resourcePrefixes ?? [""]
                )
            }
            detectors.append(IntentDeviationDetector(baselines: table))
        }
        return detectors
    }
}

/// Refuses to start when the public key file written beside a private key (`keys.report`'s `.pub`, which the
/// authority is told to trust) no longer holds that key's public half: someone replaced or damaged it, and the
/// operator must look (remove it to have it written again).
func checkPublicKeyFile(_ path: String, matches key: Ed25519.PrivateKey, what: String) throws {
    let listed: Ed25519.PublicKey
    do { listed = try KeyFiles.readPublic(path) } catch {
        throw CLIError.input(
            "\(what) public key '\(path)': \(describe(error)); remove it to have it written again from the key"
        )
    }
    guard listed == key.publicKey else {
        throw CLIError.input(
            "\(what) public key '\(path)' holds key \(listed.keyID), not the \(what) key's \(key.publicKey.keyID): "
                + "it was replaced or the key was; remove it to have it written again from the key"
        )
    }
}

extension VerifierServeConfig {
    /// Refuses unknown keys inside `detectors`, each windowed detector and each intent baseline, and inside each
    /// approver (the top-level check stops one level down).
    static func refuseUnknownNestedKeys(in data: Data, role: String, path: String) throws {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return }
        func bad(_ key: String) -> CLIError {
            CLIError.input("--config '\(path)': '\(key)' is not a setting of `writ serve \(role)`")
        }
        if let detectors = object["detectors"] as? [String: Any] {
            for (name, value) in detectors.sorted(by: { $0.key < $1.key }) {
                guard let keys = DetectorSettings.known[name] else { throw bad("detectors.\(name)") }
                guard let settings = value as? [String: Any] else { continue }
                if name == "intentDeviation" {
                    for (intent, baseline) in settings.sorted(by: { $0.key < $1.key }) {
                        for key in ((baseline as? [String: Any])?.keys.sorted() ?? [])
                        where !["actions", "resourcePrefixes"].contains(key) {
                            throw bad("detectors.intentDeviation.\(intent).\(key)")
                        }
                    }
                } else {
                    for key in settings.keys.sorted() where !keys.contains(key) {
                        throw bad("detectors.\(name).\(key)")
                    }
                }
            }
        }
        for (index, item) in ((object["approvers"] as? [Any]) ?? []).enumerated() {
            for key in ((item as? [String: Any])?.keys.sorted() ?? [])
            where !["name", "publicKey", "publicKeyFile"].contains(key) {
                throw bad("approvers[\(index)].\(key)")
            }
        }
    }

    /// The approvers, their keys read (`nil` when the setting is absent).
    func approverSet() throws -> WritApprovers? {
        guard let approvers else { return nil }
        var names: Set<String> = []
        var list: [WritApprovers.Approver] = []
        for (index, approver) in approvers.enumerated() {
            let label = "approvers[\(index)]"
            guard !approver.name.isEmpty, names.insert(approver.name).inserted else {
                throw CLIError.input("--config: \(label).name: empty or used twice")
            }
            let key: Ed25519.PublicKey
            switch (approver.publicKey, approver.publicKeyFile) {
            case (let text?, nil):
                guard text.hasPrefix(KeyFiles.publicPrefix),
                    let raw = Base64URL.decode(text.dropFirst(KeyFiles.publicPrefix.count)),
                    let parsed = try? Ed25519.PublicKey(rawRepresentation: raw)
                else {
                    throw CLIError.input("--config: \(label).publicKey is not a \(KeyFiles.publicPrefix) public key")
                }
                key = parsed
            case (nil, let file?):
                do { key = try KeyFiles.readPublic(file) } catch {
                    throw CLIError.input("--config: \(label).publicKeyFile: \(describe(error))")
                }
            default:
                throw CLIError.input("--config: \(label): give exactly one of publicKey and publicKeyFile")
            }
            list.append(.init(name: approver.name, publicKey: key))
        }
        return WritApprovers(list)
    }

    /// The anomaly detectors the gatekeeper runs: `detectors` when given, else the core's defaults.
    func anomalyDetectors() throws -> [any AnomalyDetector] {
        guard let detectors else { return AnomalyDetectors.defaults() }
        return try detectors.detectors { CLIError.input("--config: \($0)") }
    }
}

/// `authorityKeys`: key files of the authority's issuer and revocation public keys that this verifier trusts.
///
/// With it, the trust bundle fetched at start must name only pinned keys (a pinned key it does not name is fine:
/// pin the next key before the authority rotates to it); a bundle naming any other key is refused and the
/// verifier exits, so whoever answers at the authority's URL cannot make it trust their keys. Without it, the
/// bundle is trusted as served (trust on first use), and the verifier says so in its log.
struct AuthorityKeysSetting: Codable {
    var issuers: [String]
    var revocation: [String]
}

/// The pinned keys of `authorityKeys`.
struct AuthorityKeyPins: Sendable {
    let issuers: Set<Ed25519.PublicKey>
    let revocation: Set<Ed25519.PublicKey>

    /// Refuses `bundle` when it names a key that is not pinned, or no key at all of either kind.
    func check(_ bundle: (issuers: TrustBundle, revocation: TrustBundle), authority: String) throws {
        for (what, keys, pinned) in [
            ("issuers", bundle.issuers.keys.map(\.publicKey), issuers),
            ("revocation", bundle.revocation.keys.map(\.publicKey), revocation),
        ] {
            guard !keys.isEmpty else {
                throw CLIError.input("authority \(authority): its trust bundle names no \(what) key")
            }
            for key in keys where !pinned.contains(key) {
                throw CLIError.input(
                    "authority \(authority): its trust bundle names \(what) key \(KeyFiles.publicText(key)) "
                        + "(key id \(key.keyID)), which authorityKeys.\(what) does not pin: refusing to trust it"
                )
            }
        }
    }
}

extension VerifierServeConfig {
    /// The keys of `authorityKeys`, read from their files; `nil` when it is absent.
    func authorityKeyPins() throws -> AuthorityKeyPins? {
        guard let setting = authorityKeys else { return nil }
        func read(_ paths: [String], _ what: String) throws -> Set<Ed25519.PublicKey> {
            guard !paths.isEmpty else { throw CLIError.input("authorityKeys.\(what): name at least one key file") }
            var keys = Set<Ed25519.PublicKey>()
            for path in paths {
                do { keys.insert(try KeyFiles.readPublic(path)) } catch let error as CLIError {
                    throw CLIError.input("authorityKeys.\(what): \(error.message)")
                }
            }
            return keys
        }
        return AuthorityKeyPins(
            issuers: try read(setting.issuers, "issuers"),
            revocation: try read(setting.revocation, "revocation")
        )
    }
}
#endif
