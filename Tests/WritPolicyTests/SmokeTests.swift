import Testing
import WritPolicy

@Suite("Smoke")
struct SmokeTests {
    @Test("a permit allows")
    func permit() throws {
        let set = try PolicySet(text: #"permit(principal == User::"a", action, resource);"#)
        let d = set.evaluate(
            Request(principal: EntityUID(type: "User", id: "a"), action: EntityUID(type: "Action", id: "x"),
                    resource: EntityUID(type: "R", id: "r")), entities: Entities())
        #expect(d.outcome == .allow)
    }
}
