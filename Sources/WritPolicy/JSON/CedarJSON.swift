/// Reading Cedar's JSON formats for entities, values and requests.
///
/// Values: JSON booleans, integers (64-bit) and strings map to Cedar's; arrays to sets; objects to records,
/// except `{"__entity": {"type": …, "id": …}}` (an entity reference) and
/// `{"__extn": {"fn": "decimal"|"ip"|"datetime"|"duration", "arg": "…"}}` (an extension value), and an object
/// of exactly a string `type` and a string `id`, which Cedar also reads as an entity reference.
/// No schema is used, so extension values must use the `__extn` escape.
enum CedarJSON {
    static func invalid(_ message: String) -> PolicyError { PolicyError(.invalidData, message) }

    static func value(_ json: JSONValue, path: String) throws(PolicyError) -> CedarValue {
        switch json {
        case .null:
            throw invalid("\(path): null is not a Cedar value")
        case .bool(let b):
            return .bool(b)
        case .number(let text):
            guard let n = Int64(text) else { throw invalid("\(path): \(text) is not a 64-bit integer") }
            return .long(n)
        case .string(let s):
            return .string(s)
        case .array(let elements):
            var values: [CedarValue] = []
            values.reserveCapacity(elements.count)
            for (i, element) in elements.enumerated() { values.append(try value(element, path: "\(path)[\(i)]")) }
            return .set(CedarSet(values))
        case .object(let members):
            if members.count == 1, members[0].key == "__entity" {
                return .entity(try uid(members[0].value, path: path + ".__entity"))
            }
            if members.count == 1, members[0].key == "__extn" {
                return try extensionValue(members[0].value, path: path + ".__extn")
            }
            // Cedar's implicit entity form: an object of exactly a string "type" and a string "id".
            if members.count == 2, case .string(let type)? = json["type"], case .string(let id)? = json["id"],
                isValidTypeName(type)
            {
                return .entity(EntityUID(type: type, id: id))
            }
            var pairs: [(String, CedarValue)] = []
            pairs.reserveCapacity(members.count)
            for member in members { pairs.append((member.key, try value(member.value, path: "\(path).\(member.key)"))) }
            return .record(CedarRecord(pairs))
        }
    }

    static func extensionValue(_ json: JSONValue, path: String) throws(PolicyError) -> CedarValue {
        guard case .string(let name)? = json["fn"] else { throw invalid("\(path): missing \"fn\"") }
        let function: ExtensionFunction? = name == "ipaddr" ? .ip : ExtensionFunction(rawValue: name)
        guard let function else { throw invalid("\(path): unknown extension function \"\(name)\"") }
        var arguments: [CedarValue] = []
        if let arg = json["arg"] {
            arguments = [try value(arg, path: path + ".arg")]
        } else if case .array(let args)? = json["args"] {
            for (i, arg) in args.enumerated() { arguments.append(try value(arg, path: "\(path).args[\(i)]")) }
        } else {
            throw invalid("\(path): missing \"arg\" or \"args\"")
        }
        do {
            return try ExtensionCall.call(function, arguments)
        } catch {
            throw invalid("\(path): \(error.message)")
        }
    }

    /// An entity uid: `{"type": …, "id": …}`, `{"__entity": {…}}`, or the string `Type::"id"`.
    static func uid(_ json: JSONValue, path: String) throws(PolicyError) -> EntityUID {
        switch json {
        case .object(let members):
            if members.count == 1, members[0].key == "__entity" { return try uid(members[0].value, path: path) }
            guard members.count == 2, case .string(let type)? = json["type"], case .string(let id)? = json["id"] else {
                throw invalid("\(path): expected an entity {\"type\": …, \"id\": …}")
            }
            guard isValidTypeName(type) else { throw invalid("\(path): invalid entity type \"\(type)\"") }
            return EntityUID(type: type, id: id)
        case .string(let text):
            return try EntityUID(parsing: text)
        default:
            throw invalid("\(path): expected an entity, found \(json.kindName)")
        }
    }

    static func isValidTypeName(_ type: String) -> Bool {
        let parts = type.split(separator: "::", omittingEmptySubsequences: false)
        return parts.allSatisfy { part in
            guard let first = part.unicodeScalars.first,
                first == "_" || (first >= "a" && first <= "z")
                    || (first >= "A" && first <= "Z")
            else { return false }
            return part.unicodeScalars.allSatisfy {
                $0 == "_" || ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9")
            }
        }
    }

    static func record(_ json: JSONValue?, path: String) throws(PolicyError) -> CedarRecord {
        guard let json else { return CedarRecord() }
        guard case .object = json, case .record(let r) = try value(json, path: path) else {
            throw invalid("\(path): expected an object")
        }
        return r
    }

    static func entities(_ json: JSONValue) throws(PolicyError) -> [PolicyEntity] {
        guard case .array(let items) = json else { throw invalid("entities: expected a JSON array") }
        var result: [PolicyEntity] = []
        result.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            let path = "entities[\(i)]"
            guard case .object = item, let uidJSON = item["uid"] else { throw invalid("\(path): missing \"uid\"") }
            let uid = try uid(uidJSON, path: path + ".uid")
            var parents: [EntityUID] = []
            if let parentsJSON = item["parents"] {
                guard case .array(let list) = parentsJSON else { throw invalid("\(path).parents: expected an array") }
                for (j, p) in list.enumerated() { parents.append(try self.uid(p, path: "\(path).parents[\(j)]")) }
            }
            result.append(
                PolicyEntity(
                    uid: uid,
                    attributes: try record(item["attrs"], path: path + ".attrs"),
                    parents: parents,
                    tags: try record(item["tags"], path: path + ".tags")
                )
            )
        }
        return result
    }

    static func request(_ json: JSONValue) throws(PolicyError) -> PolicyRequest {
        guard case .object = json else { throw invalid("request: expected a JSON object") }
        func required(_ key: String) throws(PolicyError) -> EntityUID {
            guard let v = json[key] else { throw invalid("request: missing \"\(key)\"") }
            return try uid(v, path: "request.\(key)")
        }
        return PolicyRequest(
            principal: try required("principal"),
            action: try required("action"),
            resource: try required("resource"),
            context: try record(json["context"], path: "request.context")
        )
    }

    static func parse(_ bytes: some Sequence<UInt8>) throws(PolicyError) -> JSONValue {
        try JSONParser.parse(Array(bytes))
    }
}

extension EntityUID {
    /// Parses Cedar entity syntax: `Type::"id"` or `Namespace::Type::"id"`.
    /// - Throws: ``PolicyError`` `syntax` when the text is not an entity reference.
    public init(parsing text: String) throws(PolicyError) {
        var lexer = Lexer(text)
        let tokens = try lexer.tokenize()
        var parts: [String] = []
        var i = 0
        while i < tokens.count {
            guard case .identifier(let name) = tokens[i].kind else { break }
            parts.append(name)
            guard i + 1 < tokens.count, tokens[i + 1].kind == .punctuation("::") else { break }
            i += 2
            if i < tokens.count, case .string(let raw) = tokens[i].kind, i + 1 < tokens.count,
                tokens[i + 1].kind == .end,
                let id = Lexer.decodeString(raw)
            {
                self.init(type: parts.joined(separator: "::"), id: id)
                return
            }
        }
        throw PolicyError(.syntax, "expected an entity reference like User::\"alice\"")
    }
}

extension PolicyEntities {
    /// Reads entities in Cedar's JSON format: an array of `{"uid": …, "attrs": {…}, "parents": [...], "tags": {…}}`.
    /// - Throws: ``PolicyError`` `invalidJSON`, `invalidData` or `limitExceeded`.
    public init(json: some Sequence<UInt8>) throws(PolicyError) {
        try self.init(CedarJSON.entities(try CedarJSON.parse(json)))
    }
}

extension PolicyRequest {
    /// Reads a request: `{"principal": …, "action": …, "resource": …, "context": {…}}`, where each entity is
    /// `{"type": …, "id": …}` or the string `Type::"id"`.
    /// - Throws: ``PolicyError`` `invalidJSON`, `invalidData`, `syntax` or `limitExceeded`.
    public init(json: some Sequence<UInt8>) throws(PolicyError) {
        self = try CedarJSON.request(try CedarJSON.parse(json))
    }
}

extension CedarValue {
    /// Reads one value in Cedar's JSON value format.
    /// - Throws: ``PolicyError`` `invalidJSON`, `invalidData` or `limitExceeded`.
    public init(json: some Sequence<UInt8>) throws(PolicyError) {
        self = try CedarJSON.value(try CedarJSON.parse(json), path: "value")
    }
}
