import CSodium

/// Ensures `sodium_init` has run exactly once before any libsodium call.
///
/// A `static let` is initialised lazily through `swift_once`, which is thread-safe and runs its initialiser
/// exactly once per process, so every entry point of ``WritCrypto`` touches ``ready`` first.
enum SodiumRuntime {
    static let ready: Void = {
        // sodium_init returns 0 on success, 1 if already initialised, -1 when no entropy source is available.
        // Without randomness no key can be made safely: refuse to continue rather than issue weak keys.
        guard sodium_init() >= 0 else {
            fatalError("libsodium could not be initialised (no secure random source)")
        }
    }()

    @inline(__always)
    static func ensureReady() { _ = ready }
}
