import WritCrypto

extension FileRevocationStore {
    /// One line of a revocation file, and its canonical text form.
    ///
    /// A line is tab-separated fields ending in the CRC-32 (8 lowercase hex digits) of everything before the last
    /// tab, then a newline:
    /// ```
    /// writ-revocations  1                                                         crc   (line 1 only)
    /// revoke            SEQ  KIND  VALUE  REASON  REVOKED-AT-MS  COVERS-UNTIL-MS  crc
    /// watermark         VERIFIER  SEQ  RECORDED-AT-MS                             crc
    /// forget            VERIFIER                                                  crc
    /// floor             SEQ                                                       crc   (written by pruning)
    /// ```
    /// Numbers are decimal without leading zeros; names are UTF-8 with `\\`, tab, newline, carriage return and other
    /// control bytes escaped (`\\`, `\t`, `\n`, `\r`, `\xHH`). Exactly one text form is accepted per record: a line
    /// is parsed, encoded again and must give back the same bytes.
    enum Record: Hashable, Sendable {
        /// The first line: the format name and version.
        case header(version: UInt64)
        /// A revocation.
        case revoke(RevocationEntry)
        /// A verifier's watermark report.
        case watermark(VerifierWatermark)
        /// A verifier was removed.
        case forget(verifier: String)
        /// The latest sequence is at least this (kept by pruning when the newest entries are removed).
        case floor(sequence: UInt64)

        /// The file format version this code reads and writes.
        static let formatVersion: UInt64 = 1
        /// The first field of the header line.
        static let formatName = "writ-revocations"
        /// The longest line accepted, newline included (a line holds at most two 1024-byte names, escaped).
        static let maximumLineBytes = 8192

        /// The canonical line, newline included.
        func encoded() -> [UInt8] {
            var line: [UInt8] = []
            line.reserveCapacity(96)
            func field(_ text: String) {
                if !line.isEmpty { line.append(tab) }
                line.append(contentsOf: text.utf8)
            }
            func name(_ text: String) {
                line.append(tab)
                Record.escape(text, into: &line)
            }
            switch self {
            case .header(let version):
                field(Self.formatName)
                field(String(version))
            case .revoke(let entry):
                field("revoke")
                field(String(entry.sequence))
                field(entry.target.kind.rawValue)
                name(entry.target.value)
                field(entry.reason.rawValue)
                field(String(entry.revokedAt.millisecondsSinceEpoch))
                field(String(entry.coversUntil.millisecondsSinceEpoch))
            case .watermark(let mark):
                field("watermark")
                name(mark.verifier)
                field(String(mark.sequence))
                field(String(mark.recordedAt.millisecondsSinceEpoch))
            case .forget(let verifier):
                field("forget")
                name(verifier)
            case .floor(let sequence):
                field("floor")
                field(String(sequence))
            }
            let crc = CRC32.checksum(line[...])
            line.append(tab)
            for shift in stride(from: 28, through: 0, by: -4) {
                line.append(hexDigits[Int(crc >> UInt32(shift) & 0xF)])
            }
            line.append(newline)
            return line
        }

        /// Parses one line (without its newline), failing closed on anything but the canonical form.
        ///
        /// - Parameters:
        ///   - line: the line's bytes, without the trailing newline.
        ///   - number: the 1-based line number, for errors.
        ///   - path: the file's path, for errors.
        /// - Throws: ``RevocationError`` naming the file and line: `invalidTarget` for an unknown target kind or a
        ///   malformed target value, `corruptStore` for anything else.
        static func parse(_ line: ArraySlice<UInt8>, number: Int, path: String) throws(RevocationError) -> Record {
            func damaged(_ message: String, _ code: RevocationError.Code = .corruptStore) -> RevocationError {
                RevocationError(code, "'\(path)' line \(number): \(message)")
            }
            guard line.count < maximumLineBytes else {
                throw damaged("\(line.count + 1) bytes, limit \(maximumLineBytes)")
            }
            let fields = line.split(separator: tab, omittingEmptySubsequences: false)
            guard fields.count >= 2, let last = fields.last else { throw damaged("too few fields") }
            let kind = String(decoding: fields[0], as: UTF8.self)
            func expectFields(_ count: Int) throws(RevocationError) {
                guard fields.count == count else {
                    throw damaged("a \(quoted(fields[0])) record has \(count) fields, found \(fields.count)")
                }
            }
            func unsigned(_ index: Int, _ what: String) throws(RevocationError) -> UInt64 {
                guard let value = UInt64(String(decoding: fields[index], as: UTF8.self)) else {
                    throw damaged("\(what) \(quoted(fields[index])) is not a number")
                }
                return value
            }
            func time(_ index: Int, _ what: String) throws(RevocationError) -> Timestamp {
                guard let value = Int64(String(decoding: fields[index], as: UTF8.self)) else {
                    throw damaged("\(what) \(quoted(fields[index])) is not a time in milliseconds")
                }
                return Timestamp(millisecondsSinceEpoch: value)
            }
            func name(_ index: Int, _ what: String) throws(RevocationError) -> String {
                guard let text = unescape(fields[index]) else {
                    throw damaged("\(what) \(quoted(fields[index])) has a bad escape or is not UTF-8")
                }
                return text
            }
            let record: Record
            switch kind {
            case formatName:
                try expectFields(3)
                let version = try unsigned(1, "format version")
                guard version == formatVersion else {
                    throw damaged("unsupported format version \(version) (this build reads \(formatVersion))")
                }
                record = .header(version: version)
            case "revoke":
                try expectFields(8)
                let sequence = try unsigned(1, "sequence")
                guard sequence > 0 else { throw damaged("sequence 0") }
                guard let targetKind = RevocationTarget.Kind(rawValue: String(decoding: fields[2], as: UTF8.self))
                else {
                    throw damaged("unknown target kind \(quoted(fields[2]))", .invalidTarget)
                }
                let value = try name(3, "target")
                let target: RevocationTarget
                do {
                    target = try RevocationTarget(kind: targetKind, value: value)
                } catch {
                    throw damaged(error.context, .invalidTarget)
                }
                guard let reason = RevocationReason(rawValue: String(decoding: fields[4], as: UTF8.self)) else {
                    throw damaged("unknown reason \(quoted(fields[4]))")
                }
                record = .revoke(
                    RevocationEntry(
                        sequence: sequence,
                        target: target,
                        reason: reason,
                        revokedAt: try time(5, "revokedAt"),
                        coversUntil: try time(6, "coversUntil")
                    )
                )
            case "watermark":
                try expectFields(5)
                let verifier = try name(1, "verifier")
                do {
                    try validateVerifierName(verifier)
                } catch {
                    throw damaged(error.context)
                }
                record = .watermark(
                    VerifierWatermark(
                        verifier: verifier,
                        sequence: try unsigned(2, "sequence"),
                        recordedAt: try time(3, "recordedAt")
                    )
                )
            case "forget":
                try expectFields(3)
                record = .forget(verifier: try name(1, "verifier"))
            case "floor":
                try expectFields(3)
                record = .floor(sequence: try unsigned(1, "sequence"))
            default:
                throw damaged("unknown record kind \(quoted(fields[0]))")
            }
            guard last.count == 8, let stored = UInt32(String(decoding: last, as: UTF8.self), radix: 16) else {
                throw damaged("checksum \(quoted(last)) is not 8 hex digits")
            }
            guard CRC32.checksum(line[line.startIndex..<last.startIndex - 1]) == stored else {
                throw damaged("checksum mismatch (the line was modified or damaged)")
            }
            guard record.encoded().elementsEqual(line + [newline]) else {
                throw damaged("not in canonical form")
            }
            return record
        }

        /// Appends `text` with `\`, tab, newline, carriage return and other control bytes escaped.
        static func escape(_ text: String, into out: inout [UInt8]) {
            for byte in text.utf8 {
                switch byte {
                case backslash: out += [backslash, backslash]
                case tab: out += [backslash, UInt8(ascii: "t")]
                case newline: out += [backslash, UInt8(ascii: "n")]
                case 0x0D: out += [backslash, UInt8(ascii: "r")]
                case 0..<0x20, 0x7F:
                    out += [backslash, UInt8(ascii: "x"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)]]
                default: out.append(byte)
                }
            }
        }

        /// Reverses ``escape(_:into:)``; `nil` for an unknown or truncated escape or bytes that are not UTF-8.
        static func unescape(_ field: ArraySlice<UInt8>) -> String? {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(field.count)
            var i = field.startIndex
            while i < field.endIndex {
                let byte = field[i]
                i += 1
                guard byte == backslash else {
                    bytes.append(byte)
                    continue
                }
                guard i < field.endIndex else { return nil }
                let code = field[i]
                i += 1
                switch code {
                case backslash: bytes.append(backslash)
                case UInt8(ascii: "t"): bytes.append(tab)
                case UInt8(ascii: "n"): bytes.append(newline)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "x"):
                    guard field.endIndex - i >= 2, let high = hexValue(field[i]), let low = hexValue(field[i + 1])
                    else {
                        return nil
                    }
                    bytes.append(high << 4 | low)
                    i += 2
                default: return nil
                }
            }
            return String(validating: bytes, as: UTF8.self)
        }

        /// A field for an error message: at most 32 bytes, escaped, in quotes.
        static func quoted(_ field: ArraySlice<UInt8>) -> String {
            var out: [UInt8] = []
            escape(String(decoding: field.prefix(32), as: UTF8.self), into: &out)
            return "'" + String(decoding: out, as: UTF8.self) + (field.count > 32 ? "…'" : "'")
        }

        private static func hexValue(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            default: nil
            }
        }
    }
}

private let tab = UInt8(ascii: "\t")
private let newline = UInt8(ascii: "\n")
private let backslash = UInt8(ascii: "\\")
private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
