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
        .executable(name: "writ", targets: ["writ"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
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
        .target(name: "WritIdentity", dependencies: ["WritCrypto"]),
        .target(name: "WritTokens", dependencies: ["WritCrypto", "WritIdentity"]),
        .target(name: "WritPolicy"),
        .target(name: "WritAudit", dependencies: ["WritCrypto"]),
        .target(name: "WritRevocation", dependencies: ["WritCrypto"]),
        .target(
            name: "Writ",
            dependencies: ["WritCrypto", "WritIdentity", "WritTokens", "WritPolicy", "WritAudit", "WritRevocation"]
        ),
        .target(
            name: "WritTesting",
            dependencies: ["Writ", "WritCrypto", "WritIdentity", "WritTokens", "WritAudit", "WritRevocation"]
        ),
        .executableTarget(
            name: "writ",
            dependencies: [
                "Writ", "WritCrypto", "WritIdentity", "WritTokens", "WritPolicy", "WritAudit", "WritRevocation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
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
        // Runs the built `writ` executable: the README's main job and the CLI's exit codes.
        .testTarget(name: "WritCLITests", dependencies: ["writ"]),
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
