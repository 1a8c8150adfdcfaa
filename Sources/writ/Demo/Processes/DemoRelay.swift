#if CLI
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A TCP relay in the demo process, in front of the authority: the authority's public origin is the relay's port,
/// so that the demo can cut the network between the authority and everything else (``partition()``: every open
/// connection is shut down and new ones are closed at once) and heal it (``resume()``). Plain sockets, one thread
/// per direction of a connection.
final class DemoRelay: Sendable {
    private struct State {
        var partitioned = false
        var stopped = false
        var open: Set<Int32> = []
    }

    let port: Int
    let target: Int
    private let listener: Int32
    private let state = Mutex(State())

    /// Binds 127.0.0.1:`port` (relaying to 127.0.0.1:`target` once ``start()`` runs).
    init(port: Int, target: Int) throws {
        self.port = port
        self.target = target
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw DemoChild.Failure(description: "relay: socket failed (errno \(errno))") }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            close(fd)
            throw DemoChild.Failure(description: "relay: cannot listen on 127.0.0.1:\(port) (errno \(errno))")
        }
        listener = fd
    }

    private static func loopback(_ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// Accepts and relays until ``stop()``.
    func start() {
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 {
                    if errno == EINTR { continue }
                    if state.withLock({ $0.stopped }) { return }
                    usleep(1000)
                    continue
                }
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                if state.withLock({ $0.partitioned || $0.stopped }) {
                    close(client)
                    continue
                }
                relay(client)
            }
        }
    }

    private func relay(_ client: Int32) {
        #if canImport(Glibc)
        let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let upstream = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        _ = fcntl(upstream, F_SETFD, FD_CLOEXEC)
        var nodelay: Int32 = 1
        setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &nodelay, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(upstream, Int32(IPPROTO_TCP), TCP_NODELAY, &nodelay, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(target)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(upstream)
            close(client)
            return
        }
        state.withLock {
            $0.open.insert(client)
            $0.open.insert(upstream)
        }
        let ends = DemoMutableBox(2)
        let finish: @Sendable () -> Void = { [self] in
            shutdown(client, Int32(SHUT_RDWR))
            shutdown(upstream, Int32(SHUT_RDWR))
            let last = ends.update { count in
                count -= 1
                return count == 0
            }
            if last {
                state.withLock {
                    $0.open.remove(client)
                    $0.open.remove(upstream)
                }
                close(client)
                close(upstream)
            }
        }
        Thread.detachNewThread {
            Self.pump(from: client, to: upstream)
            finish()
        }
        Thread.detachNewThread {
            Self.pump(from: upstream, to: client)
            finish()
        }
    }

    private static func pump(from source: Int32, to sink: Int32) {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { return }
            var sent = 0
            while sent < count {
                let wrote = buffer.withUnsafeBytes {
                    send(sink, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL))
                }
                if wrote < 0, errno == EINTR { continue }
                if wrote <= 0 { return }
                sent += wrote
            }
        }
    }

    /// Cuts every connection and refuses new ones (closed as soon as accepted).
    func partition() {
        let open = state.withLock { state in
            state.partitioned = true
            return state.open
        }
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// Relays again.
    func resume() { state.withLock { $0.partitioned = false } }

    /// Stops for good: the listener and every connection.
    func stop() {
        let open = state.withLock { state in
            state.stopped = true
            return state.open
        }
        shutdown(listener, Int32(SHUT_RDWR))
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
        close(listener)
    }
}
#endif
