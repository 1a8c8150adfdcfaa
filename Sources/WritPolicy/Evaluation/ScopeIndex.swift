/// Buckets policies by the most selective entity their scope names, so a request visits only policies that
/// could match it. Each policy sits in exactly one bucket kind; `memberOfAny` action lists may put it in
/// several action buckets, so candidates are de-duplicated.
struct ScopeIndex: Sendable {
    private var principalEqual: [EntityUID: [Int]] = [:]
    private var resourceEqual: [EntityUID: [Int]] = [:]
    private var action: [EntityUID: [Int]] = [:]
    private var principalIn: [EntityUID: [Int]] = [:]
    private var resourceIn: [EntityUID: [Int]] = [:]
    private var unindexed: [Int] = []

    init(_ policies: [Policy]) {
        for (i, policy) in policies.enumerated() {
            if case .equal(let uid) = policy.principal {
                principalEqual[uid, default: []].append(i)
            } else if case .equal(let uid) = policy.resource {
                resourceEqual[uid, default: []].append(i)
            } else if case .equal(let uid) = policy.action {
                action[uid, default: []].append(i)
            } else if case .memberOf(let uid) = policy.action {
                action[uid, default: []].append(i)
            } else if case .memberOfAny(let uids) = policy.action, !uids.isEmpty {
                for uid in Set(uids) { action[uid, default: []].append(i) }
            } else if let uid = Self.memberTarget(policy.principal) {
                principalIn[uid, default: []].append(i)
            } else if let uid = Self.memberTarget(policy.resource) {
                resourceIn[uid, default: []].append(i)
            } else {
                unindexed.append(i)
            }
        }
    }

    private static func memberTarget(_ constraint: ScopeConstraint) -> EntityUID? {
        switch constraint {
        case .memberOf(let uid), .isTypeMemberOf(_, let uid): uid
        default: nil
        }
    }

    /// Calls `body` with the index of every policy whose scope might match, in increasing order, once each.
    func forEachCandidate(_ request: Request, _ entities: Entities, _ body: (Int) -> Void) {
        var candidates: [Int] = unindexed
        if let list = principalEqual[request.principal] { candidates += list }
        if let list = resourceEqual[request.resource] { candidates += list }
        if !action.isEmpty {
            if let list = action[request.action] { candidates += list }
            for ancestor in entities.ancestors(of: request.action) {
                if let list = action[ancestor] { candidates += list }
            }
        }
        if !principalIn.isEmpty {
            if let list = principalIn[request.principal] { candidates += list }
            for ancestor in entities.ancestors(of: request.principal) {
                if let list = principalIn[ancestor] { candidates += list }
            }
        }
        if !resourceIn.isEmpty {
            if let list = resourceIn[request.resource] { candidates += list }
            for ancestor in entities.ancestors(of: request.resource) {
                if let list = resourceIn[ancestor] { candidates += list }
            }
        }
        candidates.sort()
        var previous = -1
        for i in candidates where i != previous {
            previous = i
            body(i)
        }
    }
}
