import WritCrypto
import WritIdentity

/// Encoding and parsing of token blocks (format version 1).
enum TokenCodec {
    struct Parsed {
        var root: RootBlock
        var delegations: [DelegationBlock]
        var spans: [BlockSpan]
    }

    // MARK: Parsing

    static func parse(_ bytes: [UInt8]) throws(TokenError) -> Parsed {
        guard bytes.count <= TokenLimits.maximumTokenBytes else {
            throw TokenError(.tooLarge, "token is \(bytes.count) bytes, the cap is \(TokenLimits.maximumTokenBytes)")
        }
        return try bytes.withUnsafeBufferPointer { buffer throws(TokenError) in
            var reader = WireReader(buffer)
            let version = try reader.byte("version")
            guard version == TokenFormat.version else {
                throw TokenError(.unsupportedVersion, "format version \(version) is not supported")
            }
            reader.block = 0
            let (root, rootSpan) = try parseRoot(&reader)
            var delegations: [DelegationBlock] = []
            var spans = [rootSpan]
            let issuedSeconds = UInt64(root.claims.issuedAt.secondsSinceEpoch)
            while !reader.isAtEnd {
                guard spans.count < TokenLimits.maximumBlocks else {
                    throw TokenError(.tooManyBlocks, "a token has at most \(TokenLimits.maximumBlocks) blocks")
                }
                reader.block = spans.count
                let (block, span) = try parseDelegation(&reader, issuedSeconds: issuedSeconds)
                delegations.append(block)
                spans.append(span)
            }
            return Parsed(root: root, delegations: delegations, spans: spans)
        }
    }

    private static func parseRoot(_ r: inout WireReader) throws(TokenError) -> (RootBlock, BlockSpan) {
        let start = r.position
        let kind = try r.byte("block kind")
        guard kind == TokenFormat.rootKind else {
            throw TokenError(
                .unknownBlockKind,
                "block 0 must be the issuer's block (kind 0x00), got 0x\(hex(kind))",
                block: 0
            )
        }
        let flags = try r.byte("root flags")
        guard flags & 0xf8 == 0 else { throw r.fail("reserved root flag bits are set") }
        let tokenID = try TokenID(bytes: try r.fixed(TokenID.byteCount, "token id"))
        guard let issuerKeyID = try? KeyID(bytes: try r.fixed(KeyID.byteCount, "issuer key id")) else {
            throw r.fail("issuer key id")
        }
        let holder = try readPublicKey(&r, "holder key")
        let issued = try r.varint("issued-at", maximum: TokenLimits.maximumSeconds)
        let notBeforeOffset = try r.varint("not-before offset", maximum: UInt64(UInt32.max))
        let lifetime = try r.varint("lifetime", maximum: UInt64(UInt32.max))
        guard lifetime > 0 else { throw r.fail("lifetime is zero") }
        let subject = try readIdentity(&r, "subject")
        let agentClass = try readClassName(&r, "agent class", impliedBy: subject)
        let audiences = try readList(&r, "audience", FieldRules.isAudience, TokenLimits.maximumAudienceLength)
        let actions = try readList(&r, "action", FieldRules.isAction, TokenLimits.maximumActionLength)
        let resources = try readResources(&r)
        var taskID: String?
        var step: UInt64?
        var intent: String?
        if flags & 0x01 != 0 {
            let b = try r.string("task id", maximumLength: TokenLimits.maximumTaskIDLength)
            guard FieldRules.isTaskID(b) else { throw r.fail("task id has characters outside visible ASCII") }
            taskID = String(decoding: b, as: UTF8.self)
        }
        if flags & 0x02 != 0 {
            step = try r.varint("step", maximum: UInt64(Int64.max))
        }
        if flags & 0x04 != 0 {
            let b = try r.string("intent", maximumLength: TokenLimits.maximumIntentLength)
            guard FieldRules.isIntent(b) else { throw r.fail("intent is not UTF-8 text without control characters") }
            intent = String(decoding: b, as: UTF8.self)
        }
        let caveatCount = Int(try r.byte("caveat count"))
        let caveats = try Caveat.read(&r, count: caveatCount)
        let signatureStart = r.position
        let signature = Array(try r.fixed(Ed25519.signatureByteCount, "signature"))

        let issuedAt = Timestamp(secondsSinceEpoch: Int64(issued))
        let notBefore = Timestamp(secondsSinceEpoch: Int64(issued + notBeforeOffset))
        let expiresAt = Timestamp(secondsSinceEpoch: Int64(issued + notBeforeOffset + lifetime))
        let claims = TokenClaims(
            tokenID: tokenID,
            subject: subject,
            holder: holder,
            agentClass: agentClass,
            audiences: audiences,
            actions: actions,
            resources: resources,
            taskID: taskID,
            step: step,
            intent: intent,
            issuedAt: issuedAt,
            notBefore: notBefore,
            expiresAt: expiresAt,
            caveats: caveats
        )
        let block = RootBlock(
            claims: claims,
            issuerKeyID: issuerKeyID,
            signature: signature
        )
        return (block, BlockSpan(start: start, signatureStart: signatureStart))
    }

    private static func parseDelegation(
        _ r: inout WireReader,
        issuedSeconds: UInt64
    ) throws(TokenError) -> (DelegationBlock, BlockSpan) {
        let start = r.position
        let kind = try r.byte("block kind")
        guard kind == TokenFormat.delegationKind else {
            throw TokenError(.unknownBlockKind, "unknown block kind 0x\(hex(kind))", block: r.block)
        }
        let flags = try r.byte("delegation flags")
        let holder = try readPublicKey(&r, "holder key")
        var attenuation = Attenuation(holder: holder)
        if flags & 0x01 != 0 {
            let offset = try r.varint("not-before", maximum: UInt64(UInt32.max) * 2)
            attenuation.notBefore = Timestamp(secondsSinceEpoch: Int64(issuedSeconds + offset))
        }
        if flags & 0x02 != 0 {
            let offset = try r.varint("expiry", maximum: UInt64(UInt32.max) * 2)
            attenuation.expiresAt = Timestamp(secondsSinceEpoch: Int64(issuedSeconds + offset))
        }
        if flags & 0x04 != 0 {
            attenuation.audiences = try readList(
                &r,
                "audience",
                FieldRules.isAudience,
                TokenLimits.maximumAudienceLength
            )
        }
        if flags & 0x08 != 0 {
            attenuation.actions = try readList(&r, "action", FieldRules.isAction, TokenLimits.maximumActionLength)
        }
        if flags & 0x10 != 0 {
            attenuation.resources = try readResources(&r)
        }
        if flags & 0x20 != 0 {
            attenuation.delegate = try readIdentity(&r, "delegate identity")
        }
        if flags & 0x40 != 0 {
            attenuation.delegateClass = try readClassName(&r, "delegate class", impliedBy: attenuation.delegate)
        }
        if flags & 0x80 != 0 {
            let count = Int(try r.byte("caveat count"))
            guard count > 0 else { throw r.fail("caveat flag set with zero caveats") }
            attenuation.caveats = try Caveat.read(&r, count: count)
        }
        let signatureStart = r.position
        let signature = Array(try r.fixed(Ed25519.signatureByteCount, "signature"))
        let block = DelegationBlock(
            attenuation: attenuation,
            signature: signature
        )
        return (block, BlockSpan(start: start, signatureStart: signatureStart))
    }

    private static func readPublicKey(_ r: inout WireReader, _ what: String) throws(TokenError) -> Ed25519.PublicKey {
        let raw = try r.fixed(Ed25519.publicKeyByteCount, what)
        guard let key = try? Ed25519.PublicKey(rawRepresentation: raw) else { throw r.fail(what) }
        return key
    }

    private static func readIdentity(_ r: inout WireReader, _ what: String) throws(TokenError) -> AgentIdentity {
        let b = try r.string(what, maximumLength: AgentIdentity.maximumLength - AgentIdentity.scheme.utf8.count)
        do {
            return try AgentIdentity(wireForm: b)
        } catch {
            throw r.fail("\(what) is not a valid SPIFFE ID (\(error.code))")
        }
    }

    /// A class name, or the empty string meaning "the class named by `identity`'s path `/agent/<class>/…`".
    /// The short form is mandatory when it applies (one encoding per value).
    private static func readClassName(
        _ r: inout WireReader,
        _ what: String,
        impliedBy identity: AgentIdentity?
    ) throws(TokenError) -> String {
        let b = try r.string(what, maximumLength: 64, allowEmpty: true)
        let implied = identity.flatMap(impliedClassName)
        if b.isEmpty {
            guard let implied else {
                throw r.fail("\(what) is empty but no identity of the form /agent/<class>/… names one")
            }
            return implied
        }
        guard FieldRules.isClassName(b) else { throw r.fail("\(what) is not a valid class name") }
        let name = String(decoding: b, as: UTF8.self)
        guard name != implied else { throw r.fail("\(what) must use the short (empty) form, the identity names it") }
        return name
    }

    /// The class named by an identity of the form `spiffe://<td>/agent/<class>/…`, if any.
    static func impliedClassName(_ identity: AgentIdentity) -> String? {
        let path = identity.path.utf8
        let prefix = "/agent/".utf8
        guard path.starts(with: prefix) else { return nil }
        let rest = path.dropFirst(prefix.count)
        let end = rest.firstIndex(of: UInt8(ascii: "/")) ?? rest.endIndex
        guard let name = String(rest[..<end]), AgentClass.isValidName(name) else { return nil }
        return name
    }

    private static func writeClassName(_ name: String, impliedBy identity: AgentIdentity?, into w: inout WireWriter) {
        if let identity, impliedClassName(identity) == name {
            w.varint(0)
        } else {
            w.string(name)
        }
    }

    private static func readList(
        _ r: inout WireReader,
        _ what: String,
        _ rule: (UnsafeBufferPointer<UInt8>) -> Bool,
        _ maximumLength: Int
    ) throws(TokenError) -> [String] {
        let count = Int(try r.byte("\(what) count"))
        guard count >= 1, count <= TokenLimits.maximumListCount else {
            throw r.fail("\(what) list must have 1…\(TokenLimits.maximumListCount) entries, has \(count)")
        }
        var values: [String] = []
        values.reserveCapacity(count)
        for _ in 0..<count {
            let b = try r.string(what, maximumLength: maximumLength)
            guard rule(b) else { throw r.fail("\(what) has characters outside the allowed set") }
            let value = String(decoding: b, as: UTF8.self)
            guard !values.contains(value) else { throw r.fail("duplicate \(what) '\(value)'") }
            values.append(value)
        }
        return values
    }

    private static func readResources(_ r: inout WireReader) throws(TokenError) -> [ResourcePattern] {
        let count = Int(try r.byte("resource count"))
        guard count >= 1, count <= TokenLimits.maximumListCount else {
            throw r.fail("resource list must have 1…\(TokenLimits.maximumListCount) entries, has \(count)")
        }
        var values: [ResourcePattern] = []
        values.reserveCapacity(count)
        for _ in 0..<count {
            let b = try r.string("resource", maximumLength: TokenLimits.maximumResourceLength)
            guard ResourcePattern.isValid(b) else { throw r.fail("resource pattern is not valid") }
            let value = ResourcePattern(trusted: String(decoding: b, as: UTF8.self))
            guard !values.contains(value) else { throw r.fail("duplicate resource '\(value)'") }
            values.append(value)
        }
        return values
    }

    // MARK: Encoding (inputs already validated)

    static func encodeRoot(_ c: TokenClaims, issuerKeyID: KeyID, into w: inout WireWriter) {
        w.byte(TokenFormat.rootKind)
        var flags: UInt8 = 0
        if c.taskID != nil { flags |= 0x01 }
        if c.step != nil { flags |= 0x02 }
        if c.intent != nil { flags |= 0x04 }
        w.byte(flags)
        w.bigEndian(c.tokenID.high)
        w.bigEndian(c.tokenID.low)
        w.fixed(issuerKeyID.bytes)
        w.fixed(c.holder.rawRepresentation)
        let issued = c.issuedAt.secondsSinceEpoch
        let notBefore = c.notBefore.secondsSinceEpoch
        w.varint(UInt64(issued))
        w.varint(UInt64(notBefore - issued))
        w.varint(UInt64(c.expiresAt.secondsSinceEpoch - notBefore))
        w.identity(c.subject)
        writeClassName(c.agentClass, impliedBy: c.subject, into: &w)
        writeList(c.audiences, into: &w)
        writeList(c.actions, into: &w)
        writeResources(c.resources, into: &w)
        if let taskID = c.taskID { w.string(taskID) }
        if let step = c.step { w.varint(step) }
        if let intent = c.intent { w.string(intent) }
        w.byte(UInt8(c.caveats.count))
        Caveat.write(c.caveats, into: &w)
    }

    static func encodeDelegation(_ a: Attenuation, issuedSeconds: Int64, into w: inout WireWriter) {
        w.byte(TokenFormat.delegationKind)
        var flags: UInt8 = 0
        if a.notBefore != nil { flags |= 0x01 }
        if a.expiresAt != nil { flags |= 0x02 }
        if a.audiences != nil { flags |= 0x04 }
        if a.actions != nil { flags |= 0x08 }
        if a.resources != nil { flags |= 0x10 }
        if a.delegate != nil { flags |= 0x20 }
        if a.delegateClass != nil { flags |= 0x40 }
        if !a.caveats.isEmpty { flags |= 0x80 }
        w.byte(flags)
        w.fixed(a.holder.rawRepresentation)
        if let t = a.notBefore { w.varint(UInt64(t.secondsSinceEpoch - issuedSeconds)) }
        if let t = a.expiresAt { w.varint(UInt64(t.secondsSinceEpoch - issuedSeconds)) }
        if let list = a.audiences { writeList(list, into: &w) }
        if let list = a.actions { writeList(list, into: &w) }
        if let list = a.resources { writeResources(list, into: &w) }
        if let delegate = a.delegate { w.identity(delegate) }
        if let delegateClass = a.delegateClass { writeClassName(delegateClass, impliedBy: a.delegate, into: &w) }
        if !a.caveats.isEmpty {
            w.byte(UInt8(a.caveats.count))
            Caveat.write(a.caveats, into: &w)
        }
    }

    private static func writeList(_ list: [String], into w: inout WireWriter) {
        w.byte(UInt8(list.count))
        for value in list { w.string(value) }
    }

    private static func writeResources(_ list: [ResourcePattern], into w: inout WireWriter) {
        w.byte(UInt8(list.count))
        for value in list { w.string(value.text) }
    }

    // MARK: Validation of inputs to mint and delegate

    static func validateList(
        _ list: [String],
        _ what: String,
        _ rule: (UnsafeBufferPointer<UInt8>) -> Bool
    ) throws(TokenError) {
        guard !list.isEmpty, list.count <= TokenLimits.maximumListCount else {
            throw TokenError(.invalidClaims, "\(what) list must have 1…\(TokenLimits.maximumListCount) entries")
        }
        for (i, value) in list.enumerated() {
            guard FieldRules.check(value, rule) else {
                throw TokenError(.invalidClaims, "\(what) '\(value)' is not valid")
            }
            guard !list[..<i].contains(value) else { throw TokenError(.invalidClaims, "duplicate \(what) '\(value)'") }
        }
    }

    static func validateResources(_ list: [ResourcePattern]) throws(TokenError) {
        guard !list.isEmpty, list.count <= TokenLimits.maximumListCount else {
            throw TokenError(.invalidClaims, "resource list must have 1…\(TokenLimits.maximumListCount) entries")
        }
        for (i, value) in list.enumerated() where list[..<i].contains(value) {
            throw TokenError(.invalidClaims, "duplicate resource '\(value)'")
        }
    }

    static func hex(_ b: UInt8) -> String { Hex.encode([b]) }
}
