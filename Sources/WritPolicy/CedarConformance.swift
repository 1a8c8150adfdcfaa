public import Foundation

/// Runs Cedar integration-test files (the `cedar-integration-tests` format) against this evaluator.
///
/// A test file names a policies file, an entities file and requests with the expected `decision`, `reason`
/// (policy ids) and `errors` (ids of policies whose evaluation failed). Paths in the test are relative to
/// `root`. The schema is not used.
@_spi(Conformance)
public enum CedarConformance {
    /// The outcome of a run.
    public struct Report: Sendable {
        /// Requests whose decision, reasons and errors all matched.
        public var passed = 0
        /// Requests that did not match (or whose test could not be loaded).
        public var failed = 0
        /// Descriptions of the first failures.
        public var failures: [String] = []
    }

    /// Lists the test files (`*.json`, not `*.entities.json`) directly inside `directory`, sorted.
    public static func testFiles(in directory: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" && !$0.lastPathComponent.hasSuffix(".entities.json") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// Runs the given test files.
    /// - Parameters:
    ///   - files: Test files.
    ///   - root: The folder that paths inside the tests are relative to.
    ///   - maxFailuresListed: How many failure descriptions to keep.
    public static func run(_ files: [URL], root: URL, maxFailuresListed: Int = 20) -> Report {
        var report = Report()
        for file in files {
            run(file, root: root, into: &report, maxFailuresListed: maxFailuresListed)
        }
        return report
    }

    private static func run(_ file: URL, root: URL, into report: inout Report, maxFailuresListed: Int) {
        func fail(_ message: String, count: Int = 1) {
            report.failed += count
            if report.failures.count < maxFailuresListed {
                report.failures.append("\(file.lastPathComponent): \(message)")
            }
        }
        let test: JSONValue
        do {
            test = try JSONParser.parse(Array(try Data(contentsOf: file)))
        } catch {
            fail("cannot read test: \(error)")
            return
        }
        guard case .array(let requests)? = test["requests"] else {
            fail("no requests")
            return
        }
        guard case .string(let policiesPath)? = test["policies"], case .string(let entitiesPath)? = test["entities"]
        else {
            fail("missing policies or entities path", count: requests.count)
            return
        }
        let policySet: PolicySet
        let entities: PolicyEntities
        do {
            let text = try String(contentsOf: root.appendingPathComponent(policiesPath), encoding: .utf8)
            policySet = try PolicySet(text: text)
            entities = try PolicyEntities(json: Array(try Data(contentsOf: root.appendingPathComponent(entitiesPath))))
        } catch {
            fail("cannot load: \(error)", count: requests.count)
            return
        }
        for (i, requestJSON) in requests.enumerated() {
            do {
                let request = try CedarJSON.request(requestJSON)
                let decision = policySet.evaluate(request, entities: entities)
                guard case .string(let expectedDecision)? = requestJSON["decision"],
                    case .array(let reasonJSON)? = requestJSON["reason"],
                    case .array(let errorJSON)? = requestJSON["errors"]
                else {
                    fail("request \(i): missing expectations")
                    continue
                }
                let expectedReasons = Set(reasonJSON.compactMap { if case .string(let s) = $0 { s } else { nil } })
                let expectedErrors = Set(errorJSON.compactMap { if case .string(let s) = $0 { s } else { nil } })
                let reasons = Set(decision.reasons.map(\.rawValue))
                let errors = Set(decision.errors.map(\.policy.rawValue))
                if decision.outcome.rawValue == expectedDecision && reasons == expectedReasons
                    && errors == expectedErrors
                {
                    report.passed += 1
                } else {
                    fail(
                        "request \(i): expected \(expectedDecision) \(expectedReasons.sorted()) errors \(expectedErrors.sorted()), got \(decision.outcome.rawValue) \(reasons.sorted()) errors \(decision.errors)"
                    )
                }
            } catch {
                fail("request \(i): \(error)")
            }
        }
    }
}
