import FuzzSupport
import WritPolicy

/// Cedar's JSON formats: the input read as entities, as a request and as a value; what decodes is evaluated
/// with the fixture's policies.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Harness.run(data, size) { bytes in
        if let entities = try? PolicyEntities(json: bytes) {
            _ = CedarFixture.policySet.evaluate(CedarFixture.requests[0], entities: entities)
        }
        if let request = try? PolicyRequest(json: bytes) {
            _ = CedarFixture.policySet.evaluate(request, entities: CedarFixture.entities)
        }
        _ = try? CedarValue(json: bytes)
    }
}
