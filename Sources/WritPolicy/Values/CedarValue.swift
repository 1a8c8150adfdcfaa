/// A Cedar value: what attributes, context entries and expressions hold.
///
/// Equality follows Cedar: values of different types are never equal, sets compare as sets, records by their
/// keys and values, strings by Unicode scalars.
public enum CedarValue: Hashable, Sendable, CustomStringConvertible {
    /// A boolean.
    case bool(Bool)
    /// A 64-bit signed integer (Cedar `Long`); arithmetic that overflows is an evaluation error.
    case long(Int64)
    /// A string, compared by Unicode scalars.
    case string(String)
    /// A reference to an entity.
    case entity(EntityUID)
    /// A set of values (duplicates removed, order irrelevant).
    case set(CedarSet)
    /// A record of named values.
    case record(CedarRecord)
    /// A `decimal` extension value.
    case decimal(CedarDecimal)
    /// An `ipaddr` extension value (an address or a range).
    case ipAddress(IPAddress)
    /// A `datetime` extension value.
    case datetime(CedarDatetime)
    /// A `duration` extension value.
    case duration(CedarDuration)

    /// The Cedar type name, for error messages.
    public var typeName: String {
        switch self {
        case .bool: "Bool"
        case .long: "Long"
        case .string: "String"
        case .entity(let uid): "entity of type `\(uid.type)`"
        case .set: "Set"
        case .record: "Record"
        case .decimal: "decimal"
        case .ipAddress: "ipaddr"
        case .datetime: "datetime"
        case .duration: "duration"
        }
    }

    /// The value in Cedar expression syntax.
    public var description: String {
        switch self {
        case .bool(let b): b ? "true" : "false"
        case .long(let n): String(n)
        case .string(let s): "\"" + CedarEscaping.escape(s) + "\""
        case .entity(let uid): uid.description
        case .set(let set): "[" + set.elements.map(\.description).joined(separator: ", ") + "]"
        case .record(let record):
            "{" + record.entries.map { "\"\(CedarEscaping.escape($0.key))\": \($0.value)" }.joined(separator: ", ")
                + "}"
        case .decimal(let d): "decimal(\"\(d)\")"
        case .ipAddress(let ip): "ip(\"\(ip)\")"
        case .datetime(let d): "datetime(\"\(d)\")"
        case .duration(let d): "duration(\"\(d)\")"
        }
    }

    public static func == (lhs: CedarValue, rhs: CedarValue) -> Bool {
        switch (lhs, rhs) {
        case (.bool(let a), .bool(let b)): a == b
        case (.long(let a), .long(let b)): a == b
        case (.string(let a), .string(let b)): ScalarText.equal(a, b)
        case (.entity(let a), .entity(let b)): a == b
        case (.set(let a), .set(let b)): a == b
        case (.record(let a), .record(let b)): a == b
        case (.decimal(let a), .decimal(let b)): a == b
        case (.ipAddress(let a), .ipAddress(let b)): a == b
        case (.datetime(let a), .datetime(let b)): a == b
        case (.duration(let a), .duration(let b)): a == b
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .bool(let b):
            hasher.combine(0)
            hasher.combine(b)
        case .long(let n):
            hasher.combine(1)
            hasher.combine(n)
        case .string(let s):
            hasher.combine(2)
            ScalarText.hash(s, into: &hasher)
        case .entity(let uid):
            hasher.combine(3)
            hasher.combine(uid)
        case .set(let set):
            hasher.combine(4)
            hasher.combine(set)
        case .record(let record):
            hasher.combine(5)
            hasher.combine(record)
        case .decimal(let d):
            hasher.combine(6)
            hasher.combine(d)
        case .ipAddress(let ip):
            hasher.combine(7)
            hasher.combine(ip)
        case .datetime(let d):
            hasher.combine(8)
            hasher.combine(d)
        case .duration(let d):
            hasher.combine(9)
            hasher.combine(d)
        }
    }
}

extension CedarValue: ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral, ExpressibleByStringInterpolation,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    /// A boolean value.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// A `Long` value.
    public init(integerLiteral value: Int64) { self = .long(value) }
    /// A string value.
    public init(stringLiteral value: String) { self = .string(value) }
    /// A set value.
    public init(arrayLiteral elements: CedarValue...) { self = .set(CedarSet(elements)) }
    /// A record value.
    public init(dictionaryLiteral elements: (String, CedarValue)...) {
        self = .record(CedarRecord(uniqueKeysWithValues: elements))
    }
}
