import FuzzSupport
import WritCrypto
import WritHTTP
import WritTokens

/// The HTTP binding's request path before any signature (`Docs/HTTPBinding.md`): the header block read for the
/// token and proof (`WritPresentation`), the credential and approval decoders, the default route map and the request
/// digest. The input's first part is the request line's method and target (split at the first space), the second a
/// header block, one `name: value` per line. Nothing may crash; what parses must keep the binding's promises.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Harness.run(data, size) { bytes in
        let (line, block) = Harness.split(bytes)
        let requestLine = String(decoding: line, as: UTF8.self)
        let method = String(requestLine.prefix { $0 != " " })
        let target = String(requestLine.drop { $0 != " " }.dropFirst())
        let headers = String(decoding: block, as: UTF8.self).split(separator: "\n").map { line in
            let name = line.prefix { $0 != ":" }
            return (name: String(name), value: String(line.dropFirst(name.count + 1)))
        }
        let query = target.firstIndex(of: "?").map { String(target[target.index(after: $0)...]) }

        if let presentation = try? WritPresentation(headers: headers, query: query) {
            Harness.check(!presentation.credential.isEmpty, "a presentation always carries a credential")
            Harness.check(!presentation.description.contains(presentation.credential), "the credential is redacted")
            if let credential = try? WritCredential(text: presentation.credential) {
                Harness.check(credential.text == presentation.credential, "a credential's text form is canonical")
            }
        }
        if let mapped = try? WritRouteMap().map(method: method, target: target) {
            Harness.check(!mapped.action.isEmpty, "a mapped request has an action")
        }
        if let origin = try? WritOrigin("http://127.0.0.1:8080"),
            let digest = try? WritHTTPRequestDigest.digest(
                method: method,
                origin: origin,
                target: target,
                bodyDigest: WritHTTPRequestDigest.bodyDigest(block)
            )
        {
            Harness.check(digest.count == 32, "the request digest is 32 bytes")
        }
        let approvals = headers.filter { $0.name.lowercased() == WritApproval.headerName.lowercased() }.map(\.value)
        for value in approvals {
            if let approval = try? WritApproval(text: value) {
                Harness.check(approval.issuedAt < approval.expiresAt, "an approval expires after it was issued")
                Harness.check(!approval.name.isEmpty && !approval.resource.isEmpty, "an approval names what it grants")
            }
        }
        _ = try? WritApprovers([]).check(
            approvals,
            audience: "repo",
            action: "get",
            resource: "repo/x",
            tokenDigest: TokenDigest.of([]),
            now: Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)
        )
    }
}
