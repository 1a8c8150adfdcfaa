import Testing
import Writ
import WritTesting

@Suite("Anomaly detectors")
struct AnomalyDetectorTests {
    let start = Timestamp(secondsSinceEpoch: 1_767_225_600)

    func observation(
        at offset: Int,
        token: String = "t1",
        action: String = "read",
        resource: String = "repo/a",
        outcome: RequestObservation.Outcome = .allowed,
        intent: String? = "fix-bug",
        revocationReason: String? = nil
    ) -> RequestObservation {
        RequestObservation(
            time: start.advanced(by: .seconds(offset)),
            service: "repo",
            agent: "spiffe://acme.dev/agent/coder/1",
            tokenID: token,
            taskID: "task-1",
            intent: intent,
            action: action,
            resource: resource,
            outcome: outcome,
            revocationReason: revocationReason
        )
    }

    @Test("denial burst fires once at the threshold, not for allowed requests, and resets after the window")
    func denialBurst() {
        let detector = DenialBurstDetector(threshold: 3, window: .seconds(10))
        #expect(detector.observe(observation(at: 0)) == nil)
        #expect(detector.observe(observation(at: 1, outcome: .denied)) == nil)
        #expect(detector.observe(observation(at: 2, outcome: .denied)) == nil)
        let report = detector.observe(observation(at: 3, outcome: .denied))
        #expect(report?.detector == "denial-burst")
        #expect(report?.tokenID == "t1")
        #expect(detector.observe(observation(at: 4, outcome: .denied)) == nil, "counting starts afresh after a report")
        // Other tokens are counted separately.
        #expect(detector.observe(observation(at: 4, token: "t2", outcome: .denied)) == nil)
        // A burst that goes on is reported again once it crosses the threshold again.
        #expect(detector.observe(observation(at: 5, outcome: .denied)) == nil)
        #expect(detector.observe(observation(at: 6, outcome: .denied)) != nil)
    }

    @Test("denials spread wider than the window do not fire")
    func denialsSpreadOut() {
        let detector = DenialBurstDetector(threshold: 3, window: .seconds(10))
        for second in stride(from: 0, to: 100, by: 6) {
            #expect(detector.observe(observation(at: second, outcome: .denied)) == nil)
        }
    }

    @Test("intent deviation: action or resource outside the baseline")
    func intentDeviation() {
        let detector = IntentDeviationDetector(baselines: [
            "fix-bug": .init(actions: ["read", "write"], resourcePrefixes: ["repo/"])
        ])
        #expect(detector.observe(observation(at: 0)) == nil)
        #expect(detector.observe(observation(at: 0, action: "delete"))?.detail.contains("action 'delete'") == true)
        #expect(detector.observe(observation(at: 0, resource: "payments/x"))?.detail.contains("payments/x") == true)
        #expect(detector.observe(observation(at: 0, action: "delete", intent: "unknown-intent")) == nil)
    }

    @Test("rate spike fires above the limit")
    func rateSpike() {
        let detector = RateSpikeDetector(limit: 5, window: .seconds(1))
        var reports = 0
        for i in 0..<6 { if detector.observe(observation(at: 0 + i / 100)) != nil { reports += 1 } }
        #expect(reports == 1)
    }

    @Test("use after close: one late request tolerated, the next reported once; anomaly or manual is no close")
    func useAfterClose() {
        let detector = UseAfterCloseDetector()
        #expect(
            detector.observe(observation(at: 0, outcome: .denied, revocationReason: "completed")) == nil,
            "one late request after a close is a request that was in flight, not an anomaly"
        )
        #expect(detector.observe(observation(at: 1, outcome: .denied, revocationReason: "completed")) != nil)
        #expect(
            detector.observe(observation(at: 2, outcome: .denied, revocationReason: "completed")) == nil,
            "one report per token, not one per request"
        )
        #expect(
            detector.observe(observation(at: 0, token: "t2", outcome: .denied, revocationReason: "handed-off")) == nil
        )
        #expect(
            detector.observe(observation(at: 0, token: "t2", outcome: .denied, revocationReason: "handed-off"))?
                .detector == "use-after-close"
        )
        #expect(detector.observe(observation(at: 0, outcome: .denied, revocationReason: "manual")) == nil)
        #expect(detector.observe(observation(at: 0)) == nil)
    }

    @Test("use after close: tolerated 0 reports the first; late requests far apart are each tolerated; clamped")
    func useAfterCloseTolerance() {
        let strict = UseAfterCloseDetector(tolerated: 0)
        #expect(strict.observe(observation(at: 0, outcome: .denied, revocationReason: "timeout")) != nil)
        let lenient = UseAfterCloseDetector(tolerated: 1, window: .seconds(60))
        #expect(lenient.observe(observation(at: 0, outcome: .denied, revocationReason: "timeout")) == nil)
        #expect(
            lenient.observe(observation(at: 120, outcome: .denied, revocationReason: "timeout")) == nil,
            "the first late request fell out of the window"
        )
        #expect(lenient.observe(observation(at: 121, outcome: .denied, revocationReason: "timeout")) != nil)
        let clamped = UseAfterCloseDetector(tolerated: -5)
        #expect(clamped.observe(observation(at: 0, outcome: .denied, revocationReason: "completed")) != nil)
        let huge = UseAfterCloseDetector(tolerated: .max)
        #expect(huge.observe(observation(at: 0, outcome: .denied, revocationReason: "completed")) == nil)
    }

    @Test("resource probing counts distinct resources only")
    func resourceProbe() {
        let detector = ResourceProbeDetector(threshold: 4, window: .seconds(60))
        for _ in 0..<10 { #expect(detector.observe(observation(at: 1, resource: "repo/same")) == nil) }
        #expect(detector.observe(observation(at: 2, resource: "repo/b")) == nil)
        #expect(detector.observe(observation(at: 3, resource: "repo/c")) == nil)
        #expect(detector.observe(observation(at: 4, resource: "repo/d"))?.detector == "resource-probe")
    }

    @Test("state stays bounded under many distinct tokens")
    func bounded() {
        let detector = DenialBurstDetector(threshold: 2, window: .seconds(60))
        for i in 0..<20_000 { _ = detector.observe(observation(at: 0, token: "tok-\(i)", outcome: .denied)) }
        // The first tokens were evicted: one more denial for token 0 does not complete a burst.
        #expect(detector.observe(observation(at: 1, token: "tok-0", outcome: .denied)) == nil)
    }
}
