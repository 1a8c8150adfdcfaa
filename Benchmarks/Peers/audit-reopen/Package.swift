// swift-tools-version: 6.1
import PackageDescription

// Reopen time of a large file log: the tail open (frontier) against a full read, in one process.
let package = Package(
    name: "audit-reopen",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "writ", path: "../../..")],
    targets: [
        .executableTarget(
            name: "ReopenHarness",
            dependencies: [
                .product(name: "WritAudit", package: "writ"),
                .product(name: "WritCrypto", package: "writ"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        )
    ]
)
