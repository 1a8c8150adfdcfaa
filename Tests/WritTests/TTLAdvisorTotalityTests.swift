import Foundation
import Testing
import Writ

/// TTL advice is total: no margin or audit attribute makes it trap or produce values JSON cannot hold.
@Suite("TTL advice is total")
struct TTLAdvisorTotalityTests {
    let t0 = Timestamp(secondsSinceEpoch: 1_767_225_600)

    func events(ttlMilliseconds: String = "30000", useSeconds: Int64 = 40) -> [AuditEvent] {
        [
            AuditEvent(
                .issued,
                time: t0,
                task: "t",
                step: "s",
                tokenID: "a",
                attributes: ["class": "reader", "ttl-ms": ttlMilliseconds]
            ),
            AuditEvent(.used, time: t0.advanced(by: .seconds(useSeconds)), tokenID: "a", decision: .allow),
        ]
    }

    @Test(
        "an enormous or infinite margin saturates at Int64.max instead of trapping",
        arguments: [1e18, 1e300, .infinity]
    )
    func enormousMargin(margin: Double) throws {
        let advice = try #require(TTLAdvisor(margin: margin).advise(events()).first)
        #expect(advice.recommendedDefaultTTLSeconds == .max)
        #expect(advice.recommendedMaximumTTLSeconds == .max)
    }

    @Test("a NaN margin is taken as 1")
    func nanMargin() throws {
        #expect(TTLAdvisor(margin: .nan).margin == 1)
        let advice = try #require(TTLAdvisor(margin: .nan).advise(events()).first)
        #expect(advice.recommendedDefaultTTLSeconds == 40)
    }

    @Test(
        "an issued TTL that is not whole milliseconds is ignored, so the advice still encodes as JSON",
        arguments: ["nan", "inf", "1e400", "-5", "12.5", ""]
    )
    func strangeTTLAttribute(ttl: String) throws {
        let advice = TTLAdvisor().advise(events(ttlMilliseconds: ttl))
        #expect(advice.first?.issuedTTLSeconds == nil)
        _ = try JSONEncoder().encode(advice)
    }
}
