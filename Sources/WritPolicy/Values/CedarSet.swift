/// A Cedar set: distinct values, compared without regard to order.
public struct CedarSet: Hashable, Sendable, Sequence {
    /// The distinct elements, in first-seen order.
    public let elements: [CedarValue]

    /// Creates a set, dropping duplicates.
    public init(_ values: some Sequence<CedarValue>) {
        let all = Array(values)
        if all.count <= 8 {
            var unique: [CedarValue] = []
            unique.reserveCapacity(all.count)
            for value in all where !unique.contains(value) { unique.append(value) }
            elements = unique
            return
        }
        var unique: [CedarValue] = []
        var seen: Set<CedarValue> = []
        for value in all where seen.insert(value).inserted {
            unique.append(value)
        }
        elements = unique
    }

    /// Wraps elements already known to be distinct.
    init(distinct elements: [CedarValue]) { self.elements = elements }

    /// The number of elements.
    public var count: Int { elements.count }
    /// Whether the set has no element.
    public var isEmpty: Bool { elements.isEmpty }

    /// Whether the set holds a value equal to `value`.
    public func contains(_ value: CedarValue) -> Bool {
        for element in elements where element == value { return true }
        return false
    }

    public func makeIterator() -> IndexingIterator<[CedarValue]> { elements.makeIterator() }

    /// Whether every element of `other` is in this set.
    public func isSuperset(of other: CedarSet) -> Bool {
        if other.count > 8 && count > 8 {
            let mine = Set(elements)
            return other.elements.allSatisfy { mine.contains($0) }
        }
        return other.elements.allSatisfy { contains($0) }
    }

    /// Whether some element of `other` is in this set.
    public func intersects(_ other: CedarSet) -> Bool {
        if other.count > 8 && count > 8 {
            let mine = Set(elements)
            return other.elements.contains { mine.contains($0) }
        }
        return other.elements.contains { contains($0) }
    }

    public static func == (lhs: CedarSet, rhs: CedarSet) -> Bool {
        lhs.count == rhs.count && lhs.isSuperset(of: rhs)
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent: combine the sum of element hashes.
        var sum = 0
        for element in elements { sum &+= element.hashValue }
        hasher.combine(count)
        hasher.combine(sum)
    }
}
