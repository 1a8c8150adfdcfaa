// The `writ` executable exists in every build of the package, but its commands only with the `CLI` trait (the
// default): `swift build --disable-default-traits --product Writ` must not need swift-argument-parser.
#if !CLI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Entry point when the package is built without the `CLI` trait: says so and exits with status 2.
@main
enum WritWithoutCLI {
    static func main() {
        print("writ: built without the CLI trait (swift build --traits CLI)")
        exit(2)
    }
}
#endif
