import Testing
import WritPolicy

@Suite("Decisions")
struct DecisionTests {
    private func decide(_ text: String, _ request: PolicyRequest = Fixture.request) throws -> PolicyDecision {
        try PolicySet(text: text).evaluate(request, entities: Fixture.entities)
    }

    @Test("no policy: default deny with no reasons")
    func defaultDeny() throws {
        let d = try decide("")
        #expect(d.outcome == .deny && d.reasons.isEmpty && d.errors.isEmpty)
    }

    @Test("permits allow and are all named as reasons")
    func permits() throws {
        let d = try decide(
            """
            permit(principal, action, resource);
            permit(principal == User::"bob", action, resource);
            permit(principal in Group::"all", action in Action::"read", resource);
            """
        )
        #expect(d.outcome == .allow)
        #expect(d.reasons == ["policy0", "policy2"])
    }

    @Test("a satisfied forbid wins over any permit, and only forbids are reasons")
    func forbidWins() throws {
        let d = try decide(
            """
            permit(principal, action, resource);
            forbid(principal, action, resource) when { context.n == 5 };
            forbid(principal, action, resource) unless { context.flag };
            """
        )
        #expect(d.outcome == .deny)
        #expect(d.reasons == ["policy1"])
    }

    @Test("a policy whose evaluation errors is skipped and reported — even a forbid")
    func errorsSkip() throws {
        let d = try decide(
            """
            permit(principal, action, resource);
            forbid(principal, action, resource) when { principal.missing };
            permit(principal, action, resource) when { context.big + 1 > 0 };
            """
        )
        #expect(d.outcome == .allow)
        #expect(d.reasons == ["policy0"])
        #expect(d.errors.map(\.policy) == ["policy1", "policy2"])
        #expect(d.errors[0].message.contains("missing"))
    }

    @Test("conditions short-circuit: a false scope or earlier condition hides later errors")
    func shortCircuit() throws {
        let d = try decide(
            """
            permit(principal == User::"bob", action, resource) when { 1 + "a" };
            permit(principal, action, resource) when { false } when { 1 + "a" };
            permit(principal, action, resource) when { false && 1 + "a" };
            permit(principal, action, resource) when { true || 1 + "a" };
            """
        )
        #expect(d.errors.isEmpty)
        #expect(d.reasons == ["policy3"])
    }

    @Test("request variables: principal, action, resource and context are visible")
    func variables() throws {
        let d = try decide(
            """
            permit(principal, action, resource)
            when { principal == User::"alice" && action == Action::"view" && resource == Photo::"p" && context.s == "hello" };
            """
        )
        #expect(d.isAllowed)
    }

    @Test("the index does not change decisions: a seeded random policy set agrees with policies evaluated one by one")
    func indexAgreesWithLinearScan() throws {
        var rng = SplitMix64(seed: 42)
        let principals = ["User::\"alice\"", "User::\"bob\"", "Group::\"staff\"", "Group::\"all\""]
        let actions = ["Action::\"view\"", "Action::\"read\"", "Action::\"edit\""]
        let resources = ["Photo::\"p\"", "Photo::\"q\""]
        func pick(_ xs: [String]) -> String { xs[Int(rng.next() % UInt64(xs.count))] }
        var texts: [String] = []
        for _ in 0..<300 {
            let effect = rng.next() % 4 == 0 ? "forbid" : "permit"
            let p = [
                "principal", "principal == \(pick(principals))", "principal in \(pick(principals))",
                "principal is User", "principal is User in \(pick(principals))",
            ][Int(rng.next() % 5)]
            let a = [
                "action", "action == \(pick(actions))", "action in \(pick(actions))",
                "action in [\(pick(actions)), \(pick(actions))]",
            ][Int(rng.next() % 4)]
            let r = ["resource", "resource == \(pick(resources))", "resource in \(pick(resources))"][
                Int(rng.next() % 3)
            ]
            let c = ["", " when { context.n > \(rng.next() % 10) }", " unless { principal.missing }"][
                Int(rng.next() % 3)
            ]
            texts.append("\(effect)(\(p), \(a), \(r))\(c);")
        }
        let set = try PolicySet(text: texts.joined(separator: "\n"))
        let singles = try texts.map { try PolicySet(text: $0) }
        for principal in [Fixture.alice, Fixture.bob, Fixture.ghost] {
            for action in [Fixture.view, Fixture.read, EntityUID(type: "Action", id: "edit")] {
                for resource in [Fixture.photo, EntityUID(type: "Photo", id: "q")] {
                    let request = PolicyRequest(
                        principal: principal,
                        action: action,
                        resource: resource,
                        context: Fixture.context
                    )
                    var permits: [PolicyID] = []
                    var forbids: [PolicyID] = []
                    var errors: [PolicyID] = []
                    for (i, single) in singles.enumerated() {
                        let d = single.evaluate(request, entities: Fixture.entities)
                        let id = PolicyID("policy\(i)")
                        if !d.errors.isEmpty { errors.append(id) }
                        if !d.reasons.isEmpty { (d.isAllowed ? { permits.append(id) } : { forbids.append(id) })() }
                    }
                    let d = set.evaluate(request, entities: Fixture.entities)
                    #expect(d.errors.map(\.policy) == errors)
                    #expect(d.reasons == (forbids.isEmpty ? permits : forbids))
                    #expect(d.isAllowed == (forbids.isEmpty && !permits.isEmpty))
                }
            }
        }
    }
}

@Suite("JSON formats")
struct JSONFormatTests {
    @Test("entities: uid forms, attrs, parents, tags, __entity and __extn escapes; transitive in")
    func entities() throws {
        let json = """
            [
              {"uid": {"type": "User", "id": "a"}, "attrs": {"m": {"__entity": {"type": "User", "id": "b"}},
                "ip": {"__extn": {"fn": "ip", "arg": "10.0.0.1"}}, "d": {"__extn": {"fn": "decimal", "arg": "1.5"}},
                "later": {"__extn": {"fn": "offset", "args": [{"__extn": {"fn": "datetime", "arg": "2024-01-01"}},
                          {"__extn": {"fn": "duration", "arg": "1d"}}]}},
                "n": -7, "s": "x\\u00e9", "set": [1, 1, 2], "rec": {"k": true}},
               "parents": [{"type": "G", "id": "g1"}], "tags": {"t": "v"}},
              {"uid": {"__entity": {"type": "G", "id": "g1"}}, "parents": [{"type": "G", "id": "g2"}]},
              {"uid": {"type": "G", "id": "g2"}, "attrs": {}, "parents": []}
            ]
            """
        let store = try PolicyEntities(json: Array(json.utf8))
        let a = try #require(store[EntityUID(type: "User", id: "a")])
        #expect(a.attributes["m"] == .entity(EntityUID(type: "User", id: "b")))
        #expect(a.attributes["ip"] == .ipAddress(try #require(IPAddress(parsing: "10.0.0.1"))))
        #expect(a.attributes["d"] == .decimal(CedarDecimal(scaledValue: 15_000)))
        #expect(a.attributes["later"] == .datetime(try #require(CedarDatetime(parsing: "2024-01-02"))))
        #expect(a.attributes["n"] == .long(-7))
        #expect(a.attributes["s"] == .string("x\u{E9}"))
        #expect(a.attributes["set"] == [1, 2])
        #expect(a.tags["t"] == "v")
        #expect(store.isEntity(a.uid, in: EntityUID(type: "G", id: "g2")))
        #expect(store.ancestors(of: a.uid).count == 2)
    }

    @Test(
        "invalid entity JSON is rejected with a typed error",
        arguments: [
            ("{}", PolicyError.Code.invalidData), ("[{\"attrs\": {}}]", .invalidData),
            (
                "[{\"uid\": {\"type\": \"U\", \"id\": \"a\"}}, {\"uid\": {\"type\": \"U\", \"id\": \"a\"}}]",
                .invalidData
            ),
            ("[{\"uid\": {\"type\": \"U\", \"id\": \"a\"}, \"attrs\": {\"x\": 1.5}}]", .invalidData),
            ("[{\"uid\": {\"type\": \"U\", \"id\": \"a\"}, \"attrs\": {\"x\": null}}]", .invalidData),
            ("[{\"uid\": {\"type\": \"U\", \"id\": \"a\"}, \"attrs\": {\"x\": 99999999999999999999}}]", .invalidData),
            (
                "[{\"uid\": {\"type\": \"U\", \"id\": \"a\"}, \"attrs\": {\"x\": {\"__extn\": {\"fn\": \"ip\", \"arg\": \"x\"}}}}]",
                .invalidData
            ),
            ("[{\"uid\": {\"type\": \"1U\", \"id\": \"a\"}}]", .invalidData),
            ("[{\"uid\": {\"type\": \"U\", \"id\": \"a\", \"id\": \"b\"}}]", .invalidJSON),
            ("[1,]", .invalidJSON), ("[\"\\ud800\"]", .invalidJSON), ("[01]", .invalidJSON), ("", .invalidJSON),
            (String(repeating: "[", count: 10_000), .limitExceeded),
        ]
    )
    func invalidEntities(json: String, code: PolicyError.Code) {
        #expect(throws: PolicyError(code, "")) { try PolicyEntities(json: Array(json.utf8)) }
    }

    @Test("requests: object and string entity forms, context")
    func requests() throws {
        let request = try PolicyRequest(
            json: Array(
                """
                {"principal": "User::\\"alice\\"", "action": {"type": "Action", "id": "view"},
                 "resource": {"__entity": {"type": "NS::Photo", "id": "p"}}, "context": {"n": 1}}
                """.utf8
            )
        )
        #expect(request.principal == Fixture.alice)
        #expect(request.action == Fixture.view)
        #expect(request.resource == EntityUID(type: "NS::Photo", id: "p"))
        #expect(request.context["n"] == 1)
        #expect(throws: PolicyError(.invalidData, "")) {
            try PolicyRequest(json: Array("{\"principal\": {\"type\": \"U\", \"id\": \"a\"}}".utf8))
        }
        #expect(throws: PolicyError(.syntax, "")) { try EntityUID(parsing: "User::alice") }
        #expect(try EntityUID(parsing: "A::B::\"x\\ny\"") == EntityUID(type: "A::B", id: "x\ny"))
    }
}
