/// The unique identifier of a Cedar entity: a (possibly namespaced) type and an id, written `Type::"id"`.
///
/// Equality and hashing use Unicode scalars, as Cedar does (not Swift's canonical equivalence).
public struct EntityUID: Hashable, Sendable, CustomStringConvertible {
    /// The entity type, with any namespace: `User`, `Photos::Album`.
    public let type: String
    /// The entity id (any string).
    public let id: String
    /// A digest of the type and id bytes, computed once: comparisons reject mismatches without reading the
    /// strings, and hashing feeds one word instead of both strings.
    private let digest: UInt64

    /// Creates an entity identifier.
    /// - Parameters:
    ///   - type: The entity type, with namespace segments joined by `::`.
    ///   - id: The entity id.
    public init(type: String, id: String) {
        self.type = type
        self.id = id
        digest = ScalarText.digest(id, seed: ScalarText.digest(type, seed: 0xCBF2_9CE4_8422_2325))
    }

    /// The identifier in Cedar syntax, with the id escaped: `User::"alice"`.
    public var description: String { "\(type)::\"\(CedarEscaping.escape(id))\"" }

    public static func == (lhs: EntityUID, rhs: EntityUID) -> Bool {
        lhs.digest == rhs.digest && ScalarText.equal(lhs.id, rhs.id) && ScalarText.equal(lhs.type, rhs.type)
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(digest) }
}

/// Escaping of strings for Cedar text output.
enum CedarEscaping {
    /// Escapes a string so it can be placed between double quotes in Cedar text.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\0": out += "\\0"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u{" + String(scalar.value, radix: 16) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
