#if MCP
public import Foundation
public import Logging
public import MCP
import Synchronization
public import Writ
public import WritHTTP
import WritTokens

#if canImport(FoundationNetworking)
public import FoundationNetworking
#endif

/// The agent side of an MCP session behind Writ: an MCP `Transport` over the SDK's `HTTPClientTransport` that
/// signs every message it sends.
///
/// For each JSON-RPC message, it computes the Writ action and resource with the server's ``WritMCPToolMap``,
/// asks the ``CredentialProvider`` for the current token and a fresh proof bound to `POST`, the endpoint's URL
/// and the message's bytes (the provider refreshes the token first when due, so an expiring token is replaced
/// without the session noticing), and the SDK transport's `requestModifier` puts `Authorization` and
/// `Writ-Proof` on that request. A refusal comes back as ``WritMCPError`` with the server's ``WritRefusal``
/// (read from the `WWW-Authenticate` challenge); one answered `retry: new-proof` is retried once with a new proof.
///
/// Use it as any transport: `try await client.connect(transport: transport)`.
public actor WritMCPClientTransport: Transport {
    /// The transport's logger.
    public nonisolated let logger: Logger
    /// The audience the server's tokens name.
    public nonisolated let audience: String
    /// The service's public origin (what the proof binds).
    public nonisolated let origin: WritOrigin
    /// The endpoint's path and query, as sent.
    public nonisolated let target: String

    private let inner: HTTPClientTransport
    private let provider: CredentialProvider
    private let tools: WritMCPToolMap
    private var lastRefusalValue: WritRefusal?
    private let messages: AsyncThrowingStream<Data, any Swift.Error>
    private let messageSink: AsyncThrowingStream<Data, any Swift.Error>.Continuation
    private var forwarding: Task<Void, Never>?

    /// The last refusal the server answered (for an agent deciding what to do next).
    public var lastRefusal: WritRefusal? { lastRefusalValue }

    /// Creates a transport.
    ///
    /// - Parameters:
    ///   - endpoint: the MCP endpoint's URL.
    ///   - origin: the service's public origin, when it differs from the endpoint URL's (default: the URL's).
    ///   - audience: the service's audience.
    ///   - provider: the agent's credential provider, with the step begun.
    ///   - tools: the server's mapping (the client signs for the same Writ request the server computes).
    ///   - configuration: the URL session's configuration.
    ///   - logger: a logger (default: none).
    /// - Throws: ``WritMCPError/Code/invalidMapping`` for a URL that is not `http(s)` with a host.
    public init(
        endpoint: URL,
        origin: WritOrigin? = nil,
        audience: String,
        provider: CredentialProvider,
        tools: WritMCPToolMap,
        configuration: URLSessionConfiguration = .ephemeral,
        logger: Logger? = nil
    ) throws(WritMCPError) {
        guard let components = URLComponents(url: endpoint, resolvingAgainstBaseURL: false),
            let scheme = components.scheme, let host = components.host
        else {
            throw WritMCPError(.invalidMapping, "the endpoint must be an http(s) URL with a host")
        }
        if let origin {
            self.origin = origin
        } else {
            do {
                self.origin = try WritOrigin("\(scheme)://\(host)\(components.port.map { ":\($0)" } ?? "")")
            } catch {
                throw WritMCPError(.invalidMapping, "the endpoint's origin is not valid: \(error.message)")
            }
        }
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        self.target = path + (components.percentEncodedQuery.map { "?\($0)" } ?? "")
        self.audience = audience
        self.provider = provider
        self.tools = tools
        let logger = logger ?? Logger(label: "writ.mcp.client", factory: { _ in SwiftLogNoOpLogHandler() })
        self.logger = logger
        (messages, messageSink) = AsyncThrowingStream<Data, any Swift.Error>.makeStream()
        self.inner = HTTPClientTransport(
            endpoint: endpoint,
            configuration: configuration,
            streaming: false,
            authorizer: WritMCPChallengeRecorder(),
            requestModifier: { request in
                var request = request
                guard let exchange = WritMCPExchange.current else { return request }
                for field in exchange.headerFields {
                    request.setValue(field.value, forHTTPHeaderField: field.name)
                }
                return request
            },
            logger: logger
        )
    }

    /// Connects the SDK transport.
    public func connect() async throws {
        try await inner.connect()
        guard forwarding == nil else { return }
        let stream = await inner.receive()
        let sink = messageSink
        forwarding = Task {
            do {
                for try await message in stream { sink.yield(message) }
                sink.finish()
            } catch {
                sink.finish(throwing: error)
            }
        }
    }

    /// Disconnects the SDK transport.
    public func disconnect() async {
        await inner.disconnect()
        forwarding?.cancel()
        forwarding = nil
        messageSink.finish()
    }

    /// The messages the server answered.
    public func receive() -> AsyncThrowingStream<Data, any Swift.Error> { messages }

    /// Signs and sends one message.
    ///
    /// - Throws: ``WritMCPError`` — ``WritMCPError/Code/refused`` with the server's refusal,
    ///   ``WritMCPError/Code/credentialUnavailable`` when the provider has no usable token, the message's own
    ///   parse or mapping error, or ``WritMCPError/Code/transport``.
    public func send(_ data: Data) async throws {
        let message = try WritMCPMessage.parse(data)
        let mapped = try tools.map(message)
        let binding = try WritHTTPRequestDigest.digest(
            method: "POST",
            origin: origin,
            target: target,
            bodyDigest: WritHTTPRequestDigest.bodyDigest(data)
        )
        for attempt in 0..<2 {
            let credential: PresentedCredential
            do {
                credential = try await provider.credential(
                    audience: audience,
                    action: mapped.action,
                    resource: mapped.resource,
                    attributes: ["method": "POST", "mcp.method": message.method],
                    binding: binding
                )
            } catch {
                throw WritMCPError(.credentialUnavailable, "no credential for \(mapped.action)", underlying: error)
            }
            let exchange = WritMCPExchange(
                headerFields: WritPresentation(credential: credential.token, proof: credential.proof).headerFields
            )
            do {
                try await WritMCPExchange.$current.withValue(exchange) { try await inner.send(data) }
                return
            } catch {
                guard let refusal = exchange.refusal else {
                    throw WritMCPError(.transport, "the MCP request failed", underlying: error)
                }
                lastRefusalValue = refusal
                if refusal.retry == .newProof, attempt == 0 { continue }
                throw WritMCPError(.refused, "the server refused \(mapped.action)", refusal: refusal)
            }
        }
        throw WritMCPError(.refused, "the server refused \(mapped.action)", refusal: lastRefusalValue)
    }
}

/// The one exchange a `send` is making: the headers its request carries and the challenge it got back. Reached
/// by the SDK transport's `requestModifier` and authorizer through a task-local (they run in the sending task).
final class WritMCPExchange: Sendable {
    @TaskLocal static var current: WritMCPExchange?

    let headerFields: [(name: String, value: String)]
    private let received = Mutex<WritRefusal?>(nil)

    init(headerFields: [(name: String, value: String)]) { self.headerFields = headerFields }

    var refusal: WritRefusal? {
        get { received.withLock { $0 } }
        set { received.withLock { $0 = newValue } }
    }
}

/// Reads Writ's challenge from a `401`/`403` into the current exchange and declines to retry (the transport
/// above retries with a new proof itself).
final class WritMCPChallengeRecorder: HTTPClientAuthorizer {
    let maxAuthorizationAttempts = 1

    func validateEndpointSecurity(for endpoint: URL) throws {}

    func authorizationHeader(for endpoint: URL) -> String? { nil }

    func handleChallenge(
        statusCode: Int,
        headers: [String: String],
        endpoint: URL,
        operationKey: String?,
        session: URLSession
    ) async throws -> Bool {
        let challenge = headers.first { $0.key.lowercased() == "www-authenticate" }?.value ?? ""
        WritMCPExchange.current?.refusal = WritMCPChallenge.refusal(status: statusCode, challenge: challenge)
        return false
    }
}

/// Parses Writ's `WWW-Authenticate` challenge (`Docs/MCPBinding.md`).
public enum WritMCPChallenge {
    /// The parameters of a `Writ` challenge (`realm`, `error`, `retry`, `scope`, `resource_metadata`, …); empty
    /// for another scheme.
    public static func parameters(_ challenge: String) -> [String: String] {
        let scheme = WritPresentation.scheme
        guard challenge.count > scheme.count, challenge.lowercased().hasPrefix(scheme.lowercased() + " ") else {
            return [:]
        }
        var result: [String: String] = [:]
        var rest = Substring(challenge.dropFirst(scheme.count + 1))
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard let equals = rest.firstIndex(of: "=") else { break }
            let name = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var escaped = false
                while let c = rest.first {
                    rest = rest.dropFirst()
                    if escaped {
                        value.append(c)
                        escaped = false
                    } else if c == "\\" {
                        escaped = true
                    } else if c == "\"" {
                        break
                    } else {
                        value.append(c)
                    }
                }
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = rest[..<end].trimmingCharacters(in: .whitespaces)
                rest = rest[end...]
            }
            if result[name] == nil { result[name] = value }
        }
        return result
    }

    /// The refusal a challenge describes (`code` from `writ_code`; an unknown `retry` is ``WritRefusal/Retry/none``).
    public static func refusal(status: Int, challenge: String) -> WritRefusal {
        let p = parameters(challenge)
        let retry: WritRefusal.Retry
        switch p["retry"] {
        case "new-proof": retry = .newProof
        case "refresh": retry = .refresh
        case "reauthorize": retry = .reauthorize
        case "approval": retry = .approval
        case "later": retry = .later
        default: retry = .none
        }
        return WritRefusal(
            status: status,
            error: p["error"],
            code: p["writ_code"] ?? (p["error"] == nil ? "credentials-missing" : "unknown"),
            message: p["error_description"] ?? "",
            retry: retry
        )
    }
}
#endif
