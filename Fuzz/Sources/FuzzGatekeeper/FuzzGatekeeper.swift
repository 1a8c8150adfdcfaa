import FuzzSupport
import Writ
import WritAudit
import WritCrypto
import WritIdentity
import WritPolicy
import WritRevocation
import WritTokens

/// `Gatekeeper.authorize` over the fixture deployment. Input: one byte choosing the request, then token bytes
/// and proof bytes split by `Harness.split` (each sent in its text form).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Harness.run(data, size) { bytes in
        guard let selector = bytes.first else { return }
        let (token, proof) = Harness.split(Array(bytes.dropFirst()))
        _ = Deployment.authorize(Deployment.request(selector, token: token, proof: proof))
    }
}
