// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "audit-harness",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "writ", path: "../../..")],
    targets: [
        // Today's WritAudit before per-batch checkpoints (git show 9c192a7:Sources/WritAudit), verbatim.
        .target(name: "WritAuditBefore", dependencies: [.product(name: "WritCrypto", package: "writ")],
                swiftSettings: [.enableUpcomingFeature("InternalImportsByDefault"), .enableUpcomingFeature("ExistentialAny"), .enableUpcomingFeature("NonisolatedNonsendingByDefault")]),
        .executableTarget(name: "AuditHarness", dependencies: [
            "WritAuditBefore",
            .product(name: "WritAudit", package: "writ"),
            .product(name: "WritCrypto", package: "writ"),
        ]),
    ]
)
