import WritCrypto

/// A compact hash map from ``RevocationID`` to ``RevocationRecord``: bucketised cuckoo hashing.
///
/// Each key lives in one of two buckets of four slots, chosen by a keyed SipHash (Swift's `Hasher` with a
/// per-table random seed, so ids chosen by an attacker cannot be made to collide). A bucket's four 16-byte keys
/// fill exactly one 64-byte cache line, so a lookup reads at most two cache lines of keys and touches the record
/// columns only on a hit. Cuckoo hashing stays fast up to 90% load, and the table grows by a quarter at a time,
/// so memory is 41 bytes per slot ÷ a load of 72–90% ≈ 46–57 bytes per revoked id.
///
/// The all-zero id marks an empty slot; the (astronomically unlikely) zero id itself is kept aside.
///
/// Thread safety (why `@unchecked Sendable` is sound): the table has no internal locking and is shared only by
/// ``RevocationSnapshot``, which keeps this discipline — every mutation happens while holding both the snapshot's
/// writer lock and (for the published table) its state lock; readers read only under the state lock; the writer
/// reads without the state lock only while holding the writer lock, which excludes every mutation. So no read
/// ever overlaps a write.
final class RevocationIDTable: @unchecked Sendable {
    static let slotsPerBucket = 4
    static let maximumLoad = 0.9
    static let growthFactor = 1.25
    static let maximumKicks = 500
    static let bytesPerSlot = MemoryLayout<RevocationID>.stride + 3 * MemoryLayout<UInt64>.stride + 1

    private(set) var count = 0
    private var bucketCount: Int
    private var seed: UInt64
    private var random: UInt64
    private var storage: Storage
    private var zeroRecord: RevocationRecord?

    /// Column storage for `bucketCount * 4` slots in one allocation.
    private struct Storage {
        let base: UnsafeMutableRawPointer
        let byteCount: Int
        let keys: UnsafeMutablePointer<RevocationID>
        let sequences: UnsafeMutablePointer<UInt64>
        let revokedAts: UnsafeMutablePointer<Int64>
        let coversUntils: UnsafeMutablePointer<Int64>
        let reasons: UnsafeMutablePointer<UInt8>

        init(slots: Int) {
            let keyBytes = slots * MemoryLayout<RevocationID>.stride
            let wordBytes = slots * MemoryLayout<UInt64>.stride
            byteCount = keyBytes + 3 * wordBytes + slots
            base = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
            base.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
            keys = base.bindMemory(to: RevocationID.self, capacity: slots)
            sequences = (base + keyBytes).bindMemory(to: UInt64.self, capacity: slots)
            revokedAts = (base + keyBytes + wordBytes).bindMemory(to: Int64.self, capacity: slots)
            coversUntils = (base + keyBytes + 2 * wordBytes).bindMemory(to: Int64.self, capacity: slots)
            reasons = (base + keyBytes + 3 * wordBytes).bindMemory(to: UInt8.self, capacity: slots)
        }

        func record(at slot: Int) -> RevocationRecord {
            RevocationRecord(
                sequence: sequences[slot],
                reason: RevocationRecord.reason(code: reasons[slot]),
                revokedAt: Timestamp(millisecondsSinceEpoch: revokedAts[slot]),
                coversUntil: Timestamp(millisecondsSinceEpoch: coversUntils[slot])
            )
        }

        func store(_ id: RevocationID, _ record: RevocationRecord, at slot: Int) {
            keys[slot] = id
            sequences[slot] = record.sequence
            revokedAts[slot] = record.revokedAt.millisecondsSinceEpoch
            coversUntils[slot] = record.coversUntil.millisecondsSinceEpoch
            reasons[slot] = record.reasonCode
        }

        func clear(_ slot: Int) { keys[slot] = RevocationID.empty }
    }

    /// Creates an empty table sized for about `capacity` ids.
    init(capacity: Int = 0) {
        let slots = max(8, Int((Double(capacity) / Self.maximumLoad).rounded(.up)))
        bucketCount = max(2, (slots + Self.slotsPerBucket - 1) / Self.slotsPerBucket)
        seed = Self.freshSeed()
        random = Self.freshSeed() | 1
        storage = Storage(slots: bucketCount * Self.slotsPerBucket)
    }

    deinit { storage.base.deallocate() }

    /// Whether adding `incoming` ids would take the table past its maximum load.
    func needsGrowth(adding incoming: Int) -> Bool {
        Double(count + incoming) > Self.maximumLoad * Double(slotCount)
    }

    /// A new table holding the same ids and records, with room for `incoming` more (at least a quarter larger).
    func grown(adding incoming: Int) -> RevocationIDTable {
        let target = max(Int(Double(slotCount) * Self.growthFactor * Self.maximumLoad), count + incoming)
        return copy(capacity: target, keeping: { _ in true })
    }

    /// A new table holding the ids whose records satisfy `isIncluded`, sized for them.
    func filtered(_ isIncluded: (RevocationRecord) -> Bool) -> RevocationIDTable {
        copy(capacity: count, keeping: isIncluded)
    }

    private func copy(capacity: Int, keeping isIncluded: (RevocationRecord) -> Bool) -> RevocationIDTable {
        let table = RevocationIDTable(capacity: capacity)
        if let zero = zeroRecord, isIncluded(zero) { table.set(zero, for: RevocationID.empty) }
        for slot in 0..<slotCount where storage.keys[slot] != RevocationID.empty {
            let record = storage.record(at: slot)
            if isIncluded(record) { table.set(record, for: storage.keys[slot]) }
        }
        return table
    }

    /// The slots (and whether the zero id) whose records satisfy `predicate`, for ``remove(slots:zero:)``.
    func slots(where predicate: (RevocationRecord) -> Bool) -> (slots: [Int], zero: Bool) {
        var found: [Int] = []
        for slot in 0..<slotCount where storage.keys[slot] != RevocationID.empty && predicate(storage.record(at: slot))
        {
            found.append(slot)
        }
        return (found, zeroRecord.map(predicate) ?? false)
    }

    /// Empties slots found by ``slots(where:)`` (valid only if the table was not changed in between).
    func remove(slots: [Int], zero: Bool) {
        for slot in slots where storage.keys[slot] != RevocationID.empty {
            storage.clear(slot)
            count -= 1
        }
        if zero && zeroRecord != nil {
            zeroRecord = nil
            count -= 1
        }
    }

    /// Bytes held by the table's slots.
    var allocatedByteCount: Int { storage.byteCount }

    private var slotCount: Int { bucketCount * Self.slotsPerBucket }

    private static func freshSeed() -> UInt64 {
        let bytes = SecureRandom.bytes(count: 8)
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    @inline(__always)
    private func buckets(of id: RevocationID) -> (Int, Int) {
        var hasher = Hasher()
        hasher.combine(seed)
        hasher.combine(id.high)
        hasher.combine(id.low)
        let h = UInt64(UInt(bitPattern: hasher.finalize()))
        // Second choice from an independent-looking mix of the same hash (splitmix64 finaliser).
        var m = h ^ (h >> 30)
        m &*= 0xbf58_476d_1ce4_e5b9
        m ^= m >> 27
        m &*= 0x94d0_49bb_1331_11eb
        m ^= m >> 31
        let count = UInt64(bucketCount)
        let first = Int(h.multipliedFullWidth(by: count).high)
        var second = Int(m.multipliedFullWidth(by: count).high)
        if second == first { second = first + 1 == bucketCount ? 0 : first + 1 }
        return (first, second)
    }

    @inline(__always)
    private func slot(of id: RevocationID, in bucket: Int) -> Int? {
        let start = bucket &* Self.slotsPerBucket
        for slot in start..<(start &+ Self.slotsPerBucket) where storage.keys[slot] == id { return slot }
        return nil
    }

    private func slot(of id: RevocationID) -> Int? {
        let (first, second) = buckets(of: id)
        return slot(of: id, in: first) ?? slot(of: id, in: second)
    }

    /// The record for `id`, if revoked.
    func record(for id: RevocationID) -> RevocationRecord? {
        if id == RevocationID.empty { return zeroRecord }
        guard let slot = slot(of: id) else { return nil }
        return storage.record(at: slot)
    }

    /// Whether `id` is present.
    func contains(_ id: RevocationID) -> Bool {
        if id == RevocationID.empty { return zeroRecord != nil }
        return slot(of: id) != nil
    }

    /// Inserts or replaces the record for `id`.
    func set(_ record: RevocationRecord, for id: RevocationID) {
        if id == RevocationID.empty {
            if zeroRecord == nil { count += 1 }
            zeroRecord = record
            return
        }
        if let slot = slot(of: id) {
            storage.store(id, record, at: slot)
            return
        }
        if Double(count + 1) > Self.maximumLoad * Double(slotCount) { grow() }
        var pending = (id, record)
        while !place(&pending, in: storage) { grow() }
        count += 1
    }

    /// Places `item` by cuckoo displacement; on failure `item` holds the id left without a slot.
    private func place(_ item: inout (RevocationID, RevocationRecord), in storage: Storage) -> Bool {
        for _ in 0..<Self.maximumKicks {
            let (first, second) = buckets(of: item.0)
            for bucket in [first, second] {
                let start = bucket * Self.slotsPerBucket
                for slot in start..<(start + Self.slotsPerBucket) where storage.keys[slot] == RevocationID.empty {
                    storage.store(item.0, item.1, at: slot)
                    return true
                }
            }
            // xorshift64: which of the eight candidate slots to evict.
            random ^= random << 13
            random ^= random >> 7
            random ^= random << 17
            let bucket = random & 1 == 0 ? first : second
            let victim = bucket * Self.slotsPerBucket + Int((random >> 1) & 3)
            let evicted = (storage.keys[victim], storage.record(at: victim))
            storage.store(item.0, item.1, at: victim)
            item = evicted
        }
        return false
    }

    /// Rebuilds into a table a quarter larger, with a fresh seed.
    private func grow() {
        let old = storage
        let oldSlots = slotCount
        var newBuckets = max(bucketCount + 1, Int(Double(bucketCount) * Self.growthFactor))
        rebuild: while true {
            bucketCount = newBuckets
            seed = Self.freshSeed()
            let fresh = Storage(slots: bucketCount * Self.slotsPerBucket)
            for slot in 0..<oldSlots where old.keys[slot] != RevocationID.empty {
                var item = (old.keys[slot], old.record(at: slot))
                if !place(&item, in: fresh) {
                    fresh.base.deallocate()
                    newBuckets = Int(Double(newBuckets) * Self.growthFactor) + 1
                    continue rebuild
                }
            }
            storage = fresh
            old.base.deallocate()
            return
        }
    }
}

extension RevocationID {
    /// The all-zero id, which marks an empty table slot.
    static let empty = RevocationID(high: 0, low: 0)
}
