#if HTTP
import Foundation
public import Hummingbird
import HTTPTypes
import NIOCore
public import WritHTTP

extension WritRefusal {
    /// The refusal as a Hummingbird response: status, `WWW-Authenticate` (401/403), `Retry-After` (retry later),
    /// `Cache-Control: no-store` and the JSON body.
    public func response(realm: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        if let challenge = challenge(realm: realm) { headers[.wwwAuthenticate] = challenge }
        if let seconds = retryAfterSeconds { headers[.retryAfter] = String(seconds) }
        let body = (try? JSONEncoder().encode(self)) ?? Data(#"{"code":"internal"}"#.utf8)
        return Response(
            status: HTTPResponse.Status(code: status),
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body))
        )
    }
}

enum WritJSON {
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        let body = (try? JSONEncoder().encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension Request {
    /// The header fields as (name, value) pairs, names as received.
    var writHeaderPairs: [(name: String, value: String)] {
        headers.map { (name: $0.name.rawName, value: $0.value) }
    }

    /// The raw request target (path and query, not decoded).
    var writTarget: String { head.path ?? "" }

    /// The query of the raw target, if any.
    var writQuery: String? {
        let target = writTarget
        guard let mark = target.firstIndex(of: "?") else { return nil }
        return String(target[target.index(after: mark)...])
    }

    /// Collects the body up to `limit` bytes (refusing early on a larger `Content-Length`), stores it back on the
    /// request, and returns its bytes.
    mutating func writCollectBody(limit: Int) async throws(WritHTTPError) -> [UInt8] {
        if let length = headers[.contentLength], let value = Int(length), value > limit {
            throw WritHTTPError(.bodyTooLarge, "the body is \(value) bytes; the limit is \(limit)")
        }
        do {
            let buffer = try await collectBody(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch {
            throw WritHTTPError(.bodyTooLarge, "the body is larger than \(limit) bytes")
        }
    }
}
#endif
