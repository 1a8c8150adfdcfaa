#if CLI
import Foundation
import WritRevocation
import WritSQLite
import WritTokens

/// Where a command's store is, as one `--store`-style argument, parsed the same way by every command:
///
/// - `sqlite:PATH` — a Writ SQLite database (WritSQLite: authority state, revocation feed, watermarks, nonces);
/// - `file:PATH` — the flat-file stores (`FileRevocationStore`, `FileNonceStore`, `FileWatermarkStore`);
/// - `postgres://…` or `postgresql://…` — PostgreSQL, parsed so that commands can say it is not available there yet;
/// - a plain path (no scheme) — a file store, as before locators existed.
enum StoreLocator: Equatable, CustomStringConvertible {
    /// A Writ SQLite database.
    case sqlite(path: String)
    /// A flat-file store.
    case file(path: String)
    /// A PostgreSQL database (the whole URL, password included: never print it).
    case postgres(url: String)

    /// Parses `text`, given to `option` (for the error message).
    ///
    /// - Throws: ``CLIError`` (exit 2) for an empty path or an unknown scheme.
    static func parse(_ text: String, option: String) throws -> StoreLocator {
        let lower = text.lowercased()
        if lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") { return .postgres(url: text) }
        let locator: StoreLocator
        if lower.hasPrefix("sqlite:") {
            locator = .sqlite(path: String(text.dropFirst("sqlite:".count)))
        } else if lower.hasPrefix("file:") {
            locator = .file(path: String(text.dropFirst("file:".count)))
        } else if let colon = text.firstIndex(of: ":"), !text[..<colon].contains("/"),
            text[..<colon].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == "." }),
            text[..<colon].count > 1
        {
            throw CLIError.input(
                "\(option): unknown store scheme '\(text[..<colon])' (use sqlite:PATH, file:PATH or postgres://…)"
            )
        } else {
            locator = .file(path: text)
        }
        if locator.path?.isEmpty == true { throw CLIError.input("\(option): '\(text)' names no path") }
        return locator
    }

    /// The file path, for `sqlite:` and `file:`.
    var path: String? {
        switch self {
        case .sqlite(let path), .file(let path): path
        case .postgres: nil
        }
    }

    /// The locator without secrets (a PostgreSQL URL's user information is dropped).
    var description: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .file(let path): "file:\(path)"
        case .postgres(let url):
            if let at = url.lastIndex(of: "@"), let scheme = url.range(of: "://") {
                "\(url[..<scheme.upperBound])…@\(url[url.index(after: at)...])"
            } else {
                url
            }
        }
    }

    /// The error every command gives for a store kind it cannot use yet (exit 2).
    func notAvailable(_ option: String, in command: String) -> CLIError {
        switch self {
        case .postgres:
            CLIError.input("\(option): PostgreSQL stores are not available in `writ \(command)` yet (\(self))")
        case .sqlite:
            CLIError.input("\(option): this writ was built without the SQLite package trait (\(self))")
        case .file:
            CLIError.input("\(option): file stores are not available in `writ \(command)` (\(self))")
        }
    }

    /// Opens the SQLite database at `path` for a command, as an exit-2 error naming the file when it cannot.
    static func openSQLite(_ path: String, create: Bool, option: String) throws -> SQLiteDatabase {
        #if SQLite
        do {
            if create {
                let directory = (path as NSString).deletingLastPathComponent
                if !directory.isEmpty {
                    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                }
            }
            return try SQLiteDatabase.open(path: path, mode: create ? .create : .readWrite)
        } catch {
            throw CLIError.input("\(option): \(error)")
        }
        #else
        throw StoreLocator.sqlite(path: path).notAvailable(option, in: "")
        #endif
    }

    /// The revocation feed (and the watermark store beside it) this locator names, for `command`.
    ///
    /// A file feed is opened read-only unless `create`; an SQLite feed is the database's (created when `create`).
    func revocationStores(
        create: Bool,
        option: String,
        command: String
    ) throws
        -> (feed: any RevocationStore, watermarks: (any WatermarkStore)?)
    {
        switch self {
        case .file(let path):
            do {
                let feed = try FileRevocationStore.open(path: path, mode: create ? .create : .readOnly)
                let directory = ((path as NSString).deletingLastPathComponent as NSString)
                    .appendingPathComponent("watermarks")
                let watermarks =
                    FileManager.default.fileExists(atPath: directory)
                    ? try FileWatermarkStore(directory: directory) : nil
                return (feed, watermarks)
            } catch {
                throw error.code == .storeUnavailable || error.code == .invalidArgument
                    ? CLIError.input("\(option): \(error.context)")
                    : CLIError.rejected("\(option): \(error.context) (refused: \(error.code))")
            }
        case .sqlite(let path):
            #if SQLite
            let database = try Self.openSQLite(path, create: create, option: option)
            return (SQLiteRevocationStore(database: database), SQLiteWatermarkStore(database: database))
            #else
            throw notAvailable(option, in: command)
            #endif
        case .postgres:
            throw notAvailable(option, in: command)
        }
    }

    /// The nonce store this locator names, for `command`.
    func nonceStore(option: String, command: String) throws -> any NonceStore {
        switch self {
        case .file(let path):
            do {
                return try FileNonceStore(path: path)
            } catch {
                throw CLIError.input("\(option): \(error)")
            }
        case .sqlite(let path):
            #if SQLite
            return SQLiteNonceStore(database: try Self.openSQLite(path, create: true, option: option))
            #else
            throw notAvailable(option, in: command)
            #endif
        case .postgres:
            throw notAvailable(option, in: command)
        }
    }
}
#endif
