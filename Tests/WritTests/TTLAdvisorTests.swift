import Testing
import Writ

@Suite("TTL advice")
struct TTLAdvisorTests {
    let t0 = Timestamp(secondsSinceEpoch: 1_767_225_600)

    func at(_ seconds: Double) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + Int64(seconds * 1000))
    }

    func issued(
        _ token: String,
        task: String,
        step: String,
        cls: String,
        at s: Double,
        refreshed: Bool = false
    ) -> AuditEvent {
        AuditEvent(
            refreshed ? .refreshed : .issued,
            time: at(s),
            task: task,
            step: step,
            tokenID: token,
            attributes: ["class": cls, "ttl-ms": "30000"]
        )
    }

    func used(_ token: String, at s: Double) -> AuditEvent {
        AuditEvent(.used, time: at(s), tokenID: token, decision: .allow)
    }

    @Test("step use runs from first issue to last use across refreshes; p99 × margin is the default TTL")
    func advice() {
        var events: [AuditEvent] = []
        // 100 reader steps using their token for 1…100 s.
        for i in 1...100 {
            events.append(issued("r\(i)", task: "t\(i)", step: "read", cls: "reader", at: 0))
            events.append(used("r\(i)", at: Double(i)))
        }
        // One planner step: issued at 0, refreshed at 20 (new token), last used at 50; plus one unused step.
        events += [
            issued("p1", task: "tp", step: "long", cls: "planner", at: 0), used("p1", at: 10),
            issued("p2", task: "tp", step: "long", cls: "planner", at: 20, refreshed: true), used("p2", at: 50),
            issued("p3", task: "tp", step: "idle", cls: "planner", at: 0),
        ]
        let advice = TTLAdvisor(margin: 1.5).advise(events)
        #expect(advice.map(\.agentClass) == ["planner", "reader"])
        let planner = advice[0]
        let reader = advice[1]
        #expect(planner.steps == 1)
        #expect(planner.unusedSteps == 1)
        #expect(planner.maximumUseSeconds == 50)
        #expect(planner.recommendedDefaultTTLSeconds == 75)
        #expect(planner.recommendedMaximumTTLSeconds == 75)
        #expect(planner.meanRefreshes == 0.5)
        #expect(reader.steps == 100)
        #expect(reader.p99UseSeconds == 99)
        #expect(reader.medianUseSeconds == 50)
        #expect(reader.recommendedDefaultTTLSeconds == 149)  // ceil(99 × 1.5)
        #expect(reader.recommendedMaximumTTLSeconds == 150)
        #expect(reader.recommendedRefreshFraction == 0.75)
        #expect(reader.issuedTTLSeconds == 30)
    }

    @Test("a class whose tokens were never used gets no recommendation, only the count of unused steps")
    func noUse() {
        let advice = TTLAdvisor().advise([issued("x", task: "t", step: "s", cls: "idle", at: 0)])
        #expect(advice.count == 1)
        #expect(advice[0].unusedSteps == 1)
        #expect(advice[0].recommendedDefaultTTLSeconds == nil)
        #expect(advice[0].recommendedRefreshFraction == nil)
    }

    @Test("uses of unknown tokens and events without class are ignored")
    func ignoresNoise() {
        let advice = TTLAdvisor().advise([
            used("ghost", at: 5), AuditEvent(.issued, time: at(0), task: "t", step: "s", tokenID: "x"),
        ])
        #expect(advice.isEmpty)
    }
}
