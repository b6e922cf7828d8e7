import FleetTwinEngine
@testable import FleetTwinExternalPolicy
import FleetTwinFleet
import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinStore
import Foundation
import Testing

/// The `external` policy: the Python example against the built-in `fifo`, determinism, and
/// every way an external policy can fail (each ends the run with a clear error).
@Suite struct ExternalPolicyTests {
    static let example = repositoryRoot.appendingPathComponent("Examples/external-policy/fifo.py").path

    /// python3 on PATH, or nil after printing why the test is skipped.
    static func python() -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(dir)/python3"
            if FileManager.default.isExecutableFile(atPath: path), (try? runProcess(URL(fileURLWithPath: path), ["-c", "pass"]))?.status == 0 {
                return path
            }
        }
        print("skipped: no working python3 on PATH, so the Python example policy cannot run")
        return nil
    }

    static func external(_ command: String, timeout: Double = 30) -> ExternalPolicy {
        ExternalPolicy(settings: ExternalPolicySettings(command: command, timeoutSeconds: timeout), placement: .bestFit)
    }

    /// A shell policy that answers every request with `answer`.
    static func answering(_ answer: String) -> ExternalPolicy {
        external("while read -r line; do printf '%s\\n' '\(answer)'; done")
    }

    static func jobs() -> [JobSpec] {
        [PolicyLayerTests.job("a", at: 0, gpus: 2, seconds: 100), PolicyLayerTests.job("b", at: 10, gpus: 4, seconds: 50)]
    }

    static func run(_ policy: ExternalPolicy, jobs: [JobSpec] = jobs(), fleet: FleetSpec = PolicyLayerTests.fleet(nodes: 1, perNode: 4)) async throws -> SimulationResult {
        try await FleetSimulation(SimulationConfiguration(fleet: fleet, jobs: jobs, policy: policy, checkInvariants: true)).run()
    }

    /// The error a run ends with, as text.
    static func failure(_ policy: ExternalPolicy, jobs: [JobSpec] = jobs()) async -> String {
        do {
            _ = try await run(policy, jobs: jobs)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    /// The example makes the built-in fifo's decisions: on random traces, fleets and every
    /// placement rule, its event log is the built-in's, record for record (checks on).
    @Test func theExampleGivesTheBuiltInFIFOsEventLog() async throws {
        guard let python = Self.python() else { return }
        for trial in 0..<4 {
            var g = SeededGenerator(seed: 7, stream: "external-fifo", index: UInt64(trial))
            let perNode = [2, 4, 8][Int.random(in: 0..<3, using: &g)]
            let fleet = PolicyLayerTests.fleet(nodes: Int.random(in: 1...3, using: &g), perNode: perNode, clusters: Int.random(in: 1...2, using: &g))
            let largest = fleet.clusters.map(\.accelerators).max()!
            var t = 0.0
            let jobs = (0..<20).map { k -> JobSpec in
                t += Double(Int.random(in: 0...300, using: &g))
                return PolicyLayerTests.job("j\(k)", at: t, gpus: min(largest, [1, 1, 2, 3, 4, 8, 16][Int.random(in: 0..<7, using: &g)]),
                                            seconds: Double(Int.random(in: 10...5_000, using: &g)))
            }
            for rule in PlacementRule.allCases {
                let builtIn = try await FleetSimulation(SimulationConfiguration(
                    fleet: fleet, jobs: jobs, policy: FIFOPolicy(placement: rule), checkInvariants: true)).run()
                let settings = ExternalPolicySettings(command: "\(python) \(Self.example)")
                let external = try await FleetSimulation(SimulationConfiguration(
                    fleet: fleet, jobs: jobs, policy: ExternalPolicy(settings: settings, placement: rule), checkInvariants: true)).run()
                #expect(external.log.records == builtIn.log.records, "trial \(trial), \(rule)")
                #expect(external.eventLogHash == builtIn.eventLogHash)
            }
        }
    }

    /// The hand-computed FIFO fixture through a scenario's `policy: {external: ...}` (the
    /// command run in the scenario's folder), twice: byte-identical event logs, the same as fifo's.
    @Test func aScenarioNamesItsExternalPolicyAndRunsAreIdentical() async throws {
        guard let python = Self.python() else { return }
        let dir = try temporaryDirectory()
        try FileManager.default.copyItem(atPath: Self.example, toPath: dir.appendingPathComponent("fifo.py").path)
        let text = try String(contentsOfFile: fixture("fifo-hand.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "policy: { name: fifo, placement: consolidated }", with: "policy: { external: \"\(python) fifo.py\", timeout: 10s }")
        let path = dir.appendingPathComponent("external.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let scenario = try Scenario.load(path: path)
        #expect(scenario.policy.name == "external" && scenario.policy.options.external?.timeoutSeconds == 10)
        #expect(scenario.referencedFiles.contains { $0.path.hasSuffix("/fifo.py") }, "the program is part of the scenario's identity")
        let a = try await runScenario(scenario), b = try await runScenario(scenario)
        let fifo = try await runScenario(try Scenario.load(path: fixture("fifo-hand.yaml")))
        #expect(a.eventLogHash == b.eventLogHash && a.log.records == b.log.records)
        #expect(a.log.records == fifo.log.records)
        #expect(a.policy == "external")
        #expect(scenario.policy.text == "{ name: external, placement: best-fit, external: \"\(python) fifo.py\", in: \"\(dir.path)\", timeout: 10s }")
    }

    @Test func aMalformedAnswerFailsTheRunQuotingIt() async {
        let message = await Self.failure(Self.answering("not json"))
        #expect(message.contains("policy external failed at 0.0 s"), "\(message)")
        #expect(message.contains("does not follow protocol version 2: expected a JSON value at byte 0; the answer was: 'not json'"), "\(message)")
        let unknown = await Self.failure(Self.answering(#"{"decisions": [{"action": "start", "job": 0, "cluster": "nowhere"}]}"#))
        #expect(unknown.contains(#"decisions[0].cluster: expected a cluster's name (c0), found "nowhere""#), "\(unknown)")
        let typo = await Self.failure(Self.answering(#"{"decisions": [], "wakeat": 5}"#))
        #expect(typo.contains(#"unknown member "wakeat""#), "\(typo)")
    }

    @Test func anImpossibleDecisionFailsTheRunCitingTheAnswer() async {
        let message = await Self.failure(Self.answering(#"{"decisions": [{"action": "start", "job": 0, "cluster": "c0", "accelerators": 8}]}"#))
        #expect(message.contains("invalid scheduling decision: job 0"), "\(message)")
        #expect(message.contains("the external policy `while read"), "\(message)")
        #expect(message.contains(#"decisions[0] of its answer to request 1: '{"decisions": [{"action": "start", "job": 0, "cluster": "c0", "accelerators": 8}]}'"#), "\(message)")
    }

    @Test func aCrashFailsTheRunWithItsStatusAndStandardError() async {
        let message = await Self.failure(Self.external("read -r line; echo 'Traceback: something broke' >&2; exit 3"))
        #expect(message.contains("closed its standard output without answering and exited with status 3"), "\(message)")
        #expect(message.contains("  | Traceback: something broke"), "\(message)")
        // One that exits before reading: the write fails with EPIPE (SIGPIPE is ignored), not this process.
        let early = await Self.failure(Self.external("echo 'no python here' >&2; exit 127"))
        #expect(early.contains("status 127") && early.contains("  | no python here"), "\(early)")
        let missing = await Self.failure(Self.external("/nonexistent/policy"))
        #expect(missing.contains("exited with status 127") && missing.contains("/nonexistent/policy"), "\(missing)")
    }

    @Test func aSlowPolicyTimesOutAndIsKilled() async throws {
        // The policy's shell starts a long sleep in its process group and says its PID.
        let pidFile = try temporaryDirectory().appendingPathComponent("sleep.pid").path
        let message = await Self.failure(Self.external("read -r line; echo 'thinking' >&2; sleep 600 & echo $! > \(pidFile); wait", timeout: 0.5))
        #expect(message.contains("did not answer within 0.5 s (the external policy's timeout); it was stopped"), "\(message)")
        #expect(message.contains("  | thinking"), "\(message)")
        // The whole group was killed, not only the shell: the sleep is gone (or a zombie
        // nobody reaped). Checked by state, not by elapsed time, which a loaded machine
        // stretches (a run at load 15 took 318 s to get here).
        // A shell killed before it wrote the PID never started the sleep.
        #if os(Linux)
        guard let pid = try? String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
              !pid.isEmpty else { return }
        func alive() -> Bool {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
            return stat.split(separator: ")").last?.split(separator: " ").first != "Z"
        }
        // SIGKILL lands when the process next runs; allow a loaded machine a minute for that.
        for _ in 0..<600 where alive() { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!alive(), "the policy's sleep (PID \(pid)) still runs after its group was killed")
        #endif
    }

    /// `more` asks again within the pass; `wakeAt` brings a pass when nothing else would;
    /// `reservations` cover what it holds idle meanwhile (the run's checks accept them).
    @Test func moreAndWakeAtAreHonoured() async throws {
        // Starts the first waiting job one at a time (more: true while it started one), and
        // asks to be woken at 500 s, where it starts job 1 although nothing happens then.
        let script = """
            import json, sys
            for line in sys.stdin:
                r = json.loads(line)
                w = [j for j in r["waiting"] if r["now"] >= 500_000_000 or j["job"] == 0]
                d = [{"action": "start", "job": w[0]["job"], "cluster": "c0"}] if w else []
                held = [{"job": j["job"], "cluster": "c0", "accelerators": r["clusters"][0]["free"]} for j in r["waiting"] if not w]
                print(json.dumps({"decisions": d, "more": bool(d), "reservations": held[:1],
                                  "wakeAt": None if r["now"] >= 500_000_000 else 500_000_000}), flush=True)
            """
        guard let python = Self.python() else { return }
        let dir = try temporaryDirectory()
        try script.write(to: dir.appendingPathComponent("p.py"), atomically: true, encoding: .utf8)
        let r = try await Self.run(Self.external("\(python) \(dir.appendingPathComponent("p.py").path)"),
                                   jobs: [PolicyLayerTests.job("a", at: 0, gpus: 1, seconds: 100), PolicyLayerTests.job("b", at: 10, gpus: 1, seconds: 50)])
        #expect(PolicyLayerTests.times(r, .started, job: 0) == [0])
        #expect(PolicyLayerTests.times(r, .started, job: 1) == [500])
    }

    /// A failed run through the command line exits 1 with the policy's message and stores nothing.
    @Test func aFailedRunStoresNothing() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("r.sqlite").path
        let out = try runFleettwin(["run", fixture("fifo-hand.yaml"), "--policy", "external", "--external-command",
                                    "read -r line; echo 'gave up' >&2; exit 4", "--db", db])
        #expect(out.status == 1, "\(out.stderr)")
        #expect(out.stderr.contains("exited with status 4") && out.stderr.contains("  | gave up"), "\(out.stderr)")
        if FileManager.default.fileExists(atPath: db) { #expect(try ResultStore(path: db).runs().isEmpty) }
        let missing = try runFleettwin(["run", fixture("fifo-hand.yaml"), "--policy", "external", "--db", db])
        #expect(missing.status == 2 && missing.stderr.contains("the external policy needs its command"), "\(missing.stderr)")
    }

    /// Answers are read strictly: integers apart from fractions and booleans, escapes
    /// decoded, and every defect located by byte.
    @Test func answersAreParsedStrictly() throws {
        let v = try JSONValue.parse(Array(#" {"a": [1, -2.5, true, null, "x\"\u00e9"], "b": {}} "#.utf8))
        #expect(v["a"] == .array([.int(1), .double(-2.5), .bool(true), .null, .string("x\"é")]))
        #expect(v["b"] == .object([]))
        for (text, says) in [("{\"a\": 1,}", "expected a member name in quotes at byte 8"), ("[1 2]", "expected ',' or ']' at byte 3"),
                             ("{\"a\": 1, \"a\": 2}", "member \"a\" given twice"), ("{} x", "text after the JSON value at byte 3"),
                             ("\"abc", "the line ends inside a string"), ("1e999", "'1e999' is not a number at byte 0")] {
            #expect(throws: PolicyProcessError.self, "\(text)") { try JSONValue.parse(Array(text.utf8)) }
            do { _ = try JSONValue.parse(Array(text.utf8)) } catch { #expect(error.description.contains(says), "\(text): \(error)") }
        }
    }

    /// Every request and answer of a run (with an outage, so nearly every kind of event) follows the
    /// published schema, checked with Python's jsonschema where it is installed.
    @Test func requestsAndAnswersFollowTheSchema() async throws {
        guard let python = Self.python() else { return }
        guard (try? runProcess(URL(fileURLWithPath: python), ["-c", "import jsonschema"]))?.status == 0 else {
            print("skipped: Python's jsonschema is not installed, so the schema cannot be checked")
            return
        }
        let dir = try temporaryDirectory()
        let log = dir.appendingPathComponent("log.jsonl").path
        // Relays to the example and logs both directions.
        let tee = """
            import subprocess, sys
            p = subprocess.Popen([sys.executable, sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            with open(sys.argv[2], "w") as log:
                for line in sys.stdin:
                    p.stdin.write(line); p.stdin.flush()
                    answer = p.stdout.readline()
                    log.write(line + answer)
                    sys.stdout.write(answer); sys.stdout.flush()
            """
        try tee.write(to: dir.appendingPathComponent("tee.py"), atomically: true, encoding: .utf8)
        // A small fleet with an outage in the middle of the run, so every kind of event but
        // released (a migration's or a shrink's, which fifo never makes) is sent.
        let yaml = """
            name: outage
            fleet:
              regions: [{ name: r, clusters: [{ name: c, nodes: 2, accelerators_per_node: 4 }] }]
            workload:
              jobs:
            \((0..<8).map { "    - { name: j\($0), submit: \($0 * 20)s, world_size: \([1, 2, 4, 8][$0 % 4]), duration: 5m }" }.joined(separator: "\n"))
            failures:
              outages: [{ at: 90s, clusters: [c], duration: 2m }]
            policy: { external: "\(python) tee.py \(Self.example) \(log)" }
            """
        try yaml.write(to: dir.appendingPathComponent("outage.yaml"), atomically: true, encoding: .utf8)
        let scenario = try Scenario.load(path: dir.appendingPathComponent("outage.yaml").path)
        let r = try await runScenario(scenario)
        #expect(r.log.records.contains { $0.kind == .failed })
        let check = """
            import json, sys, jsonschema
            v = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
            kinds = set()
            for n, line in enumerate(open(sys.argv[2])):
                d = json.loads(line)
                kinds.update(e["event"] for e in d.get("events", []))
                for e in v.iter_errors(d): sys.exit(f"line {n + 1}: {e.message}")
            print(" ".join(sorted(kinds)))
            """
        let out = try runProcess(URL(fileURLWithPath: python), ["-c", check, repositoryRoot.appendingPathComponent("docs/external-policy.schema.json").path, log])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("arrived capacityChanged completed failed started"), "\(out.stdout)")
    }
}
