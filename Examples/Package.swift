// swift-tools-version: 6.1
// Small programs that embed Writ as a host would. CI builds and runs them, and every Swift block in the README is
// an excerpt of them (`.ci/readme-excerpts` checks it), so the README cannot drift from the API.
import PackageDescription

let package = Package(
    name: "writ-examples",
    platforms: [.macOS(.v15)],
    // The core only: every adapter trait off, so no adapter dependency is resolved or built here.
    dependencies: [.package(name: "writ", path: "..", traits: [])],
    targets: [
        // An authority, an agent and a service in one process: attest, per-step tokens, a call, delegation,
        // completion and the revocation proof.
        .executableTarget(name: "EmbeddedDeployment", dependencies: [.product(name: "Writ", package: "writ")]),
        // Tokens alone, offline: mint, delegate, verify.
        .executableTarget(name: "OfflineTokens", dependencies: [.product(name: "Writ", package: "writ")]),
    ]
)
