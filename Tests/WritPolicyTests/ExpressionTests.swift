import Testing
import WritPolicy

@Suite("Expressions")
struct ExpressionTests {
    @Test(
        "literals, operators and precedence",
        arguments: [
            ("true", ConditionResult.holds), ("false", .fails), ("1 == 1", .holds), ("1 != 2", .holds),
            ("\"a\" == \"a\"", .holds), ("1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 3", .holds), ("1 + 2 * 3 == 7", .holds),
            ("(1 + 2) * 3 == 9", .holds), ("10 - 3 - 2 == 5", .holds), ("-5 == 0 - 5", .holds), ("--5 == 5", .holds),
            ("-9223372036854775808 == context.small", .holds), ("!false", .holds), ("!!true", .holds),
            ("!!!!true", .holds), ("1 == \"1\"", .fails), ("true || 1", .holds), ("false && 1", .fails),
            ("if true then 1 == 1 else 1", .holds), ("if false then 1 else 2 == 2", .holds),
            ("if 1 then true else true", .error), ("true && 1", .error), ("false || 1", .error), ("!1", .error),
            ("-\"a\" == 1", .error), ("\"a\" < \"b\"", .error), ("1 + true == 2", .error),
            ("context.big + 1 > 0", .error), ("context.small - 1 < 0", .error), ("context.big * 2 > 0", .error),
            ("-context.small > 0", .error), ("context.big * 1 == context.big", .holds),
            ("[1, 2] == [2, 1, 1]", .holds), ("{a: 1, \"b\": 2} == {b: 2, a: 1}", .holds), ("[] == []", .holds),
            ("{} == {}", .holds), ("[1] == {}", .fails), ("\"\\u{e9}\" == \"é\"", .holds),
            ("\"\\u{e9}\" == \"e\\u{301}\"", .fails), ("\"a\\tb\" like \"a\\tb\"", .holds),
            ("\"\\\"\\\\\\'\\0\\n\\r\" == \"\\\"\\\\'\\0\\n\\r\"", .holds),
        ]
    )
    func operators(expression: String, expected: ConditionResult) throws {
        #expect(try Fixture.condition(expression) == expected, "\(expression)")
    }

    @Test(
        "attributes, has, like, in, is, sets, records and tags",
        arguments: [
            ("principal.name == \"alice\"", ConditionResult.holds), ("principal[\"name\"] == \"alice\"", .holds),
            ("principal.address.city == \"Paris\"", .holds), ("principal has name", .holds),
            ("principal has \"name\"", .holds), ("principal has missing", .fails), ("principal.missing == 1", .error),
            ("principal has address.city", .holds), ("principal has address.country", .fails),
            ("principal has missing.city", .fails), ("principal[\"if\"]", .holds), ("principal has \"if\"", .holds),
            ("User::\"ghost\" has name", .fails), ("User::\"ghost\".name == 1", .error), ("1 has a", .error),
            ("context has n && context.n == 5", .holds), ("context.rec.a == 1", .holds),
            ("context.s like \"h*o\"", .holds), ("context.s like \"*\"", .holds), ("context.s like \"h*x\"", .fails),
            ("\"a*b\" like \"a\\*b\"", .holds), ("\"axb\" like \"a\\*b\"", .fails), ("1 like \"*\"", .error),
            ("principal in Group::\"staff\"", .holds), ("principal in Group::\"all\"", .holds),
            ("principal in User::\"alice\"", .holds), ("principal in Group::\"other\"", .fails),
            ("principal in [Group::\"other\", Group::\"all\"]", .holds), ("principal in [Group::\"other\", 1]", .error),
            ("principal in 1", .error), ("1 in Group::\"all\"", .error), ("User::\"ghost\" in Group::\"all\"", .fails),
            ("User::\"ghost\" in User::\"ghost\"", .holds), ("action in Action::\"read\"", .holds),
            ("principal is User", .holds), ("principal is Group", .fails),
            ("principal is User in Group::\"all\"", .holds),
            ("principal is Group in Group::\"all\"", .fails), ("1 is User", .error),
            ("principal.roles.contains(\"admin\")", .holds), ("principal.roles.contains(1)", .fails),
            ("principal.roles.containsAll([\"admin\"])", .holds),
            ("principal.roles.containsAll([\"x\", \"admin\"])", .fails),
            ("principal.roles.containsAny([\"x\", \"admin\"])", .holds), ("[].isEmpty()", .holds),
            ("[1].isEmpty()", .fails), ("1.contains(1)", .error), ("[1].containsAll(1)", .error),
            ("resource.getTag(\"k\") == \"v\"", .holds), ("resource.hasTag(\"k\")", .holds),
            ("resource.hasTag(\"x\")", .fails), ("resource.getTag(\"x\") == 1", .error), ("resource.hasTag(1)", .error),
            ("User::\"ghost\".hasTag(\"k\")", .fails), ("resource.owner == principal", .holds),
            ("principal.manager.name == \"bob\"", .holds), ("Photos::Album::\"x\" is Photos::Album", .holds),
        ]
    )
    func entitiesAndCollections(expression: String, expected: ConditionResult) throws {
        #expect(try Fixture.condition(expression) == expected, "\(expression)")
    }

    @Test(
        "extension types: decimal, ip, datetime, duration",
        arguments: [
            ("decimal(\"1.5\").lessThan(decimal(\"1.51\"))", ConditionResult.holds),
            ("decimal(\"-1.0\").lessThanOrEqual(decimal(\"-1.0000\"))", .holds),
            ("decimal(\"2.0\").greaterThan(decimal(\"1.9999\"))", .holds),
            ("decimal(\"2.0\").greaterThanOrEqual(decimal(\"2.00\"))", .holds),
            ("decimal(\"1.0\") == decimal(\"1.0000\")", .holds), ("decimal(\"1.00000\") == decimal(\"1.0\")", .error),
            ("decimal(\"1\") == decimal(\"1.0\")", .error),
            ("decimal(\"922337203685477.5808\") == decimal(\"1.0\")", .error),
            ("decimal(\"-922337203685477.5808\").lessThan(decimal(\"0.0\"))", .holds),
            ("decimal(\"1.0\") < decimal(\"2.0\")", .error), ("decimal(1)", .error),
            ("ip(\"10.0.0.1\").isInRange(ip(\"10.0.0.0/8\"))", .holds), ("ip(\"10.0.0.1\").isIpv4()", .holds),
            ("ip(\"::1\").isIpv6()", .holds), ("ip(\"::1\").isLoopback()", .holds),
            ("ip(\"127.1.2.3\").isLoopback()", .holds), ("ip(\"224.0.0.1\").isMulticast()", .holds),
            ("ip(\"ff02::1\").isMulticast()", .holds), ("ip(\"10.0.0.1\").isInRange(ip(\"::/0\"))", .fails),
            ("ip(\"01.0.0.1\").isIpv4()", .error), ("ip(\"1.2.3.4/33\").isIpv4()", .error),
            ("ip(\"::ffff:1.2.3.4\").isIpv6()", .error), ("ip(\"1::2::3\").isIpv6()", .error),
            ("ip(\"1.2.3.4/24\") == ip(\"1.2.3.4/24\")", .holds), ("ip(\"1.2.3.4/24\") == ip(\"1.2.3.0/24\")", .fails),
            ("ip(\"1.2.3.4\").isInRange(1)", .error), ("ip(\"1.2.3.4\").isLoopback(1)", .error),
            ("datetime(\"2024-10-15\") < datetime(\"2024-10-15T00:00:00.001Z\")", .holds),
            ("datetime(\"2024-10-15T11:35:00+0100\") == datetime(\"2024-10-15T10:35:00Z\")", .holds),
            ("datetime(\"2024-02-30\") == datetime(\"2024-03-01\")", .error),
            ("datetime(\"2024-10-15T11:35:60Z\") == datetime(\"2024-10-15\")", .error),
            ("datetime(\"2024-10-15\").offset(duration(\"1d\")) == datetime(\"2024-10-16\")", .holds),
            ("datetime(\"2024-10-16\").durationSince(datetime(\"2024-10-15\")) == duration(\"24h\")", .holds),
            ("datetime(\"2024-10-15T11:35:00Z\").toDate() == datetime(\"2024-10-15\")", .holds),
            ("datetime(\"1969-12-31T23:00:00Z\").toDate() == datetime(\"1969-12-31\")", .holds),
            ("datetime(\"2024-10-15T11:35:00Z\").toTime() == duration(\"11h35m\")", .holds),
            ("duration(\"1d2h3m4s5ms\").toMilliseconds() == 93784005", .holds),
            ("duration(\"-90m\").toHours() == -1", .holds), ("duration(\"90s\").toMinutes() == 1", .holds),
            ("duration(\"2d\").toDays() == 2", .holds), ("duration(\"1500ms\").toSeconds() == 1", .holds),
            ("duration(\"1h1d\") == duration(\"25h\")", .error), ("duration(\"\") == duration(\"1s\")", .error),
            ("duration(\"1s\") < duration(\"1001ms\")", .holds),
            ("duration(\"9223372036854775807d\") == duration(\"1s\")", .error),
            ("datetime(\"2024-10-15\").offset(1)", .error),
        ]
    )
    func extensions(expression: String, expected: ConditionResult) throws {
        #expect(try Fixture.condition(expression) == expected, "\(expression)")
    }

    @Test("strings compare by Unicode scalars everywhere: literals, entity ids and record keys")
    func scalarComparison() throws {
        let composed = "\u{E9}"
        let decomposed = "e\u{301}"
        #expect(CedarValue.string(composed) != CedarValue.string(decomposed))
        #expect(EntityUID(type: "User", id: composed) != EntityUID(type: "User", id: decomposed))
        let record = CedarRecord([(composed, CedarValue.long(1)), (decomposed, CedarValue.long(2))])
        #expect(record.count == 2)
        #expect(record[composed] == .long(1))
        #expect(record[decomposed] == .long(2))
    }
}
