import Foundation
import Testing
@_spi(Conformance) import WritPolicy

@Suite("Cedar conformance")
struct CedarConformanceTests {
    @Test(
        "a fixed sample of Cedar's corpus (tests named 0…) matches decision, reasons and errors",
        .enabled(
            if: ConformanceData.shouldRun("cedar/corpus-tests.tar.gz"),
            ConformanceData.skipNote("cedar/corpus-tests.tar.gz")
        )
    )
    func corpusSample() throws {
        let root = try ConformanceData.extractCorpusSample(prefix: "0")
        defer { try? FileManager.default.removeItem(at: root) }
        let files = try CedarConformance.testFiles(in: root.appendingPathComponent("corpus-tests"))
        #expect(files.count > 300)
        let report = CedarConformance.run(files, root: root)
        #expect(report.failures == [])
        #expect(report.failed == 0)
        #expect(report.passed > 2_500)
    }

    @Test(
        "Cedar's 22 hand-written tests (74 requests) pass",
        .enabled(if: ConformanceData.shouldRun("cedar/tests"), ConformanceData.skipNote("cedar/tests"))
    )
    func handWritten() throws {
        let root = try #require(ConformanceData.url("cedar"))
        var files: [URL] = []
        for folder in ["decimal", "example_use_cases", "ip", "multi"] {
            files += try CedarConformance.testFiles(in: root.appendingPathComponent("tests/\(folder)"))
        }
        #expect(files.count == 22)
        let report = CedarConformance.run(files, root: root)
        #expect(report.failures == [])
        #expect(report.passed == 74)
    }
}
