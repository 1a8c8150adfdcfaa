import WritCrypto
import WritFileSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A ``WatermarkStore`` in a directory: one file per verifier holding its latest signed report, replaced
/// atomically.
///
/// Verifiers need write access to this directory only, never to the feed. A file that does not parse is reported
/// as an error naming it, never skipped silently; reports are not trusted here (the publisher verifies them).
public final class FileWatermarkStore: WatermarkStore {
    /// The directory's path.
    public let directory: String

    /// Opens (creating when missing, mode 0755) the directory at `path`.
    ///
    /// - Throws: ``RevocationError`` with code `storeUnavailable` when it cannot be created or is not a directory.
    public init(directory path: String) throws(RevocationError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw RevocationError(.storeUnavailable, "cannot create '\(path)': \(POSIXFile.errnoText())")
        }
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw RevocationError(.storeUnavailable, "'\(path)' is not a directory")
        }
        directory = path
    }

    /// The file of one verifier: its name's hash, so any name maps to a safe file name.
    private func file(for verifier: String) -> String {
        "\(directory)/\(Hex.encode(Array(SHA256.hash(Array(verifier.utf8)).prefix(16)))).report"
    }

    public func record(_ report: WatermarkReport) async throws {
        let path = file(for: report.verifier)
        if let bytes = try RevocationFiles.read(path, limit: FeedFormat.maximumRecordBytes),
            let current = try? WatermarkReport(bytes: bytes), current.verifier == report.verifier,
            current.recordedAt > report.recordedAt
        {
            return
        }
        try RevocationFiles.replace(path, with: report.bytes, mode: 0o644)
    }

    public func reports() async throws -> [WatermarkReport] {
        guard let handle = opendir(directory) else {
            throw RevocationError(.storeUnavailable, "cannot list '\(directory)': \(POSIXFile.errnoText())")
        }
        defer { closedir(handle) }
        var reports: [WatermarkReport] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasSuffix(".report") else { continue }
            let path = "\(directory)/\(name)"
            guard let bytes = try RevocationFiles.read(path, limit: FeedFormat.maximumRecordBytes) else { continue }
            do {
                reports.append(try WatermarkReport(bytes: bytes))
            } catch {
                throw RevocationError(.malformed, "'\(path)': \(error.context)")
            }
        }
        return reports.sorted { $0.verifier < $1.verifier }
    }

    public func removeVerifier(_ verifier: String) async throws {
        let path = file(for: verifier)
        if unlink(path) != 0 && errno != ENOENT {
            throw RevocationError(.storeUnavailable, "cannot remove '\(path)': \(POSIXFile.errnoText())")
        }
    }
}
