#if MCP
public import AsyncHTTPClient
public import Foundation
import HTTPTypes
public import Hummingbird
import MCP
import NIOCore
import NIOHTTP1
public import Writ

/// Writ in front of an MCP server it cannot change (written in any language): a reverse proxy that authorises
/// every `POST` exactly as ``WritMCPServerEndpoint`` does, then forwards the message — re-encoded from what was
/// authorised, without the Writ credential — to the upstream MCP endpoint, and streams its answer back.
///
/// Only an allow-list of headers goes upstream (`Content-Type`, `Accept`, `MCP-Protocol-Version`,
/// `Mcp-Session-Id`, `Last-Event-ID`, `traceparent`, `tracestate`), plus the grant as `Writ-Agent`, `Writ-Task`
/// and `Writ-Action` (set by the gateway; a client's are never passed). `GET` and `DELETE` are `405`: a
/// server-to-client stream has no message to authorise. Point the upstream at loopback or a private network:
/// it must not be reachable around the gateway.
public final class WritMCPGateway: Sendable {
    /// The authorisation (the same as an endpoint's).
    let endpoint: WritMCPServerEndpoint
    /// The upstream MCP endpoint's URL.
    public let upstream: URL
    /// The HTTP client that reaches it.
    public let httpClient: HTTPClient
    /// The largest answer streamed back before the gateway cuts it off is unbounded; this bounds how long one
    /// upstream exchange may take.
    public let timeout: TimeAmount

    static let forwardedHeaders: Set<String> = [
        "content-type", "accept", "mcp-protocol-version", "mcp-session-id", "last-event-id", "traceparent",
        "tracestate",
    ]
    static let returnedHeaders: Set<String> = ["content-type", "mcp-session-id", "cache-control"]

    /// Creates a gateway.
    ///
    /// - Parameters:
    ///   - gatekeeper: the gatekeeper of the audience the upstream server is.
    ///   - configuration: the public origin and path clients sign for, and the mapping.
    ///   - upstream: the upstream MCP endpoint (e.g. `http://127.0.0.1:9000/mcp`).
    ///   - httpClient: the client used to reach it (the caller shuts it down).
    ///   - timeout: the longest one upstream exchange may take (default 60 s).
    public init(
        gatekeeper: Gatekeeper,
        configuration: WritMCPServerEndpoint.Configuration,
        upstream: URL,
        httpClient: HTTPClient,
        timeout: TimeAmount = .seconds(60)
    ) {
        self.endpoint = WritMCPServerEndpoint(gatekeeper: gatekeeper, configuration: configuration)
        self.upstream = upstream
        self.httpClient = httpClient
        self.timeout = timeout
    }

    /// Adds the routes: `POST` (authorised, forwarded), `GET`/`DELETE` (`405`) and the RFC 9728 metadata.
    public func mount<Context: Hummingbird.RequestContext>(on router: Router<Context>) {
        let path = RouterPath(endpoint.configuration.path)
        router.post(path) { request, _ in await self.respond(to: request) }
        router.get(path) { _, _ in WritMCPServerEndpoint.methodNotAllowed() }
        router.delete(path) { _, _ in WritMCPServerEndpoint.methodNotAllowed() }
        router.get(RouterPath(endpoint.configuration.metadataPath)) { _, _ in self.endpoint.metadataResponse() }
    }

    /// Authorises one `POST` and, when allowed, forwards it.
    public func respond(to request: Request) async -> Response {
        let (message, grant, headers, visibility):
            (WritMCPMessage, WritMCPGrant, [(name: String, value: String)], WritMCPToolVisibility?)
        switch await endpoint.admit(request) {
        case .refused(let response): return response
        case .admitted(let m, let g, let h, let v): (message, grant, headers, visibility) = (m, g, h, v)
        }
        var outgoing = HTTPClientRequest(url: upstream.absoluteString)
        outgoing.method = .POST
        for header in headers where Self.forwardedHeaders.contains(header.name.lowercased()) {
            outgoing.headers.add(name: header.name, value: header.value)
        }
        outgoing.headers.replaceOrAdd(name: "Writ-Agent", value: grant.granted.agent)
        if let task = grant.granted.taskID { outgoing.headers.replaceOrAdd(name: "Writ-Task", value: task) }
        outgoing.headers.replaceOrAdd(name: "Writ-Action", value: grant.action)
        outgoing.body = .bytes(ByteBuffer(bytes: message.canonicalBody))
        do {
            let answer = try await httpClient.execute(outgoing, timeout: timeout)
            var fields = HTTPFields()
            for header in answer.headers where Self.returnedHeaders.contains(header.name.lowercased()) {
                if let name = HTTPField.Name(header.name) { fields.append(HTTPField(name: name, value: header.value)) }
            }
            guard let visibility, answer.status == .ok else {
                return Response(
                    status: .init(code: Int(answer.status.code)),
                    headers: fields,
                    body: ResponseBody(asyncSequence: answer.body)
                )
            }
            // A tools/list answer is read whole (bounded) and filtered by the grant before it is passed back.
            let body = try await answer.body.collect(upTo: WritMCPServerEndpoint.maximumToolListBytes)
            guard
                let kept = WritMCPServerEndpoint.filteredToolList(
                    Data(body.readableBytesView),
                    contentType: answer.headers.first(name: "content-type"),
                    visibility
                )
            else {
                return WritMCPServerEndpoint.unfilterable(id: message.id)
            }
            return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: kept)))
        } catch {
            return WritMCPServerEndpoint.jsonRPCError(
                status: 502,
                id: message.id,
                code: -32603,
                message: "the upstream MCP server did not answer",
                data: ["writ_code": .string(WritMCPError.Code.transport.rawValue)]
            )
        }
    }
}
#endif
