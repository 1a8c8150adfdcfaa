#if CLI
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Writ
import WritCrypto
import WritHTTP
import WritTokens

/// One answer of a service, as an agent sees it.
struct DemoAnswer: Sendable, CustomStringConvertible {
    /// The HTTP status; 0 when nothing answered (connection refused, timeout).
    let status: Int
    let refusal: WritRefusal?
    let body: String

    /// The refusal's code, `ok`, `HTTP <status>`, or `unreachable`.
    var code: String {
        if status == 0 { return "unreachable" }
        if (200..<300).contains(status) { return "ok" }
        return refusal?.code ?? "HTTP \(status)"
    }

    var isAllowed: Bool { (200..<300).contains(status) }

    var description: String {
        if status == 0 { return "unreachable (\(body.prefix(120)))" }
        if isAllowed { return "\(status)" }
        return "\(status) \(refusal.map { "\($0.code): \($0.message.prefix(140))" } ?? String(body.prefix(140)))"
    }
}

/// The agents' side of HTTP: signed calls to the services (the proof bound to method, URL and body).
struct DemoWire: Sendable {
    let http: HTTPClient
    /// Each verifier's base URL (its origin).
    let urls: [String: String]

    static func makeClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(2), read: .seconds(10))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func origin(_ service: String) throws -> WritOrigin { try WritOrigin(urls[service] ?? "http://127.0.0.1:1") }

    /// The digest a proof for this request must carry.
    func binding(_ service: String, _ method: String, _ target: String, _ body: [UInt8]) throws -> [UInt8] {
        try WritHTTPRequestDigest.digest(
            method: method,
            origin: try origin(service),
            target: target,
            bodyDigest: WritHTTPRequestDigest.bodyDigest(body)
        )
    }

    /// A call with the provider's current token and a fresh proof (refreshing first when due).
    func call(
        _ provider: CredentialProvider,
        _ service: String,
        _ method: String,
        _ target: String,
        action: String,
        resource: String,
        body: [UInt8] = [],
        approval: (@Sendable (CapabilityToken) throws -> WritApproval)? = nil
    ) async throws -> DemoAnswer {
        let credential = try await provider.credential(
            audience: service,
            action: action,
            resource: resource,
            binding: try binding(service, method, target, body)
        )
        let approvals = try approval.map { sign in [try sign(CapabilityToken(text: credential.token)).headerField] }
        return await send(
            service,
            method,
            target,
            body: body,
            token: credential.token,
            proof: credential.proof,
            extra: approvals ?? []
        )
    }

    /// A fresh proof for `token` signed by `key` (the superseded-token and stolen-token checks).
    func proof(
        token: CapabilityToken,
        key: Ed25519.PrivateKey,
        _ service: String,
        _ method: String,
        _ target: String,
        action: String,
        resource: String,
        body: [UInt8] = []
    ) throws -> String {
        let request = TokenRequest(
            audience: service,
            action: action,
            resource: resource,
            binding: try binding(service, method, target, body)
        )
        return ProofOfPossession.sign(token: token, request: request, holderKey: key, at: SystemClock().now()).text
    }

    /// Sends a request with the given token and proof headers.
    func send(
        _ service: String,
        _ method: String,
        _ target: String,
        body: [UInt8] = [],
        token: String,
        proof: String,
        extra: [(name: String, value: String)] = []
    ) async -> DemoAnswer {
        var request = HTTPClientRequest(url: (urls[service] ?? "http://127.0.0.1:1") + target)
        request.method = HTTPMethod(rawValue: method)
        for field in WritPresentation(credential: token, proof: proof).headerFields + extra {
            request.headers.add(name: field.name, value: field.value)
        }
        if method != "GET" {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(body)
        }
        return await execute(request)
    }

    /// Sends a request without Writ headers (what a caller with only the URL could do).
    func sendBare(_ url: String, _ method: String, headers: [(String, String)] = []) async -> DemoAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        return await execute(request)
    }

    private func execute(_ request: HTTPClientRequest) async -> DemoAnswer {
        do {
            let response = try await http.execute(request, timeout: .seconds(10))
            let data = Data(try await response.body.collect(upTo: 1 << 20).readableBytesView)
            return DemoAnswer(
                status: Int(response.status.code),
                refusal: try? JSONDecoder().decode(WritRefusal.self, from: data),
                body: String(decoding: data, as: UTF8.self)
            )
        } catch {
            return DemoAnswer(status: 0, refusal: nil, body: "\(error)")
        }
    }
}
#endif
