import FleetTwinEngine
import FleetTwinPolicy
import FleetTwinScenario
import FleetTwinScheduling
import Testing

/// Golden messages: the exact text users see for broken scenarios.
@Suite struct ScenarioErrorTests {
    static let valid = """
        fleet:
          regions:
            - name: r
              clusters:
                - { name: c, nodes: 2, accelerators_per_node: 4 }
        workload:
          generator:
            jobs: 10
            arrivals: { poisson: { per_hour: 10 } }
            world_size: 2
            duration: 1h
        """

    func message(_ text: String) -> String {
        do {
            _ = try Scenario.parse(text, file: "s.yaml")
            return "no error"
        } catch {
            return error.description
        }
    }

    @Test func validScenarioParses() throws {
        let s = try Scenario.parse(Self.valid, file: "s.yaml")
        #expect(s.jobs(seed: 1).count == 10)
        #expect(s.name == "s")
    }

    @Test func restartCostTakesADurationCompatOrGangTiers() throws {
        func mechanisms(_ value: String) throws -> MechanismSettings {
            try Scenario.parse(Self.valid + "\nmechanisms:\n  restart_cost: \(value)\n", file: "s.yaml").mechanisms
        }
        #expect(try mechanisms("30s").restartCost == .flat(.seconds(Int64(30))))
        #expect(try mechanisms("compat").restartCost == .compat)
        #expect(try mechanisms("{gpus: [8], pauses: [40s, 1m]}").restartCost
                == .byGang(gangLimits: [8], pauses: [.seconds(Int64(40)), .seconds(Int64(60))]))
        #expect(message(Self.valid + "\nmechanisms:\n  restart_cost: {gpus: [8], pauses: [40s]}\n")
                .hasPrefix("s.yaml:13:17: error: restart_cost.pauses needs one more entry than restart_cost.gpus"))
        #expect(message(Self.valid + "\nmechanisms:\n  restart_cost: {gpus: [8, 4], pauses: [1s, 2s, 3s]}\n")
                .hasPrefix("s.yaml:13:28: error: restart_cost.gpus must increase; 4 follows 8"))
        #expect(message(Self.valid + "\nmechanisms:\n  restart_cost: sometimes\n")
                .hasPrefix("s.yaml:13:17: error: restart_cost (a duration, compat, or {gpus, pauses}) must be"))
    }

    @Test func syntaxError() {
        let text = Self.valid.replacingOccurrences(of: "jobs: 10", with: "jobs: [10")
        #expect(message(text) == """
            s.yaml:9:13: error: YAML syntax: while parsing a flow sequence (line 8), did not find expected ',' or ']'
                  arrivals: { poisson: { per_hour: 10 } }
                          ^
            """)
    }

    /// A key given twice is located at its second occurrence, with the source line.
    @Test func duplicateKey() {
        let text = Self.valid + "\ngoals:\n  utilization: \">= 0.5\"\n  makespan: \"<= 1d\"\n  utilization: \">= 0.6\"\n"
        #expect(message(text) == """
            s.yaml:15:3: error: duplicate key 'utilization' in one mapping; expected each key once
                utilization: ">= 0.6"
                ^
            """)
    }

    @Test func wrongType() {
        let text = Self.valid.replacingOccurrences(of: "nodes: 2", with: "nodes: two")
        #expect(message(text) == """
            s.yaml:5:29: error: nodes must be an integer; found 'two'
                      - { name: c, nodes: two, accelerators_per_node: 4 }
                                          ^
            """)
    }

    @Test func misspelledKey() {
        let text = Self.valid.replacingOccurrences(of: "world_size: 2", with: "wrld_size: 2")
        #expect(message(text) == """
            s.yaml:10:5: error: unknown key 'wrld_size' in workload.generator (did you mean 'world_size'?); expected one of: jobs, start, arrivals, world_size, duration, model, templates, steps, tiers, accelerator_type, state_size, memory_per_replica, parallelism, deadline_factor
                  wrld_size: 2
                  ^
            """)
    }

    @Test func missingKeyNamesTheMapping() {
        let text = Self.valid.replacingOccurrences(of: "    duration: 1h\n", with: "")
            .replacingOccurrences(of: "    duration: 1h", with: "")
        #expect(message(text).hasPrefix("s.yaml:8:5: error: workload.generator is missing required key 'duration'"))
    }

    @Test func gangLargerThanAnyClusterIsRefused() {
        let text = Self.valid.replacingOccurrences(of: "world_size: 2", with: "world_size: 16")
        #expect(message(text).hasPrefix(
            "s.yaml:10:17: error: a job of world size 16 can never run: the largest h100-80gb cluster has 8 accelerators"))
    }

    @Test func openArrivalsNeedAnEnd() {
        let text = Self.valid.replacingOccurrences(of: "    jobs: 10\n", with: "")
        #expect(message(text).hasPrefix("s.yaml:8:15: error: an open arrival process never ends"))
    }

    @Test func badUnitsSayWhatIsAccepted() {
        let text = Self.valid.replacingOccurrences(of: "duration: 1h", with: "duration: 1 fortnight")
        #expect(message(text).hasPrefix(
            "s.yaml:11:15: error: duration must be a duration such as 90s, 30m, 2h, 1.5d or 250ms (a bare number is seconds), at most 100 years; found '1 fortnight'"))
    }

    /// A negative duration is named as one, for keys that take zero and for those that do not.
    @Test func negativeDurationsAreNamedAsSuch() {
        let negative = Self.valid.replacingOccurrences(of: "duration: 1h", with: "duration: -1h")
        #expect(message(negative).hasPrefix("s.yaml:11:15: error: duration must be longer than zero; found '-1h'"), "\(message(negative))")
        let quantum = Self.valid + "\npolicy: { name: las, quantum: -5 }"
        #expect(message(quantum).hasPrefix("s.yaml:12:31: error: quantum must be zero or more; found '-5'"), "\(message(quantum))")
    }

    @Test func unknownPolicyListsTheKnownOnes() {
        let text = Self.valid + "\npolicy: { name: fofo }"
        #expect(message(text).hasPrefix("s.yaml:12:17: error: policy name must be one of: \(PolicyRegistry.names.joined(separator: ", ")); found 'fofo'"))
    }

    @Test func emptyFileIsExplained() {
        #expect(message("").hasPrefix("s.yaml:1:1: error: the scenario is empty"))
    }

    /// Issue 14: products of user numbers that overflow the clock, and factors so small that
    /// a job's time at that speed does, are refused where they are written.
    @Test func valuesThatOverflowLaterAreRefusedWhereGiven() {
        let jobs = Self.valid.replacingOccurrences(of: """
              generator:
                jobs: 10
                arrivals: { poisson: { per_hour: 10 } }
                world_size: 2
                duration: 1h
            """, with: """
              jobs:
                - { world_size: 2, steps: 2000000000, step_time: 2h }
            """)
        #expect(message(jobs).hasPrefix(
            "s.yaml:8:31: error: 2000000000 steps of 2h00m come to 456308 years of work; a job carries at most 100 years (3.2e9 seconds)"))
        let degraded = Self.valid + "\nfailures:\n  degraded: [{ at: 1h, clusters: [c], factor: 1e-300, duration: 1h }]"
        #expect(message(degraded).hasPrefix("s.yaml:13:47: error: factor is the share of speed left, between 0.001 and 1; found 1e-300"))
        let slow = Self.valid.replacingOccurrences(of: "fleet:\n", with: "fleet:\n  accelerator_types: [{ name: slow, relative_speed: 1e-300 }]\n")
            .replacingOccurrences(of: "accelerators_per_node: 4 }", with: "accelerators_per_node: 4, type: slow }")
        #expect(message(slow).hasPrefix("s.yaml:2:53: error: relative_speed must be at least 0.001 and at most 1000; found 1e-300"))
        let sparse = Self.valid.replacingOccurrences(of: "per_hour: 10", with: "per_hour: 0.001").replacingOccurrences(of: "jobs: 10", with: "jobs: 100000")
        #expect(message(sparse).hasPrefix("s.yaml:9:15: error: 100000 jobs at 0.001 per hour arrive over about 11408 years; the arrivals must end within 10000 years"),
                "\(message(sparse))")
        let open = Self.valid.replacingOccurrences(of: "    jobs: 10\n", with: "").replacingOccurrences(of: "per_hour: 10", with: "per_hour: 1e9")
            + "\nhorizon: 1d"
        #expect(message(open).contains("make about 24000000000 jobs; expected at most 100000000"), "\(message(open))")
    }

    /// Intervals of things that repeat through a run would make it endless below a second
    /// (a checkpoint every microsecond of every job); bursts that switch millions of times
    /// between arrivals would keep the generator looping.
    @Test func repeatingIntervalsAreAtLeastASecond() {
        let checkpoints = Self.valid + "\nmechanisms: { checkpoint_interval: 1us }"
        #expect(message(checkpoints).hasPrefix("s.yaml:12:36: error: checkpoint_interval repeats through the run and must be at least 1s; found 1e-06s"),
                "\(message(checkpoints))")
        let bursts = Self.valid.replacingOccurrences(of: "{ poisson: { per_hour: 10 } }",
                                                     with: "{ bursty: { per_hour: 0.001, burst_per_hour: 1, mean_burst: 1s, mean_gap: 1h } }")
        #expect(message(bursts).hasPrefix("s.yaml:9:15: error: arrivals every 41d16h on average with bursts or gaps of 1s switch state about 3600000 times per arrival"),
                "\(message(bursts))")
    }
}
