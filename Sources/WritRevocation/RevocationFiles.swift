import WritFileSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// WritFileSupport's whole-file reads and durable replacements, failing with ``RevocationError``: a system call's
/// failure is ``RevocationError/Code/storeUnavailable`` with its message, a file over
/// the limit ``RevocationError/Code/malformed``.
enum RevocationFiles {
    /// Reads the whole file at `path` (not following a symlink); `nil` when it does not exist.
    static func read(_ path: String, limit: Int) throws(RevocationError) -> [UInt8]? {
        do {
            return try POSIXFile.readFile(path, limit: limit)
        } catch {
            switch error {
            case .system(let failure): throw RevocationError(.storeUnavailable, failure.description)
            case .tooLarge(let message): throw RevocationError(.malformed, message)
            }
        }
    }

    /// Replaces the file at `path` with `bytes` durably (temporary file, sync, rename, directory sync).
    static func replace(_ path: String, with bytes: [UInt8], mode: mode_t = 0o600) throws(RevocationError) {
        do {
            try POSIXFile.replaceFile(path, with: bytes, mode: mode)
        } catch {
            throw RevocationError(.storeUnavailable, error.description)
        }
    }
}
