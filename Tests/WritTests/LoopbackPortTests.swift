import Testing
import WritTesting

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `freeLoopbackPort()` reserves what it hands out, so a second process drawing ports cannot take one before this
/// process's server binds it, while that server still can.
@Suite("Loopback ports for test servers")
struct LoopbackPortTests {
    /// Why a bind or listen failed: its errno.
    struct BindFailure: Error, Equatable { let errno: Int32 }

    /// A TCP socket bound to 127.0.0.1:`port` (listening when asked), or the errno of what failed.
    func bound(_ port: Int, reuseAddress: Bool, listening: Bool) -> Result<Int32, BindFailure> {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        var yes: Int32 = 1
        if reuseAddress { setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size)) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard ok, !listening || listen(fd, 8) == 0 else {
            let code = errno
            close(fd)
            return .failure(BindFailure(errno: code))
        }
        return .success(fd)
    }

    @Test("a handed-out port is taken for another picker's plain bind, yet a SO_REUSEADDR server binds and listens")
    func reserved() throws {
        let port = freeLoopbackPort()
        try #require((20_000..<32_768).contains(port))
        // What another process's freeLoopbackPort() tries first: refused while the reservation is held.
        switch bound(port, reuseAddress: false, listening: false) {
        case .success(let fd):
            close(fd)
            Issue.record("port \(port) was handed out but another picker could bind it")
        case .failure(let failure): #expect(failure.errno == EADDRINUSE)
        }
        // Nothing listens yet: a connection is refused, as for a free port.
        #expect(!loopbackAccepts(port))
        // The server the port was drawn for (SO_REUSEADDR, as Hummingbird binds) gets it.
        let server = try bound(port, reuseAddress: true, listening: true).get()
        defer { close(server) }
        #expect(loopbackAccepts(port))
        // A second draw never returns the same port.
        #expect(freeLoopbackPort() != port)
    }
}
