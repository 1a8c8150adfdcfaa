#if SQLite
import Foundation
import Testing
import Writ
import WritAudit
import WritCrypto
import WritRevocation
import WritSQLite
import WritTesting

/// Other OS processes on the same database file: writers racing (sequences and step numbers stay unique and
/// gap-free, no update is lost), and writers killed with SIGKILL at random moments (every acknowledged write is
/// there after reopening, and the file always opens and passes `PRAGMA integrity_check`).
@Suite("SQLite stores across processes", .serialized)
struct ProcessTests {
    func block(_ tag: UInt64, _ n: UInt64) -> RevocationTarget { .block(RevocationID(high: tag, low: n)) }

    /// Every entry signed by the revocation key, contiguous from 1, each linked to the previous one.
    func expectOneChain(_ entries: [SignedRevocationEntry], _ what: String) {
        #expect(
            entries.map(\.sequence) == Array(1...UInt64(max(entries.count, 1))).prefix(entries.count).map { $0 },
            "\(what): gaps"
        )
        var previous = RevocationFeedHash.zero
        for entry in entries {
            #expect(entry.previousHash == previous, "\(what): #\(entry.sequence) is not linked")
            #expect(entry.isSigned(by: SharedAuthority.revocationKey.publicKey), "\(what): #\(entry.sequence)")
            previous = entry.hash
        }
    }

    @Test(
        "three processes revoke and issue on one file: sequences unique and gap-free, no lost update",
        .timeLimit(.minutes(3))
    )
    func racingProcesses() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("shared.sqlite")
        let database = try SQLiteDatabase.open(path: path, busyTimeout: .seconds(30))
        let authority = try await SharedAuthority.authority(database)
        let task = try await SharedAuthority.openTask(authority)
        let perProcess = 40
        let steps = 25
        let revokers = try await [1, 3].asyncMap { tag in
            try await Helper("revoke", database: path, ["\(perProcess)", "\(tag)"], marker: directory.path("r\(tag)"))
        }
        let issuer = try await Helper("issue", database: path, ["\(steps)", task], marker: directory.path("i"))
        // This process writes too, at the same time.
        let publisher = try SharedAuthority.publisher(database)
        var mine: [(UInt64, UInt64)] = []
        var myNumbers: [UInt64] = []
        for n in 1...UInt64(perProcess) {
            mine.append(
                (
                    try await publisher.revoke(
                        block(2, n),
                        reason: .manual,
                        coversUntil: SystemClock().now().advanced(by: .seconds(600))
                    ).sequence, n
                )
            )
            if n <= UInt64(steps) {
                let issued = try await authority.issue(task: task, step: SharedAuthority.grant("test-\(n)"))
                myNumbers.append(try #require(issued.token.root.claims.step))
            }
        }
        var acks: [UInt64: [(UInt64, UInt64)]] = [2: mine]
        for (tag, helper) in zip([UInt64(1), 3], revokers) {
            let lines = await helper.finish()
            let errors = await helper.errorText
            #expect(helper.process.terminationStatus == 0, "revoker \(tag): \(errors)")
            acks[tag] = lines.compactMap { words in
                guard words.count == 2, let sequence = UInt64(words[0]), let n = UInt64(words[1]) else { return nil }
                return (sequence, n)
            }
        }
        let issued = await issuer.finish()
        let issuerErrors = await issuer.errorText
        #expect(issuer.process.terminationStatus == 0, "issuer: \(issuerErrors)")

        // The feed: one chain of every revocation, each acknowledged sequence holding its own target.
        let entries = try await SQLiteRevocationStore(database: database).contents().entries
        #expect(entries.count == 3 * perProcess)
        expectOneChain(entries, "the shared feed")
        for (tag, list) in acks {
            #expect(list.count == perProcess, "process \(tag) acknowledged \(list.count)")
            for (sequence, n) in list {
                #expect(entries[Int(sequence) - 1].entry.target == block(tag, n), "#\(sequence) is not \(tag)/\(n)")
            }
        }
        #expect(Set(entries.map(\.entry.target)).count == entries.count, "a revocation was written twice")

        // The task: every step got its own number, and the task counted every one (no lost update).
        let store = SQLiteAuthorityStore(database: database)
        let theirNumbers = issued.compactMap { $0.count == 2 ? UInt64($0[1]) : nil }
        #expect(theirNumbers.count == steps)
        let numbers = myNumbers + theirNumbers
        #expect(Set(numbers).count == 2 * steps, "step numbers collided: \(numbers.sorted())")
        let record = try #require(try await store.task(task))
        #expect(record.nextStepNumber == UInt64(1 + 2 * steps), "the task counted \(record.nextStepNumber - 1) steps")
        let stored = try await store.steps(ofTask: task)
        #expect(stored.count == 2 * steps && stored.allSatisfy { $0.live != nil })
        #expect(Set(stored.map(\.number)) == Set(numbers))
        try await database.checkIntegrity()
    }

    /// Runs one round per element of `arguments` (20 by default) of: start the helper, let it write for a random
    /// while, SIGKILL it, then `check` the file with the round's acknowledgements.
    func killRepeatedly(
        _ mode: String,
        path: String,
        directory: TemporaryDirectory,
        arguments: [[String]] = Array(repeating: [], count: 20),
        check: (Int, [[Substring]]) async throws -> Void
    ) async throws -> Int {
        var generator = SystemRandomNumberGenerator()
        var total = 0
        for (round, extra) in arguments.enumerated() {
            let helper = try await Helper(
                mode,
                database: path,
                extra,
                marker: directory.path("\(mode)-\(round)")
            )
            try await helper.waitUntilReady()
            #expect(FileManager.default.fileExists(atPath: helper.marker), "round \(round): helper never became ready")
            try await Task.sleep(for: .milliseconds(Int.random(in: 20...200, using: &generator)))
            let acks = await helper.kill()
            #expect(helper.process.terminationReason == .uncaughtSignal, "round \(round): exited on its own")
            total += acks.count
            try await check(round, acks)
        }
        return total
    }

    @Test(
        "SIGKILL during revocation appends: every acknowledged entry survives, the chain verifies (20 rounds)",
        .timeLimit(.minutes(5))
    )
    func killDuringRevocations() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("feed.sqlite")
        var acknowledged: [UInt64: RevocationTarget] = [:]
        let total = try await killRepeatedly(
            "revoke",
            path: path,
            directory: directory,
            arguments: (0..<20).map { ["0", "\($0 + 1)"] }
        ) { round, acks in
            for words in acks {
                guard words.count == 2, let sequence = UInt64(words[0]), let n = UInt64(words[1]) else { continue }
                acknowledged[sequence] = block(UInt64(round + 1), n)
            }
            let database = try SQLiteDatabase.open(path: path, mode: .readWrite, checkIntegrity: true)
            defer { database.close() }
            let store = SQLiteRevocationStore(database: database)
            let contents = try await store.contents()
            let entries = contents.entries
            expectOneChain(entries, "round \(round)")
            for (sequence, target) in acknowledged {
                #expect(
                    sequence <= UInt64(entries.count) && entries[Int(sequence) - 1].entry.target == target,
                    "round \(round): #\(sequence) lost"
                )
            }
            let follower = try RevocationFeedFollower(
                verifier: "svc",
                store: store,
                trustedKeys: [SharedAuthority.revocationKey.publicKey],
                snapshot: RevocationSnapshot(maxStaleness: .seconds(600)),
                clock: SystemClock()
            )
            guard contents.head != nil else {
                // Killed before the helper published its first head (entries and heads are separate writes):
                // a feed whose freshness nothing signed is refused, never followed as if fresh.
                let error = await #expect(throws: RevocationError.self) { try await follower.syncOnce() }
                #expect(error?.code == .tampered, "round \(round): \(String(describing: error))")
                return
            }
            let result = try await follower.syncOnce()
            #expect(result.caughtUp || follower.tip.sequence <= UInt64(entries.count), "round \(round)")
            #expect(follower.failure == nil, "round \(round): \(String(describing: follower.failure))")
        }
        #expect(total > 0)
    }

    @Test(
        "SIGKILL during issuance: every acknowledged step is stored with its token and number (20 rounds)",
        .timeLimit(.minutes(5))
    )
    func killDuringIssuance() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("authority.sqlite")
        let task: String
        do {
            let database = try SQLiteDatabase.open(path: path)
            task = try await SharedAuthority.openTask(try await SharedAuthority.authority(database))
            database.close()
        }
        var acknowledged: [String: UInt64] = [:]
        let total = try await killRepeatedly(
            "issue",
            path: path,
            directory: directory,
            arguments: Array(repeating: ["0", task], count: 20)
        ) { round, acks in
            for words in acks where words.count == 2 { acknowledged[String(words[0])] = UInt64(words[1]) }
            let database = try SQLiteDatabase.open(path: path, mode: .readWrite, checkIntegrity: true)
            defer { database.close() }
            let store = SQLiteAuthorityStore(database: database)
            let steps = try await store.steps(ofTask: task)
            let byName = Dictionary(uniqueKeysWithValues: steps.map { ($0.name, $0) })
            for (name, number) in acknowledged {
                let step = byName[name]
                #expect(
                    step?.number == number && step?.live?.token.root.claims.step == number,
                    "round \(round): step \(name) lost"
                )
            }
            #expect(Set(steps.map(\.number)).count == steps.count, "round \(round): step numbers collided")
            let record = try #require(try await store.task(task))
            #expect(steps.allSatisfy { $0.number < record.nextStepNumber }, "round \(round): the task lost a step")
        }
        #expect(total > 0)
    }

    @Test(
        "SIGKILL during audit appends: every acknowledged entry survives, signed and verified (20 rounds)",
        .timeLimit(.minutes(5))
    )
    func killDuringAudit() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("audit.sqlite")
        let key = try SharedAuthority.key(0x42)
        var highest: UInt64?
        let total = try await killRepeatedly("audit", path: path, directory: directory) { round, acks in
            if let top = acks.compactMap({ $0.first.flatMap { UInt64($0) } }).max() { highest = max(highest ?? 0, top) }
            let database = try SQLiteDatabase.open(path: path, mode: .readWrite, checkIntegrity: true)
            defer { database.close() }
            let store = SQLiteAuditStore(database: database)
            let count = try await store.count()
            if let highest {
                #expect(highest < count, "round \(round): entry \(highest) acknowledged, \(count) stored")
            }
            let report = try await AuditVerifier.verify(store: store, keys: AuditKeyring(logKey: key.publicKey))
            #expect(report.isVerified, "round \(round): \(report)")
            if let highest { #expect(highest < report.coveredSize, "round \(round)") }
        }
        #expect(total > 0)
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
#endif
