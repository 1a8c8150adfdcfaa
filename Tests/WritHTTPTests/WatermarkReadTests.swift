#if HTTP
import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import NIOCore
import Testing
import Writ
import WritCrypto
import WritHTTP
import WritHummingbird
import WritIdentity
import WritRevocation
import WritTesting

@Suite("GET /v1/watermarks: operators read a verifier's signed reports and check them themselves")
struct WatermarkReadTests {
    let helper = AuthorityRouteTests()

    /// A signed report by `repo`'s service key at `sequence`, stored in the world's watermark store.
    func storeReport(_ world: HTTPWorld, sequence: UInt64 = 0) async throws -> WatermarkReport {
        let report = try WatermarkReport(
            verifier: "repo",
            sequence: sequence,
            hash: .zero,
            recordedAt: world.clock.now(),
            signer: world.serviceKey
        )
        try await world.watermarks.record(report)
        return report
    }

    @Test("an operator gets the stored bytes and the registered key; agents, services, strangers are refused")
    func whoMayRead() async throws {
        let world = try await HTTPWorld()
        let report = try await storeReport(world)
        let clock = world.clock
        let helper = self.helper
        try await helper.withApp(world) { client in
            let target = "/v1/watermarks?verifier=repo"
            let byOperator = try await helper.send(
                client,
                .key(world.operatorKey.publicKey),
                world.operatorKey,
                .get,
                target,
                clock: clock
            )
            #expect(byOperator.status == .ok, "\(byOperator.text)")
            let body = try JSONDecoder().decode(
                WritWire.WatermarkReportsBody.self,
                from: Data(byOperator.body.readableBytesView)
            )
            #expect(body.verifier == "repo")
            #expect(body.reports == [Base64URL.encode(report.bytes)])
            #expect(body.key == Base64URL.encode(world.serviceKey.publicKey.rawRepresentation))
            #expect(try body.verifiedReports(verifier: "repo", key: world.serviceKey.publicKey) == [report])

            // Another verifier's name: an empty list, not someone else's report.
            let other = try await helper.send(
                client,
                .key(world.operatorKey.publicKey),
                world.operatorKey,
                .get,
                "/v1/watermarks?verifier=billing",
                clock: clock
            )
            let otherBody = try JSONDecoder().decode(
                WritWire.WatermarkReportsBody.self,
                from: Data(other.body.readableBytesView)
            )
            #expect(otherBody.reports.isEmpty)
            #expect(otherBody.key == nil)

            let byService = try await helper.send(
                client,
                .key(world.serviceKey.publicKey),
                world.serviceKey,
                .get,
                target,
                clock: clock
            )
            #expect(byService.status == .forbidden)
            #expect(byService.refusal?.code == "forbidden")
            let stranger = Ed25519.PrivateKey()
            let byStranger = try await helper.send(
                client,
                .key(stranger.publicKey),
                stranger,
                .get,
                target,
                clock: clock
            )
            #expect(byStranger.status == .forbidden)

            // No credentials at all, and a proof signed for another verifier's query: 401.
            let anonymous = try await client.execute(uri: target, method: .get)
            #expect(anonymous.status == .unauthorized)
            let headers = try helper.signed(
                .key(world.operatorKey.publicKey),
                world.operatorKey,
                "GET",
                target,
                [],
                clock: clock,
                signFor: "/v1/watermarks?verifier=billing"
            )
            let moved = try await client.execute(uri: target, method: .get, headers: headers)
            #expect(moved.status == .unauthorized)
            #expect(moved.refusal?.code == "proof-invalid")

            let missing = try await helper.send(
                client,
                .key(world.operatorKey.publicKey),
                world.operatorKey,
                .get,
                "/v1/watermarks",
                clock: clock
            )
            #expect(missing.status == .badRequest)
        }
    }

    @Test("the body's check: another verifier's report, a flipped signature bit, the wrong key, no key")
    func bodyChecks() async throws {
        let key = Ed25519.PrivateKey()
        let clock = ManualClock()
        let report = try WatermarkReport(
            verifier: "repo",
            sequence: 7,
            hash: .zero,
            recordedAt: clock.now(),
            signer: key
        )
        let honest = WritWire.WatermarkReportsBody(verifier: "repo", key: key.publicKey, reports: [report])
        #expect(try honest.verifiedReports(verifier: "repo", key: nil) == [report])
        #expect(try honest.verifiedReports(verifier: "repo", key: key.publicKey) == [report])

        var flipped = report.bytes
        flipped[flipped.count - 1] ^= 0x01
        var tampered = honest
        tampered.reports = [Base64URL.encode(flipped)]
        #expect(throws: WritEvidenceError.self) { try tampered.verifiedReports(verifier: "repo", key: key.publicKey) }
        do {
            _ = try tampered.verifiedReports(verifier: "repo", key: nil)
            Issue.record("a flipped signature verified")
        } catch {
            #expect(error.code == .badSignature)
        }
        // Tampered sequence (signature intact over the old bytes): also bad-signature.
        var raised = report.bytes
        let sequenceOffset = 2 + 2 + "repo".utf8.count
        raised[sequenceOffset + 7] ^= 0x40
        tampered.reports = [Base64URL.encode(raised)]
        #expect(codeOf { try tampered.verifiedReports(verifier: "repo", key: nil) } == .badSignature)

        // A body whose registered key is someone else's: the caller's key wins and the report fails.
        let impostor = Ed25519.PrivateKey()
        #expect(codeOf { try honest.verifiedReports(verifier: "repo", key: impostor.publicKey) } == .badSignature)
        // A report of another verifier under this name.
        #expect(codeOf { try honest.verifiedReports(verifier: "tickets", key: key.publicKey) } == .wrongSubject)
        // No key anywhere.
        let keyless = WritWire.WatermarkReportsBody(verifier: "repo", key: nil, reports: [report])
        #expect(codeOf { try keyless.verifiedReports(verifier: "repo", key: nil) } == .noKey)
        // Garbage.
        let garbage = WritWire.WatermarkReportsBody(verifier: "repo", key: key.publicKey, reports: [])
        var junk = garbage
        junk.reports = ["%%%"]
        #expect(codeOf { try junk.verifiedReports(verifier: "repo", key: nil) } == .malformed)
        junk.reports = [Base64URL.encode([1, 4, 0])]
        #expect(codeOf { try junk.verifiedReports(verifier: "repo", key: nil) } == .malformed)
    }

    @Test("over loopback: WritAuthorityClient.watermarks verifies; a tampered stored report is a typed error")
    func loopback() async throws {
        let world = try await HTTPWorld()
        let port = freeLoopbackPort()
        let origin = try WritOrigin("http://127.0.0.1:\(port)")
        let routes = WritAuthorityRoutes(
            authority: world.authority,
            publisher: world.publisher,
            configuration: .init(
                authenticator: WritCallerAuthenticator(
                    origin: origin,
                    audience: "writ-authority",
                    issuers: TrustBundle(trusting: world.issuerKey.publicKey),
                    operatorKeys: [world.operatorKey.publicKey],
                    serviceKeys: ["repo": world.serviceKey.publicKey],
                    clock: world.clock
                )
            )
        )
        let router = Router(context: WritBasicRequestContext.self)
        routes.add(to: router)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        let report = try await storeReport(world, sequence: 3)
        let client = WritAuthorityClient(origin: origin, clock: world.clock)
        do {
            try await withLiveServers([app], ports: [port]) {
                let verified = try await client.watermarks(verifier: "repo", operatorKey: world.operatorKey)
                #expect(verified == [report])
                let byKey = try await client.watermarks(
                    verifier: "repo",
                    operatorKey: world.operatorKey,
                    verifierKey: world.serviceKey.publicKey
                )
                #expect(byKey.first?.sequence == 3)

                // The store now holds a report whose signature was altered at rest.
                var bytes = report.bytes
                bytes[bytes.count - 5] ^= 0x10
                let altered = try WatermarkReport(bytes: bytes)
                try await world.watermarks.removeVerifier("repo")
                try await world.watermarks.record(altered)
                do {
                    _ = try await client.watermarks(verifier: "repo", operatorKey: world.operatorKey)
                    Issue.record("an altered report verified")
                } catch let error as WritEvidenceError {
                    #expect(error.code == .badSignature)
                }
                // Not an operator: refused by the server.
                do {
                    _ = try await client.watermarks(verifier: "repo", operatorKey: world.serviceKey)
                    Issue.record("a service key read the watermarks")
                } catch let error as WritHTTPError {
                    #expect(error.status == 403)
                }
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}

/// The evidence error's code `body` throws, or `nil` when it throws none (or another error).
func codeOf(_ body: () throws -> Any) -> WritEvidenceError.Code? {
    do {
        _ = try body()
        return nil
    } catch let error as WritEvidenceError {
        return error.code
    } catch {
        return nil
    }
}
#endif
