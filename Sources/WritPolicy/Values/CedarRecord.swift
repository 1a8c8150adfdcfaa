/// A Cedar record: string keys (compared by Unicode scalars) mapped to values.
///
/// Entries are kept sorted by key bytes, so lookups are a binary search and equality is positional.
public struct CedarRecord: Hashable, Sendable, ExpressibleByDictionaryLiteral {
    /// The entries, sorted by key (UTF-8 byte order).
    public let entries: [(key: String, value: CedarValue)]

    /// An empty record.
    public init() { entries = [] }

    /// Creates a record; a later entry with the same key replaces an earlier one.
    public init(_ pairs: some Sequence<(String, CedarValue)>) {
        var sorted = pairs.map { (key: $0.0, value: $0.1) }
        // Fast path: already strictly ordered (as built by code that knows its keys).
        var ordered = true
        for i in sorted.indices.dropFirst() where ScalarText.compare(sorted[i - 1].key, sorted[i].key) >= 0 {
            ordered = false
            break
        }
        if ordered {
            entries = sorted
            return
        }
        // Stable sort keeps the later duplicate after the earlier one.
        sorted = sorted.enumerated().sorted { a, b in
            let c = ScalarText.compare(a.element.key, b.element.key)
            return c != 0 ? c < 0 : a.offset < b.offset
        }.map(\.element)
        var unique: [(key: String, value: CedarValue)] = []
        unique.reserveCapacity(sorted.count)
        for entry in sorted {
            if let last = unique.last, ScalarText.equal(last.key, entry.key) {
                unique[unique.count - 1] = entry
            } else {
                unique.append(entry)
            }
        }
        entries = unique
    }

    /// Wraps entries the caller guarantees are strictly ordered by key bytes.
    init(orderedEntries: [(key: String, value: CedarValue)]) { entries = orderedEntries }

    /// Creates a record from pairs whose keys are distinct (a later duplicate replaces an earlier one).
    public init(uniqueKeysWithValues pairs: some Sequence<(String, CedarValue)>) { self.init(pairs) }

    /// Creates a record from a dictionary literal.
    public init(dictionaryLiteral elements: (String, CedarValue)...) { self.init(elements) }

    /// Creates a record from a dictionary.
    public init(_ dictionary: [String: CedarValue]) { self.init(dictionary.map { ($0.key, $0.value) }) }

    /// The number of entries.
    public var count: Int { entries.count }

    /// The value for `key`, or `nil`.
    public subscript(key: String) -> CedarValue? {
        if entries.count <= 8 {
            // Small records: a scan whose length check rejects most keys without reading them.
            for entry in entries where ScalarText.equal(entry.key, key) { return entry.value }
            return nil
        }
        var low = 0
        var high = entries.count - 1
        while low <= high {
            let mid = (low + high) >> 1
            let c = ScalarText.compare(entries[mid].key, key)
            if c == 0 { return entries[mid].value }
            if c < 0 { low = mid + 1 } else { high = mid - 1 }
        }
        return nil
    }

    /// Whether the record has `key`.
    public func contains(_ key: String) -> Bool { self[key] != nil }

    /// A copy with `key` set to `value`.
    public func setting(_ key: String, to value: CedarValue) -> CedarRecord {
        CedarRecord(entries.map { ($0.key, $0.value) } + [(key, value)])
    }

    public static func == (lhs: CedarRecord, rhs: CedarRecord) -> Bool {
        guard lhs.entries.count == rhs.entries.count else { return false }
        for (a, b) in zip(lhs.entries, rhs.entries) {
            guard ScalarText.equal(a.key, b.key), a.value == b.value else { return false }
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(entries.count)
        for entry in entries {
            ScalarText.hash(entry.key, into: &hasher)
            hasher.combine(entry.value)
        }
    }
}
