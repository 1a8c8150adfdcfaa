// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "writ",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Writ", targets: ["Writ"]),
        .library(name: "WritCrypto", targets: ["WritCrypto"]),
        .library(name: "WritIdentity", targets: ["WritIdentity"]),
        .library(name: "WritTokens", targets: ["WritTokens"]),
        .library(name: "WritPolicy", targets: ["WritPolicy"]),
        .library(name: "WritAudit", targets: ["WritAudit"]),
        .library(name: "WritRevocation", targets: ["WritRevocation"]),
        .library(name: "WritTesting", targets: ["WritTesting"]),
        // Adapters: one heavy dependency each, each behind its own package trait (all on by default).
        .library(name: "WritSQLite", targets: ["WritSQLite"]),
        .library(name: "WritPostgres", targets: ["WritPostgres"]),
        .library(name: "WritHTTP", targets: ["WritHTTP"]),
        .library(name: "WritHummingbird", targets: ["WritHummingbird"]),
        .library(name: "WritMCP", targets: ["WritMCP"]),
        .executable(name: "writ", targets: ["writ"]),
    ],
    traits: [
        .trait(
            name: "CLI",
            description: "The `writ` command-line tool (swift-argument-parser); its demo runs on SQLite, `writ serve` on "
                + "SQLite or PostgreSQL, and its tickets tools over MCP (`writ serve mcp`).",
            enabledTraits: ["SQLite", "Postgres", "HTTP", "MCP"]
        ),
        .trait(name: "SQLite", description: "WritSQLite: the embedded durable stores (GRDB)."),
        .trait(name: "Postgres", description: "WritPostgres: shared stores for many machines (postgres-nio)."),
        .trait(name: "HTTP", description: "WritHTTP and WritHummingbird: the HTTP binding, client and servers."),
        .trait(
            name: "MCP", description: "WritMCP: MCP tool servers and clients (the MCP Swift SDK) under Writ.",
            enabledTraits: ["HTTP"]
        ),
        .default(enabledTraits: ["CLI", "SQLite", "Postgres", "HTTP", "MCP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.1"),
        // Documentation only (`swift package generate-documentation`): a command plugin, linked into nothing.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"]), .brew(["libsodium"])]
        ),
        .target(name: "WritCrypto", dependencies: ["CSodium"]),
        // Internal (no product): the POSIX file helpers and CRC-32 the file stores share; no libsodium.
        .target(name: "WritFileSupport"),
        .target(name: "WritIdentity", dependencies: ["WritCrypto"]),
        .target(name: "WritTokens", dependencies: ["WritCrypto", "WritIdentity", "WritFileSupport"]),
        .target(name: "WritPolicy"),
        .target(name: "WritAudit", dependencies: ["WritCrypto", "WritFileSupport"]),
        .target(name: "WritRevocation", dependencies: ["WritCrypto", "WritFileSupport"]),
        .target(
            name: "Writ",
            dependencies: ["WritCrypto", "WritIdentity", "WritTokens", "WritPolicy", "WritAudit", "WritRevocation"]
        ),
        // Adapters. Every product reference is trait-guarded, so with the trait off the package is not resolved.
        .target(
            name: "WritSQLite",
            dependencies: [
                "WritCrypto", "WritTokens", "WritRevocation", "WritAudit", "Writ",
                .product(name: "GRDB", package: "GRDB.swift", condition: .when(traits: ["SQLite"])),
            ]
        ),
        .target(
            name: "WritPostgres",
            dependencies: [
                "WritCrypto", "WritTokens", "WritRevocation", "WritAudit", "Writ",
                .product(name: "PostgresNIO", package: "postgres-nio", condition: .when(traits: ["Postgres"])),
                .product(
                    name: "ServiceLifecycle", package: "swift-service-lifecycle",
                    condition: .when(traits: ["Postgres", "HTTP"])
                ),
                .product(name: "Logging", package: "swift-log", condition: .when(traits: ["Postgres", "HTTP"])),
            ]
        ),
        .target(
            name: "WritHTTP",
            dependencies: [
                "WritCrypto", "WritIdentity", "WritTokens", "WritRevocation", "WritAudit", "Writ",
                .product(name: "AsyncHTTPClient", package: "async-http-client", condition: .when(traits: ["HTTP"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["HTTP"])),
                .product(name: "NIOHTTP1", package: "swift-nio", condition: .when(traits: ["HTTP"])),
                .product(name: "Logging", package: "swift-log", condition: .when(traits: ["Postgres", "HTTP"])),
            ]
        ),
        .target(
            name: "WritHummingbird",
            dependencies: [
                "WritCrypto", "WritIdentity", "WritTokens", "WritRevocation", "WritAudit", "Writ", "WritHTTP",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["HTTP"])),
                // The connection limits' channel handler (`WritServerLimits`): the HTTP/1 server builder and the
                // HTTP-types request/response parts it sees.
                .product(name: "HummingbirdCore", package: "hummingbird", condition: .when(traits: ["HTTP"])),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras", condition: .when(traits: ["HTTP"])),
                .product(name: "AsyncHTTPClient", package: "async-http-client", condition: .when(traits: ["HTTP"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["HTTP"])),
                .product(name: "NIOHTTP1", package: "swift-nio", condition: .when(traits: ["HTTP"])),
                .product(name: "HTTPTypes", package: "swift-http-types", condition: .when(traits: ["HTTP"])),
                .product(
                    name: "ServiceLifecycle", package: "swift-service-lifecycle",
                    condition: .when(traits: ["Postgres", "HTTP"])
                ),
                .product(name: "Logging", package: "swift-log", condition: .when(traits: ["Postgres", "HTTP"])),
            ]
        ),
        .target(
            name: "WritMCP",
            dependencies: [
                "WritCrypto", "WritIdentity", "WritTokens", "WritRevocation", "WritAudit", "Writ", "WritHTTP",
                "WritHummingbird",
                .product(name: "MCP", package: "swift-sdk", condition: .when(traits: ["MCP"])),
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["MCP"])),
                .product(name: "HTTPTypes", package: "swift-http-types", condition: .when(traits: ["MCP"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["MCP"])),
                .product(name: "Logging", package: "swift-log", condition: .when(traits: ["MCP"])),
                // The gateway's upstream client.
                .product(name: "AsyncHTTPClient", package: "async-http-client", condition: .when(traits: ["MCP"])),
                .product(name: "NIOHTTP1", package: "swift-nio", condition: .when(traits: ["MCP"])),
            ]
        ),
        .target(
            name: "WritTesting",
            dependencies: ["Writ", "WritCrypto", "WritIdentity", "WritTokens", "WritAudit", "WritRevocation"]
        ),
        .executableTarget(
            name: "writ",
            dependencies: [
                "Writ", "WritCrypto", "WritIdentity", "WritTokens", "WritPolicy", "WritAudit", "WritRevocation",
                "WritSQLite", "WritPostgres", "WritHTTP", "WritHummingbird",
                "WritMCP",  // `writ serve mcp` (compiled empty without the MCP trait)
                "WritTesting",  // the demo's one-process deployment (LocalDeployment)
                "WritFileSupport",  // the process demo's spawn (POSIXFile.addCloseFromThree)
                .product(name: "ArgumentParser", package: "swift-argument-parser", condition: .when(traits: ["CLI"])),
                // `writ serve`: the servers' process (Hummingbird in a ServiceGroup, swift-log).
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["CLI"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["CLI"])),
                .product(
                    name: "ServiceLifecycle", package: "swift-service-lifecycle", condition: .when(traits: ["CLI"])
                ),
                .product(name: "UnixSignals", package: "swift-service-lifecycle", condition: .when(traits: ["CLI"])),
                .product(name: "Logging", package: "swift-log", condition: .when(traits: ["CLI"])),
                // `writ serve broker`: the upstream client; `writ serve service`: its answers' header fields.
                .product(name: "AsyncHTTPClient", package: "async-http-client", condition: .when(traits: ["CLI"])),
                // `writ drill --deployment` and `writ demo`'s agents: requests' method, headers and status
                // (AsyncHTTPClient's types).
                .product(name: "NIOHTTP1", package: "swift-nio", condition: .when(traits: ["CLI"])),
                .product(name: "HTTPTypes", package: "swift-http-types", condition: .when(traits: ["CLI"])),
                // `writ serve mcp`: the MCP server the tools answer on.
                .product(name: "MCP", package: "swift-sdk", condition: .when(traits: ["MCP"])),
            ]
        ),
        .testTarget(name: "WritCryptoTests", dependencies: ["WritCrypto", "WritTesting"]),
        .testTarget(name: "WritIdentityTests", dependencies: ["WritIdentity", "WritCrypto", "WritTesting"]),
        .testTarget(
            name: "WritTokensTests",
            dependencies: ["WritTokens", "WritIdentity", "WritCrypto", "WritTesting"],
            exclude: ["Vectors"]  // JSON test vectors, read through #filePath
        ),
        .testTarget(name: "WritPolicyTests", dependencies: ["WritPolicy"]),
        // Test support only: the child process that WritAuditTests' crash test kills with SIGKILL. The test target
        // depends on it so that `swift test` builds it.
        .executableTarget(name: "WritAuditCrashHelper", dependencies: ["WritAudit", "WritCrypto"]),
        .testTarget(
            name: "WritAuditTests", dependencies: ["WritAudit", "WritCrypto", "WritTesting", "WritAuditCrashHelper"]
        ),
        .testTarget(
            name: "WritRevocationTests",
            dependencies: ["WritRevocation", "WritCrypto", "WritTesting"],
            exclude: ["Vectors"]  // JSON test vectors, read through #filePath
        ),
        // Test support only: the child process that WritSQLiteTests runs beside itself on one database file (and
        // kills with SIGKILL). The test target depends on it so that `swift test` builds it.
        .executableTarget(
            name: "WritSQLiteHelper",
            dependencies: ["WritSQLite", "Writ", "WritCrypto", "WritIdentity", "WritRevocation", "WritAudit"]
        ),
        .testTarget(
            name: "WritSQLiteTests",
            dependencies: [
                "WritSQLite", "Writ", "WritCrypto", "WritIdentity", "WritTokens", "WritRevocation", "WritAudit",
                "WritTesting", "WritSQLiteHelper",
                // Raw SQL that bypasses the stores (the tamper tests), on a connection of the test's own.
                .product(name: "GRDB", package: "GRDB.swift", condition: .when(traits: ["SQLite"])),
            ]
        ),
        // Test support only: the authority / gatekeeper / follower child processes of WritPostgresTests.
        .executableTarget(
            name: "WritPostgresHelper",
            dependencies: [
                "WritPostgres", "Writ", "WritCrypto", "WritIdentity", "WritTokens", "WritRevocation",
                // Its bench-stores mode compares with the SQLite stores (compiled empty without the SQLite trait).
                "WritSQLite",
            ]
        ),
        .testTarget(
            name: "WritPostgresTests",
            dependencies: [
                "WritPostgres", "Writ", "WritCrypto", "WritIdentity", "WritTokens", "WritRevocation", "WritAudit",
                "WritTesting", "WritPostgresHelper", "WritFileSupport",
                // Raw SQL for the tamper tests (writing the tables as an attacker would, bypassing the stores).
                .product(name: "PostgresNIO", package: "postgres-nio", condition: .when(traits: ["Postgres"])),
            ]
        ),
        .testTarget(
            name: "WritHTTPTests",
            dependencies: [
                "WritHTTP", "WritHummingbird", "Writ", "WritCrypto", "WritIdentity", "WritTokens", "WritRevocation",
                "WritAudit", "WritTesting", "WritPolicy",
                .product(name: "HummingbirdTesting", package: "hummingbird", condition: .when(traits: ["HTTP"])),
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["HTTP"])),
                .product(name: "AsyncHTTPClient", package: "async-http-client", condition: .when(traits: ["HTTP"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["HTTP"])),
                .product(name: "NIOHTTP1", package: "swift-nio", condition: .when(traits: ["HTTP"])),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle", condition: .when(traits: ["HTTP"])),
                .product(name: "Logging", package: "swift-log", condition: .when(traits: ["HTTP"])),
                .product(name: "HTTPTypes", package: "swift-http-types", condition: .when(traits: ["HTTP"])),
            ]
        ),
        // Test support only: a plain MCP server process (the SDK, no Writ) that WritMCPTests' gateway tests spawn as
        // the upstream. The test target depends on it (and on `writ`, for `writ serve mcp`) so `swift test` builds it.
        .executableTarget(
            name: "WritMCPEchoServer",
            dependencies: [
                .product(name: "MCP", package: "swift-sdk", condition: .when(traits: ["MCP"])),
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["MCP"])),
                .product(name: "HTTPTypes", package: "swift-http-types", condition: .when(traits: ["MCP"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["MCP"])),
                .product(name: "Logging", package: "swift-log", condition: .when(traits: ["MCP"])),
                .product(name: "UnixSignals", package: "swift-service-lifecycle", condition: .when(traits: ["MCP"])),
            ]
        ),
        .testTarget(
            name: "WritMCPTests",
            dependencies: [
                "WritMCP", "WritHTTP", "WritHummingbird", "Writ", "WritCrypto", "WritIdentity", "WritTokens",
                "WritRevocation", "WritAudit", "WritTesting", "WritPolicy", "WritMCPEchoServer", "writ",
                .product(name: "MCP", package: "swift-sdk", condition: .when(traits: ["MCP"])),
                .product(name: "AsyncHTTPClient", package: "async-http-client", condition: .when(traits: ["MCP"])),
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["MCP"])),
                .product(name: "HTTPTypes", package: "swift-http-types", condition: .when(traits: ["MCP"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["MCP"])),
                .product(name: "NIOHTTP1", package: "swift-nio", condition: .when(traits: ["MCP"])),
                .product(
                    name: "ServiceLifecycle", package: "swift-service-lifecycle", condition: .when(traits: ["MCP"])
                ),
                .product(name: "Logging", package: "swift-log", condition: .when(traits: ["MCP"])),
            ]
        ),
        // Runs the built `writ` executable: the README's main job and the CLI's exit codes.
        // ServeNetworkCLITests' agent (in the test process) talks to `writ serve` children over HTTP.
        .testTarget(
            name: "WritCLITests",
            dependencies: [
                "writ", "Writ", "WritCrypto", "WritIdentity", "WritTokens", "WritRevocation", "WritHTTP",
                .product(name: "AsyncHTTPClient", package: "async-http-client", condition: .when(traits: ["HTTP"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["HTTP"])),
                .product(name: "NIOHTTP1", package: "swift-nio", condition: .when(traits: ["HTTP"])),
            ]
        ),
        .testTarget(
            name: "WritTests",
            dependencies: [
                "Writ", "WritCrypto", "WritIdentity", "WritTokens", "WritPolicy", "WritAudit", "WritRevocation",
                "WritTesting",
            ]
        ),
    ]
)

// Upcoming features for every Swift target (as swift-log does).
for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(contentsOf: [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("MemberImportVisibility"),
        .enableUpcomingFeature("InternalImportsByDefault"),
        .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
    ])
    target.swiftSettings = settings
}
