import Benchmark
import Writ

let benchmarks: @Sendable () -> Void = {
    // Baseline so the target runs before its real benchmarks land.
    let key = Ed25519.PrivateKey()
    let message = [UInt8](repeating: 7, count: 200)
    Benchmark("Token: raw libsodium sign (baseline)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(key.signature(for: message)) }
    }
}
