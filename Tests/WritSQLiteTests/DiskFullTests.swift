#if SQLite
import Foundation
import Testing
import Writ
import WritAudit
import WritCrypto
import WritRevocation
import WritSQLite
import WritTesting
import WritTokens

/// The disk fills up under the stores (a 1 MiB tmpfs, mounted as root): every write fails closed with a typed error
/// saying the disk is full, nothing acknowledged is lost, and once there is room again the stores continue.
@Suite("SQLite disk full")
struct DiskFullTests {
    let clock = ManualClock()
    let key = Ed25519.PrivateKey()

    func sqliteCode(_ error: any Error) -> SQLiteStoreError.Code? {
        switch error {
        case let e as RevocationError: (e.underlying as? SQLiteStoreError)?.code
        case let e as NonceStoreError: (e.underlying as? SQLiteStoreError)?.code
        case let e as AuditError: (e.underlying as? SQLiteStoreError)?.code
        case let e as AuthorityStoreError: (e.underlying as? SQLiteStoreError)?.code
        default: nil
        }
    }

    @Test("revocations, nonces and audit entries fail closed on a full disk; no acknowledged write is lost")
    func diskFull() async throws {
        guard let disk = try SmallFileSystem(size: "1m") else {
            Issue.record("mounting a tmpfs failed (the disk-full test needs root)")
            return
        }
        let path = disk.path + "/state.sqlite"
        let database = try SQLiteDatabase.open(path: path)
        let feed = SQLiteRevocationStore(database: database)
        let nonces = SQLiteNonceStore(database: database, clock: clock)
        let log = try await AuditLog.open(
            store: SQLiteAuditStore(database: database),
            service: "svc",
            signingKey: key,
            salt: AuditSalt()
        )
        var acknowledged: [SignedRevocationEntry] = []
        var acknowledgedNonces: [ReplayNonce] = []
        var acknowledgedAudit: UInt64?
        var failures: [String: any Error] = [:]
        // Fill the disk with revocations (big task names), nonces and audit events until each kind fails.
        for n in 0..<20_000 where failures.count < 3 {
            if failures["feed"] == nil {
                do {
                    let name = "task-\(n)-" + String(repeating: "x", count: 900)
                    acknowledged += try await feed.append(
                        [
                            RevocationRequest(
                                .task(name),
                                reason: .manual,
                                at: clock.now(),
                                coversUntil: clock.now().advanced(by: .seconds(60))
                            )
                        ],
                        signer: key,
                        minimum: acknowledged.last.map { RevocationFeedTip(sequence: $0.sequence, hash: $0.hash) }
                    )
                } catch { failures["feed"] = error }
            }
            if failures["nonces"] == nil {
                let nonce = ReplayNonce.random()
                do {
                    if try await nonces.insertIfAbsent(nonce, expiresAt: clock.now().advanced(by: .seconds(90))) {
                        acknowledgedNonces.append(nonce)
                    }
                } catch { failures["nonces"] = error }
            }
            if failures["audit"] == nil {
                do {
                    acknowledgedAudit = try await log.record(
                        AuditEvent(.used, tokenID: "tok-\(n)", reason: String(repeating: "r", count: 400))
                    )
                } catch { failures["audit"] = error }
            }
        }
        #expect(failures.count == 3, "the disk never filled: \(failures.keys.sorted())")
        for (what, error) in failures {
            #expect(sqliteCode(error) == .diskFull, "\(what): \(error)")
            #expect("\(error)".contains(path), "\(what) must name the file: \(error)")
        }
        if let error = failures["nonces"] as? NonceStoreError { #expect(error.code == .full) }
        #expect(acknowledged.count > 10 && acknowledgedNonces.count > 10 && (acknowledgedAudit ?? 0) > 10)

        // Nothing acknowledged is lost, on this handle and on a new one.
        #expect(try await feed.contents().entries == acknowledged)
        let other = try SQLiteDatabase.open(path: path, mode: .readWrite)
        #expect(try await SQLiteRevocationStore(database: other).contents().entries == acknowledged)
        let peerNonces = SQLiteNonceStore(database: other, clock: clock)
        for nonce in acknowledgedNonces.prefix(50) {
            #expect(try await !peerNonces.insertIfAbsent(nonce, expiresAt: clock.now().advanced(by: .seconds(90))))
        }
        let auditStore = SQLiteAuditStore(database: other)
        if let acknowledgedAudit { #expect(try await auditStore.count() > acknowledgedAudit) }
        #expect(try await AuditVerifier.verify(store: auditStore, keys: AuditKeyring(logKey: key.publicKey)).isVerified)
        other.close()

        // Room again: the feed continues its chain.
        #expect(disk.remount("size=8m"))
        let next = try await feed.append(
            [RevocationRequest(.task("after"), reason: .manual, at: clock.now(), coversUntil: clock.now())],
            signer: key,
            minimum: nil
        )
        #expect(
            next.first?.sequence == UInt64(acknowledged.count + 1)
                && next.first?.previousHash == acknowledged.last?.hash
        )
        database.close()
        try SQLiteDatabase.open(path: path, mode: .readWrite, checkIntegrity: true).close()
    }
}
#endif
