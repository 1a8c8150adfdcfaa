// swift-tools-version: 6.1
import PackageDescription

// Benchmarks run beside the physical limit (raw libsodium, through WritCrypto's thin wrappers) and peers.
// Run from this folder: swift package --disable-sandbox benchmark
let package = Package(
    name: "WritBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "writ", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        // HTTPBench's servers (the no-auth ceiling, the jwt-kit peer, Writ's middleware and authority).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
    ],
    targets: [
        .executableTarget(
            name: "TokenBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Writ", package: "writ"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            path: "Benchmarks/TokenBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "PolicyBenchmarks",
            dependencies: [.product(name: "Benchmark", package: "benchmark"), .product(name: "Writ", package: "writ")],
            path: "Benchmarks/PolicyBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "AuditBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Writ", package: "writ"),
                .product(name: "WritAudit", package: "writ"),
                .product(name: "WritCrypto", package: "writ"),
            ],
            path: "Benchmarks/AuditBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "RevocationBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Writ", package: "writ"),
                .product(name: "WritRevocation", package: "writ"),
            ],
            path: "Benchmarks/RevocationBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "GatekeeperBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Writ", package: "writ"),
                .product(name: "WritCrypto", package: "writ"),
                .product(name: "WritPolicy", package: "writ"),
                .product(name: "WritTokens", package: "writ"),
                .product(name: "WritTesting", package: "writ"),
            ],
            path: "Benchmarks/GatekeeperBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Not an ordo-one benchmark: the HTTP benchmark's servers and load-file generator, driven by wrk through
        // HTTP/run.sh (see Docs/Performance.md, "HTTP").
        .executableTarget(
            name: "HTTPBench",
            dependencies: [
                .product(name: "Writ", package: "writ"),
                .product(name: "WritCrypto", package: "writ"),
                .product(name: "WritHTTP", package: "writ"),
                .product(name: "WritHummingbird", package: "writ"),
                .product(name: "WritSQLite", package: "writ"),
                .product(name: "WritPostgres", package: "writ"),
                .product(name: "WritAudit", package: "writ"),
                .product(name: "WritIdentity", package: "writ"),
                .product(name: "WritPolicy", package: "writ"),
                .product(name: "WritRevocation", package: "writ"),
                .product(name: "WritTokens", package: "writ"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "Benchmarks/HTTPBench"
        ),
    ]
)
