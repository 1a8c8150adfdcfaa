import Testing
import WritPolicy

@Suite("Parser")
struct ParserTests {
    @Test("scope forms parse into constraints")
    func scopes() throws {
        let set = try PolicySet(
            text: """
                permit(principal, action, resource);
                permit(principal == User::"a", action == Action::"v", resource == Photo::"p");
                permit(principal in Group::"g", action in Action::"r", resource in Album::"x");
                permit(principal is User, action in [Action::"v", Action::"w"], resource is Photo in Album::"x");
                forbid(principal is NS::User in NS::Group::"g", action in NS::Action::"r", resource is Photo);
                permit(principal, action in [], resource);
                """
        )
        #expect(set.count == 6)
        #expect(set.policies[0].principal == .any)
        #expect(set.policies[1].principal == .equal(EntityUID(type: "User", id: "a")))
        #expect(set.policies[1].action == .equal(EntityUID(type: "Action", id: "v")))
        #expect(set.policies[2].resource == .memberOf(EntityUID(type: "Album", id: "x")))
        #expect(set.policies[3].principal == .isType("User"))
        #expect(
            set.policies[3].action
                == .memberOfAny([EntityUID(type: "Action", id: "v"), EntityUID(type: "Action", id: "w")])
        )
        #expect(set.policies[3].resource == .isTypeMemberOf("Photo", EntityUID(type: "Album", id: "x")))
        #expect(set.policies[4].effect == .forbid)
        #expect(set.policies[4].principal == .isTypeMemberOf("NS::User", EntityUID(type: "NS::Group", id: "g")))
        #expect(set.policies[5].action == .memberOfAny([]))
        #expect(set.policies.map(\.id) == ["policy0", "policy1", "policy2", "policy3", "policy4", "policy5"])
    }

    @Test("annotations are kept, @id does not change the positional id, comments are ignored")
    func annotations() throws {
        let set = try PolicySet(
            text: """
                // a comment
                @id("read-own") @advice("x\\ny")
                @flag
                permit(principal, action, resource) // trailing
                when { true } unless { false };
                """
        )
        let policy = try #require(set.policies.first)
        #expect(policy.id == "policy0")
        #expect(policy.annotation("id") == "read-own")
        #expect(policy.annotation("advice") == "x\ny")
        #expect(policy.annotation("flag") == "")
        #expect(policy.line == 2)
    }

    @Test(
        "syntax errors carry line and column",
        arguments: [
            ("permit(principal, action, resource)", 1, 36),  // missing ';'
            ("permit(principal, action, resource) when { 1 +  };", 1, 49),
            ("permit(\n  principal == User::\"a\",\n  action,\n  resource\n) when { principal.name = \"x\" };", 5, 25),
            ("permit(principal, action, resource) when { \"\\q\" };", 1, 44),
            ("permit(principal, action, resource) when { \"open };", 1, 44),
            ("grant(principal, action, resource);", 1, 1),
            ("permit(action, principal, resource);", 1, 8),
            ("permit(principal, action, resource) when { 1 < 2 < 3 };", 1, 50),
            ("permit(principal, action, resource) when { 9223372036854775808 == 1 };", 1, 44),
            ("permit(principal, action, resource) when { !!!!!true };", 1, 44),
            ("permit(principal, action, resource) when { foo };", 1, 44),
            ("permit(principal, action, resource) when { 4 / 2 == 2 };", 1, 46),
            ("permit(principal, action, resource) when { [1].frobnicate() };", 1, 48),
            ("permit(principal, action, resource) when { unknown(\"x\") };", 1, 44),
            ("permit(principal, action, resource) when { {a: 1, a: 2} == {} };", 1, 51),
            ("permit(principal, action, resource) when { context[1] };", 1, 52),
            ("permit(principal, action, resource) when { };", 1, 44),
            ("permit(principal == ?principal, action, resource);", 1, 21),
            ("permit(principal in [User::\"a\"], action, resource);", 1, 21),
            ("permit(principal, action == User::\"a\", resource);", 1, 29),
            ("permit(principal, action is Action, resource);", 1, 26),
            ("permit(principal, action, resource, context);", 1, 35),
            ("@id(\"a\") @id(\"b\") permit(principal, action, resource);", 1, 11),
            ("permit(principal, action, resource) when { context.s like 1 };", 1, 59),
            ("permit(principal, action, resource) when { 1 + if true then 1 else 2 };", 1, 48),
            ("permit(principal, action, resource) when { principal.if };", 1, 54),
            ("permit(principal, action, resource) when { # };", 1, 44),
            ("permit(principal, action, resource) when { !-1 };", 1, 45),
            ("permit(principal, action, resource) when { principal has if };", 1, 58),
            ("permit(principal, action, resource) when { {then: 1} == {} };", 1, 45),
            ("@in(\"x\") permit(principal, action, resource);", 1, 2),
            ("permit(principal is like, action, resource);", 1, 21),
            ("permit(principal, action, resource) when { has::\"x\" == 1 };", 1, 44),
        ]
    )
    func syntaxErrors(text: String, line: Int, column: Int) throws {
        let error = try #require(Fixture.parseError(text), "\(text)")
        #expect(error.code == .syntax, "\(text): \(error)")
        #expect(error.line == line && error.column == column, "\(text): \(error)")
    }

    @Test("@checkpoint on a permit is rejected")
    func checkpointOnPermit() throws {
        let error = try #require(Fixture.parseError("@checkpoint(\"x\") permit(principal, action, resource);"))
        #expect(error.code == .invalidAnnotation)
    }

    @Test("hostile input: deep nesting and long chains get limitExceeded, never a crash")
    func nestingCap() throws {
        let deep = String(repeating: "(", count: 100_000) + "true" + String(repeating: ")", count: 100_000)
        #expect(Fixture.parseError("permit(principal, action, resource) when { \(deep) };")?.code == .limitExceeded)
        let sets = String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000)
        #expect(Fixture.parseError("permit(principal, action, resource) when { \(sets) };")?.code == .limitExceeded)
        let chain = "context" + String(repeating: ".a", count: 10_000)
        #expect(Fixture.parseError("permit(principal, action, resource) when { \(chain) };")?.code == .limitExceeded)
        let sum = (0..<10_000).map(String.init).joined(separator: " + ")
        #expect(Fixture.parseError("permit(principal, action, resource) when { \(sum) > 0 };")?.code == .limitExceeded)
        let nots = String(repeating: "!(", count: 10_000) + "true" + String(repeating: ")", count: 10_000)
        #expect(Fixture.parseError("permit(principal, action, resource) when { \(nots) };")?.code == .limitExceeded)
    }

    @Test("expressions just under the nesting cap parse and evaluate")
    func atTheCap() throws {
        let nots = String(repeating: "!(", count: 30) + "true" + String(repeating: ")", count: 30)
        #expect(try Fixture.condition(nots) == .holds)
        let sets = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        #expect(try Fixture.condition("\(sets) == \(sets)") == .holds)
    }

    @Test("long && and || chains are flat, so they are not limited by nesting")
    func flatChains() throws {
        let ors = (0..<5_000).map { "context.n == \($0)" }.joined(separator: " || ")
        #expect(try Fixture.condition(ors) == .holds)
        let ands = Array(repeating: "true", count: 5_000).joined(separator: " && ")
        #expect(try Fixture.condition(ands) == .holds)
    }

    @Test("text over the size cap is refused before parsing")
    func sizeCap() {
        let text = String(repeating: " ", count: 2_000)
        #expect(throws: PolicyError(.limitExceeded, "")) {
            try PolicySet(text: text, limits: PolicySet.Limits(maxTextBytes: 1_000))
        }
    }

    @Test("seeded fuzzing: mutated policy text never crashes the parser or evaluator")
    func fuzz() {
        let seeds = [
            #"permit(principal == User::"a", action in [Action::"v"], resource) when { context.n + 1 > 2 && principal has name };"#,
            #"@id("x") forbid(principal is User in Group::"g", action, resource) unless { [1, {a: "b"}].contains(ip("1.2.3.4")) || decimal("1.0").lessThan(decimal("2.0")) };"#,
        ]
        let alphabet = Array("()[]{}\"\\:;,.!-+*<>=&|@?_aZ09 \n\u{0}é".unicodeScalars)
        var rng = SplitMix64(seed: 0x5EED)
        for i in 0..<3_000 {
            var scalars = Array(seeds[i % seeds.count].unicodeScalars)
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let position = Int(rng.next() % UInt64(scalars.count))
                switch rng.next() % 3 {
                case 0: scalars.remove(at: position)
                case 1: scalars.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: position)
                default: scalars[position] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                }
            }
            var text = String.UnicodeScalarView()
            text.append(contentsOf: scalars)
            if let set = try? PolicySet(text: String(text)) {
                _ = set.evaluate(Fixture.request, entities: Fixture.entities)
            }
        }
    }
}

/// A small deterministic generator for seeded tests.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
