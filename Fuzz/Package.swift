// swift-tools-version: 6.1
import PackageDescription

// libFuzzer harnesses, one executable per decoder or verification path, sharing fixtures in FuzzSupport.
// Build and run them with ../.ci/fuzz (see README.md); `fuzz-seeds` rewrites Seeds/ and is built without
// the fuzzer (a libFuzzer build links its own `main`).
let harnesses = [
    "FuzzTokenBytes", "FuzzTokenText", "FuzzProofBytes", "FuzzProofText", "FuzzProofVerify", "FuzzGatekeeper",
    "FuzzCedarPolicy", "FuzzCedarJSON", "FuzzAuditEntry", "FuzzRevocationRecord",
]

/// Harnesses of the HTTP binding's parsers (`WritHTTP`, behind the root package's `HTTP` trait).
let httpHarnesses = ["FuzzHTTPRequest"]

/// Every core product: the harnesses reach below `import Writ` (token, proof and feed internals).
let writ = ["Writ", "WritCrypto", "WritIdentity", "WritTokens", "WritPolicy", "WritAudit", "WritRevocation"].map {
    Target.Dependency.product(name: $0, package: "writ")
}

let package = Package(
    name: "WritFuzz",
    platforms: [.macOS(.v15)],
    // The core and the HTTP binding: the other adapter traits off. Only the HTTP harnesses link WritHTTP (and so
    // swift-nio and async-http-client); the core harnesses depend on the core products alone.
    dependencies: [.package(name: "writ", path: "..", traits: ["HTTP"])],
    targets: [
        .target(name: "FuzzSupport", dependencies: writ),
        .executableTarget(name: "fuzz-seeds", dependencies: ["FuzzSupport"] + writ),
    ]
        + harnesses.map { name in
            .executableTarget(
                name: name,
                dependencies: ["FuzzSupport"] + writ
            )
        }
        + httpHarnesses.map { name in
            .executableTarget(
                name: name,
                dependencies: ["FuzzSupport", .product(name: "WritHTTP", package: "writ")] + writ
            )
        }
)

// The root package's upcoming features, for every target.
for target in package.targets {
    var settings = target.swiftSettings ?? []
    settings.append(contentsOf: [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("MemberImportVisibility"),
        .enableUpcomingFeature("InternalImportsByDefault"),
        .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
    ])
    target.swiftSettings = settings
}
