import FuzzSupport
import Writ
import WritAudit
import WritCrypto
import WritIdentity
import WritPolicy
import WritRevocation
import WritTokens

/// Binary proof-of-possession decoding: a proof that parses round-trips through both forms and prints.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Harness.run(data, size) { bytes in
        guard let proof = try? ProofOfPossession(bytes: bytes) else { return }
        Harness.check(proof.bytes == bytes, "the binary form round-trips")
        Harness.check((try? ProofOfPossession(text: proof.text)) == proof, "the text form round-trips")
        _ = proof.description
    }
}
