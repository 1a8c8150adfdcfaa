import WritPolicy

/// What a `when` condition evaluated to.
enum ConditionResult: Equatable, CustomStringConvertible {
    case holds, fails, error

    var description: String {
        switch self {
        case .holds: "holds"
        case .fails: "fails"
        case .error: "error"
        }
    }
}

/// A small shared world for expression tests.
enum Fixture {
    static let alice = EntityUID(type: "User", id: "alice")
    static let bob = EntityUID(type: "User", id: "bob")
    static let ghost = EntityUID(type: "User", id: "ghost")
    static let staff = EntityUID(type: "Group", id: "staff")
    static let everyone = EntityUID(type: "Group", id: "all")
    static let view = EntityUID(type: "Action", id: "view")
    static let read = EntityUID(type: "Action", id: "read")
    static let photo = EntityUID(type: "Photo", id: "p")

    static let entities: PolicyEntities = {
        // Force-try is safe: these literals are fixed and valid.
        try! PolicyEntities([
            PolicyEntity(
                uid: alice,
                attributes: [
                    "name": "alice", "age": 30, "roles": ["admin", "dev"], "manager": .entity(bob),
                    "address": ["city": "Paris", "zip": "75001"], "if": true,
                ],
                parents: [staff]
            ),
            PolicyEntity(uid: bob, attributes: ["name": "bob"]),
            PolicyEntity(uid: staff, parents: [everyone]),
            PolicyEntity(uid: everyone),
            PolicyEntity(uid: view, parents: [read]),
            PolicyEntity(uid: read),
            PolicyEntity(uid: photo, attributes: ["owner": .entity(alice)], tags: ["k": "v", "n": 1]),
        ])
    }()

    static let context: CedarRecord = [
        "n": 5, "s": "hello", "big": .long(Int64.max), "small": .long(Int64.min), "flag": true,
        "set": [1, 2, 3], "rec": ["a": 1],
    ]

    static let request = PolicyRequest(principal: alice, action: view, resource: photo, context: context)

    /// Evaluates `expression` as the only `when` condition of a permit.
    static func condition(_ expression: String) throws -> ConditionResult {
        let set = try PolicySet(text: "permit(principal, action, resource) when { \(expression) };")
        let decision = set.evaluate(request, entities: entities)
        if !decision.errors.isEmpty { return .error }
        return decision.isAllowed ? .holds : .fails
    }

    /// Parses text expecting a syntax error; returns it.
    static func parseError(_ text: String) -> PolicyError? {
        do {
            _ = try PolicySet(text: text)
            return nil
        } catch {
            return error
        }
    }
}
