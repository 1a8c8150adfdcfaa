/// A Cedar entity: its identifier, attributes, parents (for `in`) and tags.
public struct PolicyEntity: Sendable {
    /// The entity's identifier.
    public let uid: EntityUID
    /// Its attributes (`principal.department`).
    public let attributes: CedarRecord
    /// Its direct parents; `in` follows them transitively.
    public let parents: [EntityUID]
    /// Its tags (`principal.getTag("k")`).
    public let tags: CedarRecord

    /// Creates an entity.
    /// - Parameters:
    ///   - uid: The identifier.
    ///   - attributes: Attribute values.
    ///   - parents: Direct parents in the hierarchy.
    ///   - tags: Tag values.
    public init(
        uid: EntityUID,
        attributes: CedarRecord = CedarRecord(),
        parents: [EntityUID] = [],
        tags: CedarRecord = CedarRecord()
    ) {
        self.uid = uid
        self.attributes = attributes
        self.parents = parents
        self.tags = tags
    }
}

/// An immutable entity store with the transitive closure of the parent relation precomputed, so `in` is one
/// set lookup at request time.
public struct PolicyEntities: Sendable {
    /// An entity with its transitive ancestors; a reference so lookups do not copy the entity's fields.
    final class Stored: Sendable {
        let entity: PolicyEntity
        let ancestors: Set<EntityUID>

        init(entity: PolicyEntity, ancestors: Set<EntityUID>) {
            self.entity = entity
            self.ancestors = ancestors
        }
    }

    private var storage: [EntityUID: Stored]
    private var overlay: [Stored]

    /// An empty store.
    public init() {
        storage = [:]
        overlay = []
    }

    /// Builds a store, computing every entity's ancestors.
    /// - Throws: ``PolicyError`` `invalidData` when two entities share an identifier.
    public init(_ entities: [PolicyEntity]) throws(PolicyError) {
        var byUID: [EntityUID: PolicyEntity] = [:]
        byUID.reserveCapacity(entities.count)
        for entity in entities {
            guard byUID.updateValue(entity, forKey: entity.uid) == nil else {
                throw PolicyError(.invalidData, "duplicate entity \(entity.uid)")
            }
        }
        var stored: [EntityUID: Stored] = [:]
        stored.reserveCapacity(byUID.count)
        for (uid, entity) in byUID {
            var ancestors: Set<EntityUID> = []
            var pending = entity.parents
            while let next = pending.popLast() {
                guard ancestors.insert(next).inserted else { continue }
                if let parent = byUID[next] { pending.append(contentsOf: parent.parents) }
            }
            stored[uid] = Stored(entity: entity, ancestors: ancestors)
        }
        storage = stored
        overlay = []
    }

    /// A store with `extra` entities laid over this one, without copying it. An overlaid entity replaces one
    /// with the same identifier. Each overlaid entity's ancestors are computed through this store's hierarchy;
    /// overlaid entities do not become ancestors of existing ones.
    ///
    /// This is the cheap way to add a per-request entity (such as the calling agent) to a shared store: the
    /// cost is proportional to the overlaid entities, not to the store.
    public func overlaying(_ extra: [PolicyEntity]) -> PolicyEntities {
        var copy = self
        for entity in extra {
            var ancestors: Set<EntityUID> = []
            for parent in entity.parents {
                ancestors.insert(parent)
                if let stored = self.lookup(parent) { ancestors.formUnion(stored.ancestors) }
            }
            copy.overlay.removeAll { $0.entity.uid == entity.uid }
            copy.overlay.append(Stored(entity: entity, ancestors: ancestors))
        }
        return copy
    }

    @inline(__always)
    func lookup(_ uid: EntityUID) -> Stored? {
        if !overlay.isEmpty {
            for stored in overlay where stored.entity.uid == uid { return stored }
        }
        return storage[uid]
    }

    /// The entity with this identifier, or `nil`.
    public subscript(uid: EntityUID) -> PolicyEntity? { lookup(uid)?.entity }

    /// The number of entities.
    public var count: Int { storage.count + overlay.count }

    /// Every ancestor of `uid` (transitively), or an empty set for unknown entities.
    public func ancestors(of uid: EntityUID) -> Set<EntityUID> { lookup(uid)?.ancestors ?? [] }

    /// Cedar's `in` on entities: `uid` equals `ancestor` or descends from it.
    @inline(__always)
    public func isEntity(_ uid: EntityUID, in ancestor: EntityUID) -> Bool {
        if uid == ancestor { return true }
        guard let stored = lookup(uid) else { return false }
        return stored.ancestors.contains(ancestor)
    }
}
