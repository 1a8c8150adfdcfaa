/// Buckets policies by the most selective entity their scope names, so a request visits only policies that
/// could match it: those keyed by the request's principal, resource or action, or by one of their ancestors,
/// plus the few policies whose scope names no entity. Each policy sits in exactly one bucket kind;
/// `in [list]` action scopes may put it in several action buckets, so candidates are de-duplicated.
struct ScopeIndex: Sendable {
    private var principalEqual: [EntityUID: [Int]] = [:]
    private var resourceEqual: [EntityUID: [Int]] = [:]
    private var action: [EntityUID: [Int]] = [:]
    private var principalIn: [EntityUID: [Int]] = [:]
    private var resourceIn: [EntityUID: [Int]] = [:]
    private var unindexed: [Int] = []

    private enum Kind { case principalEqual, resourceEqual, action, principalIn, resourceIn }

    /// Places each policy in the bucket kind where it shares its key with the fewest other policies, so
    /// coarse keys (an action every policy names, an agent class) lose to fine ones (a project, a resource).
    init(_ policies: [CedarPolicy]) {
        var options: [[(kind: Kind, keys: [EntityUID])]] = []
        options.reserveCapacity(policies.count)
        var counts: [Kind: [EntityUID: Int]] = [:]
        for policy in policies {
            var choices: [(kind: Kind, keys: [EntityUID])] = []
            if case .equal(let uid) = policy.principal { choices.append((.principalEqual, [uid])) }
            if case .equal(let uid) = policy.resource { choices.append((.resourceEqual, [uid])) }
            switch policy.action {
            case .equal(let uid), .memberOf(let uid): choices.append((.action, [uid]))
            case .memberOfAny(let uids) where !uids.isEmpty: choices.append((.action, Array(Set(uids))))
            default: break
            }
            if let uid = Self.memberTarget(policy.principal) { choices.append((.principalIn, [uid])) }
            if let uid = Self.memberTarget(policy.resource) { choices.append((.resourceIn, [uid])) }
            for choice in choices {
                for key in choice.keys { counts[choice.kind, default: [:]][key, default: 0] += 1 }
            }
            options.append(choices)
        }
        for (i, choices) in options.enumerated() {
            let best = choices.min { a, b in
                a.keys.reduce(0) { $0 + (counts[a.kind]?[$1] ?? 0) }
                    < b.keys.reduce(0) { $0 + (counts[b.kind]?[$1] ?? 0) }
            }
            guard let best else {
                unindexed.append(i)
                continue
            }
            for key in best.keys {
                switch best.kind {
                case .principalEqual: principalEqual[key, default: []].append(i)
                case .resourceEqual: resourceEqual[key, default: []].append(i)
                case .action: action[key, default: []].append(i)
                case .principalIn: principalIn[key, default: []].append(i)
                case .resourceIn: resourceIn[key, default: []].append(i)
                }
            }
        }
    }

    private static func memberTarget(_ constraint: ScopeConstraint) -> EntityUID? {
        switch constraint {
        case .memberOf(let uid), .isTypeMemberOf(_, let uid): uid
        default: nil
        }
    }

    /// The position of every policy whose scope might match, in increasing order, each once.
    func candidates(_ evaluator: Evaluator) -> [Int] {
        let request = evaluator.request
        var candidates: [Int] = []
        candidates.reserveCapacity(unindexed.count + 16)
        candidates += unindexed
        if let list = principalEqual[request.principal] { candidates += list }
        if let list = resourceEqual[request.resource] { candidates += list }
        if !action.isEmpty {
            if let list = action[request.action] { candidates += list }
            for ancestor in evaluator.actionAncestors {
                if let list = action[ancestor] { candidates += list }
            }
        }
        if !principalIn.isEmpty {
            if let list = principalIn[request.principal] { candidates += list }
            for ancestor in evaluator.principalAncestors {
                if let list = principalIn[ancestor] { candidates += list }
            }
        }
        if !resourceIn.isEmpty {
            if let list = resourceIn[request.resource] { candidates += list }
            for ancestor in evaluator.resourceAncestors {
                if let list = resourceIn[ancestor] { candidates += list }
            }
        }
        if candidates.count > unindexed.count {
            candidates.sort()
            // Remove duplicates (an `in [list]` action scope can be reached through two of its actions).
            var write = 0
            for read in candidates.indices where read == 0 || candidates[read] != candidates[read - 1] {
                candidates[write] = candidates[read]
                write += 1
            }
            candidates.removeLast(candidates.count - write)
        }
        return candidates
    }
}
