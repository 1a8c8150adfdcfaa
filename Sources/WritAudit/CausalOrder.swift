import WritCrypto

/// The causal order of one millisecond's timeline rows (see ``ForensicTimeline``): a topological sort of the links
/// between events, taking the earliest row in the fallback order (service, then index) whenever several are ready.
enum CausalOrder {
    /// Sorts `rows`, which arrive in the fallback order.
    static func sort(_ rows: [ForensicTimeline.Row]) -> [ForensicTimeline.Row] {
        let edges = links(rows)
        var indegree = [Int](repeating: 0, count: rows.count)
        for targets in edges { for target in targets { indegree[target] += 1 } }
        var ready = MinHeap()
        for node in rows.indices where indegree[node] == 0 { ready.push(node) }
        var placed = [Bool](repeating: false, count: rows.count)
        var order: [ForensicTimeline.Row] = []
        order.reserveCapacity(rows.count)
        var nextUnplaced = 0
        while order.count < rows.count {
            let node: Int
            if let next = ready.pop() {
                node = next
            } else {
                // A cycle (contradictory links): break it at the earliest unplaced row.
                while placed[nextUnplaced] { nextUnplaced += 1 }
                node = nextUnplaced
            }
            guard !placed[node] else { continue }
            placed[node] = true
            order.append(rows[node])
            for target in edges[node] where !placed[target] {
                indegree[target] -= 1
                if indegree[target] == 0 { ready.push(target) }
            }
        }
        return order
    }

    /// For each row, the rows it must precede. The number of links is linear in the rows, plus one per row naming
    /// a token for each event that originates that token (usually one).
    static func links(_ rows: [ForensicTimeline.Row]) -> [[Int]] {
        var edges = [[Int]](repeating: [], count: rows.count)
        var lastOfService: [String: Int] = [:]
        var origins: [String: [Int]] = [:]  // token → its issue / delegation / refresh rows
        var anomalies: [RevocationID: [Int]] = [:]  // block → anomaly rows
        var revocations: [RevocationID: [Int]] = [:]  // block → revocation rows
        var openings: [String: [Int]] = [:]  // task → task-opened rows
        for (node, row) in rows.enumerated() {
            if let previous = lastOfService[row.service] { edges[previous].append(node) }
            lastOfService[row.service] = node
            let event = row.event
            switch event.kind {
            case .issued, .delegated, .refreshed:
                if let token = event.tokenID { origins[token, default: []].append(node) }
            case .anomaly:
                if let block = event.revocationID { anomalies[block, default: []].append(node) }
            case .revoked:
                if let block = event.revocationID { revocations[block, default: []].append(node) }
            case .taskOpened:
                if let task = event.task { openings[task, default: []].append(node) }
            default: break
            }
        }
        for (node, row) in rows.enumerated() {
            let event = row.event
            let originates = [.issued, .delegated, .refreshed].contains(event.kind)
            if let token = event.tokenID, !originates {
                for origin in origins[token] ?? [] where origin != node { edges[origin].append(node) }
            }
            if let parent = event.parentTokenID, parent != event.tokenID {
                for origin in origins[parent] ?? [] where origin != node { edges[origin].append(node) }
            }
            if let block = event.revocationID {
                if event.kind == .revoked {
                    for anomaly in anomalies[block] ?? [] { edges[anomaly].append(node) }
                } else if event.kind == .denied {
                    for revocation in revocations[block] ?? [] { edges[revocation].append(node) }
                }
            }
            if let task = event.task, event.kind != .taskOpened {
                for opening in openings[task] ?? [] { edges[opening].append(node) }
            }
        }
        return edges
    }
}

/// A binary min-heap of row positions: the ready rows, earliest in the fallback order first.
private struct MinHeap {
    private var items: [Int] = []

    mutating func push(_ item: Int) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Int? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < items.count, items[left] < items[smallest] { smallest = left }
                if right < items.count, items[right] < items[smallest] { smallest = right }
                if smallest == parent { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first
    }
}
