#if CLI
import ArgumentParser
import Foundation
import Writ

/// `writ demo`: the whole mission, end to end, in one command.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "Run Writ's end-to-end demonstration: attestation, per-step tokens, delegation, refresh, checkpoints, anomaly revocation, the broker, hand-off, the revocation drill, audit verification and the forensic timeline.",
        discussion: """
            Two modes. By default (or with --processes), the mission runs as separate OS processes on loopback: the authority, three
            services (repo, tickets, payments) and the broker in front of a legacy billing API (served by the demo
            process itself) are `writ serve` children of this executable, each in its own process group with its
            own SQLite file (or, with --postgres URL, its own schema on one PostgreSQL); the planner, its sub-agents
            and the canary call them over HTTP with their own keys, on the real clock (step tokens live 4 s, so they
            refresh for real). It shows the faults (SIGKILL of a service, a restart of the authority), measures
            revocation → denial on every service, and stops every child on every exit path (SIGTERM, then SIGKILL
            after 3 s), including ^C. The work directory is cleaned at the start and kept at the end (configs,
            keys/, logs/<name>.log, <name>.sqlite, deployment.json); --keep also keeps the PostgreSQL schemas and
            prints commands to inspect the stores.

            With --in-process (implied by --seed or --store), everything runs in this process on the embedded default: one SQLite database in the work directory
            (default ./writ-demo/writ.sqlite) holds the authority's state, the signed revocation feed, the
            verifiers' watermark reports and the services' shared nonces; the audit logs are files beside it
            (audit/*.log). Time is simulated so "seconds" of token lifetime take no real time.

            --store sqlite:PATH puts the database elsewhere; --store file uses the flat-file feed
            (<dir>/revocations.log, watermarks/) with the authority's state in memory, as before SQLite.

            Examples:
              swift run writ demo
              swift run writ demo --processes
              swift run writ demo --processes --json
              swift run writ demo --processes --postgres 'postgres://postgres:postgres@127.0.0.1:5432/writ?sslmode=disable'
              swift run writ demo --dir /tmp/writ-demo --seed 7 --json
              swift run writ demo --store file
              sqlite3 writ-demo/writ.sqlite 'SELECT sequence, target FROM revocation_entries'

            Exit status: 0 when every expectation held, 1 otherwise.
            """
    )

    @Flag(name: .long, help: "Run everything in this process on a simulated clock (implied by --seed or --store).")
    var inProcess = false

    @Flag(
        name: .long,
        help: "Run the authority, the services and the broker as separate `writ serve` processes (the default)."
    )
    var processes = false

    @Option(
        name: .long,
        help: "With --processes: put every child's store on this PostgreSQL (a fresh schema each run)."
    )
    var postgres: String?

    @Flag(name: .long, help: "With --processes: keep the PostgreSQL schemas and print how to inspect the stores.")
    var keep = false

    @Option(name: .long, help: .hidden)
    var sabotage: String?

    /// Whether the process mode is the default (switched once it passed five runs in a row).
    static let processesByDefault = true

    /// Whether this run is the process demo: `--processes`, or the default unless `--in-process`, `--seed` or
    /// `--store` (options of the in-process demo) asks for the one-process demo.
    var processMode: Bool {
        if processes { return true }
        if inProcess || seed != nil || store != Self.defaultStore { return false }
        return Self.processesByDefault
    }

    @Option(name: .long, help: "Work directory for the audit logs and checkpoints.")
    var dir: String = "writ-demo"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Where the stores are: sqlite (default: <dir>/writ.sqlite), sqlite:PATH, file (flat files in <dir>).",
            valueName: "store"
        )
    )
    var store: String = Self.defaultStore

    #if SQLite
    static let defaultStore = "sqlite"
    #else
    static let defaultStore = "file"  // built without the SQLite trait: the flat-file stores
    #endif

    @Option(name: .long, help: "Seed for keys and start time; the same seed gives the same decisions.")
    var seed: UInt64?

    @Flag(name: .long, help: "Print a machine-readable JSON report instead of progress.")
    var json = false

    func validate() throws {
        if inProcess, processes { throw ValidationError("--in-process and --processes: choose one") }
        if !processMode, postgres != nil || keep {
            throw ValidationError("--postgres and --keep are options of --processes")
        }
        if processMode, seed != nil || store != Self.defaultStore {
            throw ValidationError("--seed and --store are options of --in-process")
        }
    }

    func run() async throws {
        if processMode {
            let passed = try await DemoProcessRun.run(
                directory: dir,
                postgres: postgres,
                keep: keep,
                json: json,
                sabotage: sabotage
            )
            if !passed { throw ExitCode(1) }
            return
        }
        let started = ContinuousClock.now
        let locator: StoreLocator =
            switch store.lowercased() {
            case "sqlite", "sqlite:": .sqlite(path: DemoDeployment.sqlitePath(directory: dir))
            case "file", "file:": .file(path: DemoDeployment.revocationPath(directory: dir))
            default: try StoreLocator.parse(store, option: "--store")
            }
        if case .postgres = locator { throw locator.notAvailable("--store", in: "demo") }
        let deployment: DemoDeployment
        do {
            deployment = try await DemoDeployment.make(directory: dir, seed: seed, store: locator)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError.input("cannot set up the demo in '\(dir)': \(error)")
        }
        let report = DemoReport(quiet: json)
        report.say("Writ demo — work directory \(dir)\(seed.map { ", seed \($0)" } ?? "")")
        report.say(
            "One process, simulated clock: token lifetimes, TTLs, deadlines and timestamps are simulated (they take "
                + "no real time); the drill's milliseconds and the run time are measured on the wall clock."
        )
        do {
            try await DemoScenario(deployment: deployment, report: report).run()
        } catch {
            report.expect("the scenario ran to the end", false, "\(error)")
        }
        let elapsed = started.duration(to: .now)
        if json {
            print(try jsonText(report.json(seed: seed, directory: dir)))
        } else {
            let held = report.expectations.filter(\.passed).count
            print("\n━━ Summary")
            print("  expectations held: \(held)/\(report.expectations.count)")
            print("  revocation drill: \(report.drill?.passed == true ? "every service ✓" : "FAILED")")
            print("  audit logs verified: \(report.audit.filter(\.valid).count)/\(report.audit.count)")
            print("  forensic timeline: \(report.timelineRows) events for the task")
            switch locator {
            case .sqlite(let path):
                print("  state: \(path) (try: sqlite3 \(path) .tables; writ revoke --list --store sqlite:\(path))")
            default:
                print("  files: \(locator.path ?? "") (try: writ revoke --list --store \(locator))")
            }
            print("  audit logs: \(dir)/audit/*.log (+ .checkpoint; try: writ audit verify --keys \(dir)/keys …)")
            print(
                "  took \(elapsed.formatted(.units(allowed: [.seconds, .milliseconds], width: .abbreviated))) "
                    + "(measured; token times simulated)"
            )
            for failure in report.expectations where !failure.passed {
                print("  ✗ \(failure.section): \(failure.name) — \(failure.detail)")
            }
            print(report.passed ? "demo: every expectation held" : "demo: some expectations failed")
        }
        if !report.passed { throw ExitCode(1) }
    }
}
#endif
