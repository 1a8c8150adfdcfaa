import Foundation
import Testing
import WritCrypto
import WritTesting

@testable import WritRevocation

@Suite("File revocation store")
struct FileRevocationStoreTests {
    let start = Timestamp(secondsSinceEpoch: 1_767_225_600)

    func time(_ seconds: Int64) -> Timestamp { start.advanced(by: .seconds(seconds)) }

    func block(_ n: some BinaryInteger) -> RevocationTarget { .block(RevocationID(high: 0xB10C, low: UInt64(n))) }

    @Test("keeps the shared store contract", arguments: RevocationStoreConformance.Check.allCases)
    func conformance(_ check: RevocationStoreConformance.Check) async throws {
        let directory = try TemporaryDirectory()
        try await RevocationStoreConformance {
            try FileRevocationStore.open(path: directory.path + "/revocations-\(UUID().uuidString).log")
        }.run(check)
    }

    @Test("entries, watermarks and the sequence survive closing and reopening")
    func durableAcrossReopen() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("revocations.log")
        var written: [RevocationEntry] = []
        do {
            let store = try FileRevocationStore.open(path: path)
            for n in 1...5 {
                written.append(
                    try await store.revoke(block(n), reason: .anomaly, at: time(Int64(n)), coversUntil: time(600))
                )
            }
            written.append(
                try await store.revoke(.task("t-1"), reason: .completed, at: time(9), coversUntil: time(900))
            )
            try await store.recordWatermark(verifier: "gw-1", sequence: 4, at: time(10))
            try await store.recordWatermark(verifier: "gw-2", sequence: 6, at: time(11))
            try await store.removeVerifier("gw-2")
        }
        let reopened = try FileRevocationStore.open(path: path)
        #expect(reopened.repairedTailBytes == 0)
        #expect(try await reopened.entries(after: 0, limit: 100) == written)
        #expect(try await reopened.latestSequence() == 6)
        #expect(
            try await reopened.watermarks() == [VerifierWatermark(verifier: "gw-1", sequence: 4, recordedAt: time(10))]
        )
        let again = try await reopened.revoke(.task("t-1"), reason: .completed, at: time(20), coversUntil: time(800))
        #expect(again == written[5], "a retried revocation after a restart returns the recorded entry")
        let next = try await reopened.revoke(block(99), reason: .manual, at: time(21), coversUntil: time(60))
        #expect(next.sequence == 7, "sequences continue after a restart")
    }

    @Test("names with tabs, newlines, backslashes, control bytes and non-ASCII text round-trip")
    func escapedNames() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("revocations.log")
        let names = ["a\tb", "line\nbreak\r", "back\\slash\\", "\u{01}\u{7F}\u{1B}[0m", "tâche-Ω-日本", "\\x41\\t"]
        let store = try FileRevocationStore.open(path: path)
        var written: [RevocationEntry] = []
        for name in names {
            written.append(try await store.revoke(.task(name), reason: .manual, at: time(0), coversUntil: time(5)))
        }
        try await store.recordWatermark(verifier: "svc\twith\ttabs", sequence: 2, at: time(1))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.split(separator: "\n").count == 1 + names.count + 1, "every record is exactly one line")
        let reopened = try FileRevocationStore.open(path: path)
        #expect(try await reopened.entries(after: 0, limit: 10) == written)
        #expect(try await reopened.watermarks().map(\.verifier) == ["svc\twith\ttabs"])
    }

    @Test("two stores on one file interleave appends with unique, increasing sequences")
    func twoStoresOneFile() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("revocations.log")
        let first = try FileRevocationStore.open(path: path)
        let second = try FileRevocationStore.open(path: path)
        let entries = try await withThrowingTaskGroup(of: RevocationEntry.self) { group in
            for n in 0..<40 {
                let store = n % 2 == 0 ? first : second
                let target = block(UInt64(n))
                let at = time(Int64(n))
                group.addTask { try await store.revoke(target, reason: .manual, at: at, coversUntil: at) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(entries.map(\.sequence)) == Set(1...40))
        let seenByFirst = try await first.entries(after: 0, limit: 100)
        let seenBySecond = try await second.entries(after: 0, limit: 100)
        #expect(seenByFirst.map(\.sequence) == Array(1...40))
        #expect(seenByFirst == seenBySecond)
        #expect(Set(seenByFirst) == Set(entries))

        // Each store decides against the other's appends: a retry through the other store is idempotent.
        let original = try await first.revoke(
            .agent("spiffe://x/agent/a/1"),
            reason: .anomaly,
            at: time(50),
            coversUntil: time(99)
        )
        let retried = try await second.revoke(
            .agent("spiffe://x/agent/a/1"),
            reason: .anomaly,
            at: time(51),
            coversUntil: time(90)
        )
        #expect(retried == original)
        try await second.recordWatermark(verifier: "gw", sequence: original.sequence, at: time(52))
        #expect(try await first.isApplied(sequence: original.sequence))
        #expect(try await first.latestSequence() == 41)
    }

    @Test("a torn final line is cut off on open and complete lines are kept")
    func tornTail() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("revocations.log")
        var written: [RevocationEntry] = []
        do {
            let store = try FileRevocationStore.open(path: path)
            for n in 1...3 {
                written.append(try await store.revoke(block(n), reason: .timeout, at: time(0), coversUntil: time(60)))
            }
        }
        let clean = try Data(contentsOf: URL(fileURLWithPath: path))
        let torn = Array(
            FileRevocationStore.Record.revoke(
                RevocationEntry(
                    sequence: 4,
                    target: block(4),
                    reason: .timeout,
                    revokedAt: time(0),
                    coversUntil: time(60)
                )
            ).encoded().dropLast(7)
        )
        try append(torn, to: path)

        // A store that is already open reads past the unterminated tail without failing.
        let reader = try FileRevocationStore.open(path: path)
        #expect(reader.repairedTailBytes == torn.count)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == clean)
        #expect(try await reader.entries(after: 0, limit: 10) == written)
        let next = try await reader.revoke(block(5), reason: .manual, at: time(1), coversUntil: time(60))
        #expect(next.sequence == 4, "the torn write was never acknowledged, so its sequence is free")

        // While a store is open, another process's torn tail is ignored by reads and repaired by the next write.
        try append(Array(torn.prefix(10)), to: path)
        #expect(try await reader.entries(after: 3, limit: 10) == [next])
        let after = try await reader.revoke(block(6), reason: .manual, at: time(2), coversUntil: time(60))
        #expect(after.sequence == 5)
        let reopened = try FileRevocationStore.open(path: path)
        #expect(try await reopened.entries(after: 0, limit: 10) == written + [next, after])
    }

    @Test("a torn header (crash while creating the file) is repaired")
    func tornHeader() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("revocations.log")
        try append(Array("writ-revoc".utf8), to: path)
        let store = try FileRevocationStore.open(path: path)
        #expect(store.repairedTailBytes == 10)
        #expect(try await store.revoke(block(1), reason: .manual, at: time(0), coversUntil: time(1)).sequence == 1)
    }

    @Test(
        "a file that is not a revocation file is refused and left untouched",
        arguments: [
            "some notes without a newline", "first line\nsecond line\n", "writ-revocations\t2\tdeadbeef\n", "",
        ]
    )
    func foreignFile(_ content: String) throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("notes.txt")
        let bytes = content.isEmpty ? [UInt8](repeating: 0x41, count: 9000) : Array(content.utf8)
        try append(bytes, to: path)
        let error = #expect(throws: RevocationError.self) { try FileRevocationStore.open(path: path) }
        #expect(
            error?.code == .corruptStore && error?.context.contains("line 1") == true,
            "\(String(describing: error))"
        )
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: path))) == bytes)
    }

    @Test(
        "malformed lines fail closed naming the line",
        arguments: [
            (
                ["revoke", "3", "cookie", "abc", "manual", "0", "1"], RevocationError.Code.invalidTarget,
                "unknown target kind"
            ),
            (["revoke", "3", "block", "0102", "manual", "0", "1"], .invalidTarget, "32 hex digits"),
            (["revoke", "3", "task", "t", "forgotten", "0", "1"], .corruptStore, "unknown reason"),
            (["revoke", "03", "task", "t", "manual", "0", "1"], .corruptStore, "canonical"),
            (["revoke", "+3", "task", "t", "manual", "0", "1"], .corruptStore, "canonical"),
            (["revoke", "3", "task", "t", "manual", "-0", "1"], .corruptStore, "canonical"),
            (["revoke", "3", "task", "t\\x09", "manual", "0", "1"], .corruptStore, "canonical"),
            (["revoke", "3", "task", "t\\q", "manual", "0", "1"], .corruptStore, "bad escape"),
            (["revoke", "3", "task", "t", "manual", "0"], .corruptStore, "8 fields"),
            (["revoke", "3", "task", "t", "manual", "0", "1", "extra"], .corruptStore, "8 fields"),
            (["revoke", "2", "task", "t", "manual", "0", "1"], .corruptStore, "does not follow"),
            (["revoke", "0", "task", "t", "manual", "0", "1"], .corruptStore, "sequence 0"),
            (["revoke", "3", "task", "t", "manual", "x", "1"], .corruptStore, "not a time"),
            (["expunge", "3"], .corruptStore, "unknown record kind"),
            (["watermark", "", "3", "0"], .corruptStore, "verifier name"),
            (["floor", "1"], .corruptStore, "below sequence"),
            (["writ-revocations", "1"], .corruptStore, "second header"),
        ] as [([String], RevocationError.Code, String)]
    )
    func malformedLine(fields: [String], code: RevocationError.Code, message: String) async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("revocations.log")
        do {
            let store = try FileRevocationStore.open(path: path)
            _ = try await store.revoke(block(1), reason: .manual, at: time(0), coversUntil: time(9))
            _ = try await store.revoke(block(2), reason: .manual, at: time(0), coversUntil: time(9))
        }
        let reader = try FileRevocationStore.open(path: path)
        try append(checksummedLine(fields), to: path)
        try append(checksummedLine(["revoke", "9", "task", "after", "manual", "0", "1"]), to: path)
        func check(_ error: RevocationError?) {
            #expect(error?.code == code, "\(String(describing: error))")
            #expect(
                error?.context.contains("line 4") == true && error?.context.contains(message) == true,
                "\(String(describing: error))"
            )
        }
        check(#expect(throws: RevocationError.self) { try FileRevocationStore.open(path: path) })
        // A store that was open before the bad line appeared fails closed too, for reads and for writes.
        check(await #expect(throws: RevocationError.self) { try await reader.entries(after: 0, limit: 10) })
        check(
            await #expect(throws: RevocationError.self) {
                try await reader.revoke(block(3), reason: .manual, at: time(0), coversUntil: time(9))
            }
        )
    }

    @Test("a line modified on disk fails its checksum, even in the middle of the file")
    func modifiedLine() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("revocations.log")
        do {
            let store = try FileRevocationStore.open(path: path)
            for n in 1...3 { _ = try await store.revoke(block(n), reason: .manual, at: time(0), coversUntil: time(9)) }
        }
        var text = try String(contentsOfFile: path, encoding: .utf8)
        // Turn entry 2's reason from `manual` into `anomaly`, leaving its checksum as it was.
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[2] = lines[2].replacingOccurrences(of: "\tmanual\t", with: "\tanomaly\t")
        text = lines.joined(separator: "\n")
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        let error = #expect(throws: RevocationError.self) { try FileRevocationStore.open(path: path) }
        #expect(error?.code == .corruptStore)
        #expect(error?.context.contains("line 3: checksum mismatch") == true, "\(String(describing: error))")
    }

    @Test("a line changed after it was indexed is caught when the feed reads it")
    func changedAfterIndexing() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("revocations.log")
        let store = try FileRevocationStore.open(path: path)
        let entry = try await store.revoke(.task("abc"), reason: .manual, at: time(0), coversUntil: time(9))
        // Same length, different task: the index still points at the line, but it no longer parses.
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let offset = text.utf8.count - Array(FileRevocationStore.Record.revoke(entry).encoded()).count
        try handle.seek(toOffset: UInt64(offset) + UInt64("revoke\t1\ttask\t".utf8.count))
        try handle.write(contentsOf: Data("xyz".utf8))
        try handle.close()
        let error = await #expect(throws: RevocationError.self) { try await store.entries(after: 0, limit: 10) }
        #expect(
            error?.code == .corruptStore && error?.context.contains("line 2") == true,
            "\(String(describing: error))"
        )
    }

    @Test("prune rewrites the file, keeps sequences and the latest sequence, and other stores follow it")
    func prune() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("revocations.log")
        let store = try FileRevocationStore.open(path: path)
        let other = try FileRevocationStore.open(path: path)
        var written: [RevocationEntry] = []
        for n in 1...6 {
            written.append(
                try await store.revoke(
                    block(UInt64(n)),
                    reason: .completed,
                    at: time(0),
                    coversUntil: time(Int64(n * 10))
                )
            )
        }
        try await store.recordWatermark(verifier: "gw", sequence: 5, at: time(1))
        try await store.recordWatermark(verifier: "gw", sequence: 6, at: time(2))
        #expect(try await other.latestSequence() == 6)
        let sizeBefore = try fileSize(path)

        #expect(try await store.prune(expiredBefore: time(35)) == 3)
        #expect(try fileSize(path) < sizeBefore)
        #expect(try await store.entries(after: 0, limit: 10) == Array(written[3...]))
        #expect(
            try await other.entries(after: 0, limit: 10) == Array(written[3...]),
            "the other store follows the new file"
        )
        #expect(try await other.watermarks() == [VerifierWatermark(verifier: "gw", sequence: 6, recordedAt: time(2))])
        #expect(try await store.prune(expiredBefore: time(35)) == 0)

        // The other store appends to the new file, not to the replaced one.
        let appended = try await other.revoke(block(7), reason: .manual, at: time(3), coversUntil: time(70))
        #expect(appended.sequence == 7)
        #expect(try await store.entries(after: 6, limit: 10) == [appended])

        // Pruning everything keeps the latest sequence, also across a reopen.
        #expect(try await store.prune(expiredBefore: time(1000)) == 4)
        #expect(try await other.entries(after: 0, limit: 10).isEmpty)
        let reopened = try FileRevocationStore.open(path: path)
        #expect(try await reopened.latestSequence() == 7)
        #expect(try await reopened.revoke(block(8), reason: .manual, at: time(4), coversUntil: time(5)).sequence == 8)
        #expect(try await store.latestSequence() == 8)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(leftovers == ["revocations.log"], "no temporary file is left behind")
    }

    @Test("watermark reports are group-committed, and pruning compacts superseded ones")
    func compactsWatermarks() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("revocations.log")
        let store = try FileRevocationStore.open(path: path)
        let entry = try await store.revoke(block(1), reason: .manual, at: time(0), coversUntil: time(3600))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 1...1100 {
                let at = time(Int64(n))
                group.addTask { try await store.recordWatermark(verifier: "gw-\(n % 2)", sequence: 1, at: at) }
            }
            try await group.waitForAll()
        }
        let size = try fileSize(path)
        try await store.recordWatermark(verifier: "gw-0", sequence: 1, at: time(1100))  // the same report again
        try await store.recordWatermark(verifier: "gw-1", sequence: 1, at: time(3))  // an older one
        #expect(try fileSize(path) == size, "a repeated or older report writes nothing")
        #expect(try await store.prune(expiredBefore: time(10)) == 0, "compaction removes no entry")
        let compacted = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(compacted.count == 5, "header, entry, two watermarks, floor: \(compacted)")
        #expect(try await store.entries(after: 0, limit: 10) == [entry])
        #expect(
            try await FileRevocationStore.open(path: path).watermarks().map(\.recordedAt) == [time(1100), time(1099)]
        )
    }

    @Test("a file replaced by an older copy is refused: the latest sequence must never go back")
    func replacedByOlderCopy() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("revocations.log")
        let store = try FileRevocationStore.open(path: path)
        _ = try await store.revoke(block(1), reason: .manual, at: time(0), coversUntil: time(9))
        try FileManager.default.copyItem(atPath: path, toPath: path + ".old")
        _ = try await store.revoke(block(2), reason: .manual, at: time(0), coversUntil: time(9))
        #expect(try await store.latestSequence() == 2)
        #expect(rename(path + ".old", path) == 0)
        for _ in 0..<2 {  // and keeps refusing it
            let error = await #expect(throws: RevocationError.self) { try await store.entries(after: 0, limit: 10) }
            #expect(error?.code == .corruptStore && error?.context.contains("went back") == true)
        }
        await #expect(throws: RevocationError.self) {
            try await store.revoke(block(3), reason: .manual, at: time(0), coversUntil: time(9))
        }
    }

    @Test("every record kind encodes to one canonical line that parses back")
    func recordsRoundTrip() throws {
        let records: [FileRevocationStore.Record] = [
            .header(version: 1),
            .revoke(
                RevocationEntry(
                    sequence: .max,
                    target: .issuerKey(try KeyID(bytes: [0, 1, 2, 3, 4, 5, 6, 7])),
                    reason: .keyCompromised,
                    revokedAt: Timestamp(millisecondsSinceEpoch: .min),
                    coversUntil: Timestamp(millisecondsSinceEpoch: .max)
                )
            ),
            .watermark(VerifierWatermark(verifier: "spiffe://x/svc", sequence: 0, recordedAt: time(1))),
            .forget(verifier: "gone\n"),
            .floor(sequence: 12),
        ]
        for (number, record) in records.enumerated() {
            let line = record.encoded()
            #expect(line.last == UInt8(ascii: "\n") && line.dropLast().allSatisfy { $0 != UInt8(ascii: "\n") })
            #expect(try FileRevocationStore.Record.parse(line.dropLast(), number: number + 1, path: "p") == record)
        }
        #expect(FileRevocationStore.CRC32.checksum(Array("123456789".utf8)[...]) == 0xCBF4_3926)
    }

    // MARK: Helpers

    /// `fields` joined by tabs with a correct checksum and a newline.
    func checksummedLine(_ fields: [String]) -> [UInt8] {
        let body = Array(fields.joined(separator: "\t").utf8)
        let crc = FileRevocationStore.CRC32.checksum(body[...])
        return body + Array(("\t" + String(format: "%08x", crc) + "\n").utf8)
    }

    func append(_ bytes: [UInt8], to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(bytes))
        try handle.close()
    }

    func fileSize(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? -1
    }
}

/// A fresh directory under the system's temporary directory, removed when the value is released.
private final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        path =
            FileManager.default.temporaryDirectory.appendingPathComponent("writ-revocations-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
