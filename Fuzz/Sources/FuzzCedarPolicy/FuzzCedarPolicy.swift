import FuzzSupport
import WritPolicy

/// Cedar policy text: parse, then evaluate against the fixture's requests and entities.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Harness.run(data, size) { bytes in
        guard let policies = try? PolicySet(text: String(decoding: bytes, as: UTF8.self)) else { return }
        for request in CedarFixture.requests {
            _ = policies.evaluate(request, entities: CedarFixture.entities)
        }
    }
}
