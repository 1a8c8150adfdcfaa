#if CLI
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The legacy billing API behind the broker, run inside the demo process: a tiny HTTP server that answers only a
/// request carrying its static key (`Authorization: Bearer <key>`), and records what it saw so the demo can show
/// that the key went upstream and the agents' Writ headers did not.
final class DemoLegacyAPI: Sendable {
    struct Seen: Sendable {
        var withKey = 0
        var withoutKey = 0
        var writHeaders = 0
    }

    let port: Int
    private let key: String
    private let seen = DemoMutableBox(Seen())
    private let task = Mutex<Task<Void, any Error>?>(nil)

    init(port: Int, key: String) {
        self.port = port
        self.key = key
    }

    var observed: Seen { seen.value }

    /// Starts serving on 127.0.0.1:`port`; returns once it listens.
    func start() async throws {
        let router = Router()
        let key = self.key
        let seen = self.seen
        router.on("**", method: .post) { request, _ in Self.answer(request, key: key, seen: seen) }
        router.on("**", method: .get) { request, _ in Self.answer(request, key: key, seen: seen) }
        var logger = Logger(label: "writ.demo.legacy")
        logger.logLevel = .critical
        let (bound, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        task.withLock { $0 = Task { try await app.runService(gracefulShutdownSignals: []) } }
        for await _ in bound { break }
    }

    /// Stops the server.
    func stop() async {
        let running = task.withLock { $0 }
        running?.cancel()
        _ = try? await running?.value
    }

    private static func answer(_ request: Request, key: String, seen: DemoMutableBox<Seen>) -> Response {
        let authorized = request.headers[.authorization] == "Bearer \(key)"
        let writ = request.headers.contains { $0.name.rawName.lowercased().hasPrefix("writ") }
        seen.update {
            if authorized { $0.withKey += 1 } else { $0.withoutKey += 1 }
            if writ { $0.writHeaders += 1 }
        }
        let body = authorized ? #"{"ok":true,"refund":"accepted"}"# : #"{"error":"bad api key"}"#
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(
            status: authorized ? .ok : .unauthorized,
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(string: body))
        )
    }
}
#endif
