import FuzzSupport
import Writ
import WritAudit
import WritCrypto
import WritIdentity
import WritPolicy
import WritRevocation
import WritTokens

/// Text proof decoding (`writp1_` + canonical base64url): a proof that parses prints back as the same text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Harness.run(data, size) { bytes in
        let text = String(decoding: bytes, as: UTF8.self)
        guard let proof = try? ProofOfPossession(text: text) else { return }
        Harness.check(proof.text == text, "the text form is canonical")
        _ = proof.description
    }
}
