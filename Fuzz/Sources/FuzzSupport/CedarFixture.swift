public import WritPolicy

/// Fixed Cedar inputs: policy text touching most of the language, entities and a request in Cedar's JSON
/// formats, and their parsed forms. The texts are also the Cedar harnesses' seeds.
public enum CedarFixture {
    /// Policies using scopes, `when`/`unless`, annotations, `has`, `like`, `is`, `in`, sets, records, tags,
    /// `if`, arithmetic and every extension type.
    public static let policies = """
        @id("owner-views")
        permit (principal, action in [Action::"view", Action::"edit"], resource is Photo)
        when { resource.owner == principal && principal.age >= 18 && context.n + 1 > 5 };

        @id("staff-in-paris")
        permit (principal in Group::"staff", action == Action::"view", resource in Album::"trip")
        when { principal has address && principal.address.city like "Par*" && principal.roles.contains("dev") };

        @checkpoint("edits need an approval")
        forbid (principal, action == Action::"edit", resource)
        unless { context.approvals.containsAny(["edit", "all"]) };

        permit (principal == User::"bob", action, resource == Photo::"p")
        when {
            resource.hasTag("k") && resource.getTag("k") == "v" && context.set.containsAll([1, 2]) &&
            (if context.flag then context.rec.a * 2 == 2 else !context.set.isEmpty())
        };

        forbid (principal, action, resource)
        when {
            ip(context.ip).isInRange(ip("10.0.0.0/8")) || ip(context.ip).isLoopback() ||
            decimal(context.amount).greaterThan(decimal("100.25")) ||
            datetime(context.at).offset(duration("1h30m")) > datetime("2026-01-01T12:00:00Z") ||
            datetime("2026-01-01").durationSince(datetime(context.at)).toMinutes() > context.n * 1000
        };
        """

    /// Entities in Cedar's JSON format, with entity references, records, sets, tags and an extension value.
    public static let entitiesJSON = """
        [
          {"uid": {"type": "User", "id": "alice"},
           "attrs": {"age": 30, "name": "alice", "roles": ["admin", "dev"],
                     "manager": {"__entity": {"type": "User", "id": "bob"}},
                     "address": {"city": "Paris", "zip": "75001"},
                     "home": {"__extn": {"fn": "ip", "arg": "192.168.0.1"}}},
           "parents": [{"type": "Group", "id": "staff"}]},
          {"uid": {"type": "User", "id": "bob"}, "attrs": {"age": 17}, "parents": ["Group::\\"all\\""]},
          {"uid": {"type": "Group", "id": "staff"}, "parents": [{"type": "Group", "id": "all"}]},
          {"uid": {"type": "Group", "id": "all"}},
          {"uid": {"type": "Album", "id": "trip"}},
          {"uid": {"type": "Photo", "id": "p"}, "attrs": {"owner": {"type": "User", "id": "alice"}},
           "parents": [{"type": "Album", "id": "trip"}], "tags": {"k": "v", "n": 1}},
          {"uid": {"type": "Action", "id": "view"}, "parents": [{"type": "Action", "id": "read"}]},
          {"uid": {"type": "Action", "id": "read"}}
        ]
        """

    /// A request in Cedar's JSON format, with a context of every value kind the policies read.
    public static let requestJSON = """
        {"principal": {"type": "User", "id": "alice"}, "action": "Action::\\"view\\"",
         "resource": {"type": "Photo", "id": "p"},
         "context": {"n": 5, "flag": true, "set": [1, 2, 3], "rec": {"a": 1}, "approvals": ["edit"],
                     "ip": "192.0.2.1", "amount": "99.5", "at": "2026-01-01T10:00:00.000Z",
                     "big": 9223372036854775807, "small": -9223372036854775808,
                     "when": {"__extn": {"fn": "datetime", "arg": "2026-01-01T00:00:00+0100"}},
                     "limit": {"__extn": {"fn": "decimal", "arg": "-922337203685477.5808"}}}}
        """

    /// ``policies`` parsed.
    public static let policySet = try! PolicySet(text: policies)
    /// ``entitiesJSON`` parsed.
    public static let entities = try! PolicyEntities(json: entitiesJSON.utf8)
    /// ``requestJSON`` parsed, and the same request from bob for `edit`.
    public static let requests: [PolicyRequest] = {
        let request = try! PolicyRequest(json: requestJSON.utf8)
        var other = request
        other.principal = EntityUID(type: "User", id: "bob")
        other.action = EntityUID(type: "Action", id: "edit")
        return [request, other]
    }()
}
