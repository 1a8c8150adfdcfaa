#if canImport(Glibc)
package import Glibc
#elseif canImport(Musl)
package import Musl
#elseif canImport(Darwin)
package import Darwin
#endif

/// The POSIX file operations Writ's file stores need (the revocation feed, the audit log, the nonce file), each
/// failing with a message instead of an errno, written once for all of them. Each store turns a failure into its
/// own module's error.
package enum POSIXFile {
    /// A failed operation: what was attempted on which path, and the system's reason.
    package struct Failure: Error, CustomStringConvertible {
        /// `cannot <operation> '<path>': <reason>`.
        package let description: String
        /// The `errno` of the failed call.
        package let errno: Int32
    }

    /// The text of the current `errno`.
    package static func errnoText() -> String { String(cString: strerror(errno)) }

    /// `open(2)`.
    package static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
        #if canImport(Darwin)
        return Darwin.open(path, flags, mode)
        #elseif canImport(Musl)
        return Musl.open(path, flags, mode)
        #else
        return Glibc.open(path, flags, mode)
        #endif
    }

    /// `close(2)`.
    package static func close(_ fd: Int32) {
        #if canImport(Darwin)
        _ = Darwin.close(fd)
        #elseif canImport(Musl)
        _ = Musl.close(fd)
        #else
        _ = Glibc.close(fd)
        #endif
    }

    /// `flock(2)`, retried on `EINTR`.
    package static func lock(_ fd: Int32, _ operation: Int32) -> Bool {
        var result: Int32
        repeat { result = flock(fd, operation) } while result != 0 && errno == EINTR
        return result == 0
    }

    /// A non-blocking exclusive `flock(2)` tried until `patience` has passed; `false` when another open file
    /// description still holds the lock then.
    ///
    /// The patience covers a holder that is already letting go: an `flock` lock lives as long as any copy of its
    /// descriptor, and a child being spawned by another thread holds copies of every descriptor — `O_CLOEXEC` or
    /// not — until its `exec`. A handle closed and reopened at that moment would otherwise see its own released
    /// lock as another writer's.
    package static func lockExclusive(_ fd: Int32, patience: Duration = .seconds(1)) -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: patience)
        while true {
            if lock(fd, LOCK_EX | LOCK_NB) { return true }
            guard errno == EWOULDBLOCK, clock.now < deadline else { return false }
            usleep(5_000)
        }
    }

    /// Adds "close every descriptor from 3 up" to `actions`, done in the child itself at spawn (so a descriptor
    /// another thread opens meanwhile is closed too, whether close-on-exec or not); `false` where the C library
    /// lacks `posix_spawn_file_actions_addclosefrom_np` (glibc before 2.34; not Linux), which Swift's Glibc
    /// module does not declare, hence the lookup.
    package static func addCloseFromThree(_ actions: inout posix_spawn_file_actions_t) -> Bool {
        #if os(Linux)
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        // A null handle is RTLD_DEFAULT on glibc: every loaded object.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        else { return false }
        return unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3) == 0
        #else
        return false
        #endif
    }

    /// Writes all of `bytes` at `offset`; returns an error message on failure.
    package static func write(_ fd: Int32, _ bytes: [UInt8], at offset: UInt64) -> String? {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes {
                pwrite(fd, $0.baseAddress! + done, $0.count - done, off_t(offset) + off_t(done))
            }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return errnoText() }
            done += n
        }
        return nil
    }

    /// Reads `count` bytes at `offset`; `nil` when the file is shorter or unreadable.
    package static func read(_ fd: Int32, count: Int, at offset: UInt64) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + done, $0.count - done, off_t(offset) + off_t(done))
            }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return nil }
            done += n
        }
        return bytes
    }

    /// `fdatasync` where available (an append changes the size, which it syncs too).
    package static func dataSync(_ fd: Int32) -> Bool {
        #if canImport(Darwin)
        return fsync(fd) == 0
        #else
        return fdatasync(fd) == 0
        #endif
    }

    /// Syncs the directory holding `path`, so a created or renamed file survives a crash.
    package static func syncDirectory(of path: String) {
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let fd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }

    /// The size of the open file.
    package static func size(_ fd: Int32) -> UInt64? {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        return UInt64(info.st_size)
    }

    /// Reads the whole file at `path` (not following a symlink); `nil` when it does not exist, and
    /// ``ReadFailure/tooLarge(_:)`` when it is larger than `limit`.
    package static func readFile(_ path: String, limit: Int) throws(ReadFailure) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw .system(failure("open", path))
        }
        defer { close(fd) }
        guard let size = size(fd) else { throw .system(failure("examine", path)) }
        guard size <= UInt64(limit) else { throw .tooLarge("'\(path)' is \(size) bytes, limit \(limit)") }
        guard let bytes = read(fd, count: Int(size), at: 0) else { throw .system(failure("read", path)) }
        return bytes
    }

    /// Why ``readFile(_:limit:)`` failed.
    package enum ReadFailure: Error {
        /// A system call failed.
        case system(Failure)
        /// The file is larger than the limit (the message names it).
        case tooLarge(String)
    }

    /// The failure of `operation` on `path`, from the current `errno`.
    package static func failure(_ operation: String, _ path: String) -> Failure {
        Failure(description: "cannot \(operation) '\(path)': \(errnoText())", errno: errno)
    }

    /// Replaces the file at `path` with `bytes` durably: a temporary file, synced, renamed over it, and the
    /// directory synced. A reader sees the old content or the new, never a mix.
    package static func replaceFile(_ path: String, with bytes: [UInt8], mode: mode_t = 0o600) throws(Failure) {
        let temporary = "\(path).tmp-\(getpid())"
        _ = unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw failure("create", temporary) }
        if let message = write(fd, bytes, at: 0) {
            let code = errno
            close(fd)
            _ = unlink(temporary)
            throw Failure(description: "cannot write '\(temporary)': \(message)", errno: code)
        }
        guard fsync(fd) == 0 else {
            let failed = failure("sync", temporary)
            close(fd)
            _ = unlink(temporary)
            throw failed
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let failed = failure("replace", path)
            _ = unlink(temporary)
            throw failed
        }
        syncDirectory(of: path)
    }

    /// A file's device and inode: tells whether the file at a path is still the one that is open.
    package struct Identity: Hashable {
        package var device: UInt64
        package var inode: UInt64

        package init?(fd: Int32) {
            var info = stat()
            guard fstat(fd, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
        }

        package init?(path: String) {
            var info = stat()
            guard lstat(path, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
        }
    }
}
