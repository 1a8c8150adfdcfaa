/// A log's size and root hash in the C2SP tlog-checkpoint body format:
///
/// ```
/// <origin>
/// <size, decimal>
/// <root hash, standard base64>
/// [extension lines]
/// ```
///
/// A checkpoint commits the log to its first ``size`` entries: any later state must be consistent with it.
public struct LogCheckpoint: Sendable, Hashable {
    /// The log's identity: the service name of an ``AuditLog``.
    public let origin: String
    /// Number of entries covered.
    public let size: UInt64
    /// The RFC 6962 root of those entries.
    public let rootHash: [UInt8]
    /// Optional extension lines (opaque here).
    public let extensions: [String]

    /// Creates a checkpoint.
    ///
    /// - Throws: ``AuditError/Code/invalidEncoding`` for an empty origin or one containing a newline, a root that
    ///   is not 32 bytes, or an empty or multi-line extension.
    public init(origin: String, size: UInt64, rootHash: [UInt8], extensions: [String] = []) throws {
        guard !origin.isEmpty, !origin.contains("\n"), !origin.contains("\r") else {
            throw AuditError(.invalidEncoding, "checkpoint origin must be one non-empty line")
        }
        guard rootHash.count == RFC6962.hashByteCount else {
            throw AuditError(.invalidEncoding, "checkpoint root must be 32 bytes")
        }
        guard extensions.allSatisfy({ !$0.isEmpty && !$0.contains("\n") }) else {
            throw AuditError(.invalidEncoding, "checkpoint extension lines must be non-empty single lines")
        }
        self.origin = origin
        self.size = size
        self.rootHash = rootHash
        self.extensions = extensions
    }

    /// The body text that is signed, ending with a newline.
    public var body: String {
        var text = "\(origin)\n\(size)\n\(Base64Standard.encode(rootHash))\n"
        for line in extensions { text += line + "\n" }
        return text
    }

    /// Parses a checkpoint body strictly (decimal size without leading zeros, canonical base64 root).
    ///
    /// - Throws: ``AuditError/Code/invalidEncoding`` naming the bad line.
    public init(body: String) throws {
        guard body.hasSuffix("\n") else {
            throw AuditError(.invalidEncoding, "checkpoint body must end with a newline")
        }
        var lines = body.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeLast()
        guard lines.count >= 3 else { throw AuditError(.invalidEncoding, "checkpoint needs origin, size and root") }
        let sizeText = lines[1]
        guard let size = UInt64(sizeText), String(size) == sizeText else {
            throw AuditError(.invalidEncoding, "checkpoint size '\(sizeText.prefix(32))' is not a canonical decimal")
        }
        guard let root = Base64Standard.decode(lines[2]) else {
            throw AuditError(.invalidEncoding, "checkpoint root is not base64")
        }
        try self.init(origin: lines[0], size: size, rootHash: root, extensions: Array(lines.dropFirst(3)))
    }
}
