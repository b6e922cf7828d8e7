import FleetTwinCostModel
import FleetTwinEngine
import FleetTwinMetrics
import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinTraces
import Testing

/// Jobs given as model shapes: the cost model prices them per accelerator type, and where
/// they land decides how fast they run.
@Suite struct ModelJobTests {
    static let shape = ModelShape(architecture: .bert, layers: 12, hidden: 768, sequence: 256, batch: 32, mode: .train)

    static func scenario(_ jobs: String) throws(ScenarioError) -> Scenario {
        try Scenario.parse("""
            fleet:
              regions:
                - name: r
                  clusters:
                    - { name: old, nodes: 1, accelerators_per_node: 4, type: a100-80gb }
                    - { name: new, nodes: 1, accelerators_per_node: 4, type: h100-80gb }
            workload:
              jobs:
            \(jobs)
            """, file: "models.yaml")
    }

    @Test func heterogeneousPlacementChangesSpeed() async throws {
        let s = try Self.scenario("""
                - { name: first, world_size: 4, steps: 1000, model: { arch: bert, layers: 12, hidden: 768, seq: 256, batch: 32 } }
                - { name: second, world_size: 4, steps: 1000, model: { arch: bert, layers: 12, hidden: 768, seq: 256, batch: 32 } }
            """)
        let result = try await runScenario(s)
        let metrics = RunMetrics.fold(result)
        let model = CostModel.calibrated
        // Four replicas on one node: each step also all-reduces the gradients over NVLink.
        func steps(on type: AcceleratorSpec) -> Double {
            1000 * MultiAcceleratorStep(gradientBytes: Self.shape.gradientBytes, computeSeconds: model.estimate(Self.shape, on: type).stepSeconds,
                                        accelerators: 4, nodes: 1, acceleratorsPerNode: 4, interconnect: type.interconnect).stepSeconds
        }
        let onA100 = steps(on: AcceleratorCatalog.named("a100-80gb")!)
        let onH100 = steps(on: AcceleratorCatalog.h100)
        #expect(onH100 > 1000 * model.estimate(Self.shape, on: AcceleratorCatalog.h100).stepSeconds)
        // The first job takes the first cluster that fits (the A100s), the second the H100s.
        let starts = result.log.records.filter { $0.kind == .started }
        #expect(starts.map(\.cluster) == [0, 1])
        #expect(abs(metrics.jobs[0].end!.seconds - onA100) < 1e-5)
        #expect(abs(metrics.jobs[1].end!.seconds - onH100) < 1e-5)
        #expect(onA100 > onH100)
        #expect(result.jobs[0].stateBytes == Self.shape.checkpointBytes)
        #expect(result.jobs[0].memoryPerReplicaBytes == model.memory.bytes(Self.shape))
    }

    @Test func samplesBecomeStepsOverTheGlobalBatch() throws {
        let s = try Self.scenario("""
                - { world_size: 2, samples: 6401, accelerator_type: h100-80gb, model: { arch: bert, layers: 2, hidden: 128, seq: 256, batch: 32 } }
            """)
        let job = s.jobs(seed: 1)[0]
        #expect(job.steps == 101)  // ceil(6401 / (32 x 2))
        #expect(job.speeds?.map(\.type) == ["h100-80gb"])
    }

    @Test func aModelThatFitsNowhereIsRefusedWhereItIsDeclared() {
        do {
            _ = try Self.scenario("""
                    - { world_size: 1, steps: 10, model: { arch: llama, layers: 32, hidden: 4096, seq: 2048, batch: 8 } }
                """)
            Issue.record("accepted a model that fits on no accelerator")
        } catch {
            #expect(error.description.hasPrefix("models.yaml:9:42: error: this model needs 182.6 GiB per replica, 1 of them in one cluster"))
        }
    }

    @Test func modelJobsRejectHandGivenCosts() {
        do {
            _ = try Self.scenario("""
                    - { world_size: 1, steps: 10, duration: 1h, model: { arch: bert, layers: 2, hidden: 128, seq: 256, batch: 32 } }
                """)
            Issue.record("accepted a duration beside a model")
        } catch {
            #expect(error.description.contains("a job with 'model' gets 'duration' from the cost model"))
        }
    }

    @Test func generatorDrawsModelJobs() throws {
        let s = try Scenario.parse("""
            fleet: { regions: [ { name: r, clusters: [ { name: c, nodes: 2, accelerators_per_node: 8 } ] } ] }
            workload:
              generator:
                jobs: 50
                arrivals: { poisson: { per_hour: 10 } }
                world_size: { choices: [1, 8] }
                model: { arch: bert, layers: 6, hidden: 384, seq: 256, batch: 32 }
                steps: { choices: [100, 1000], weights: [1, 1] }
            """, file: "g.yaml")
        let jobs = s.jobs(seed: 3)
        #expect(Set(jobs.compactMap(\.steps)) == [100, 1000])
        #expect(jobs.allSatisfy { $0.model != nil && $0.speeds?.first?.speed == 1 })
    }
}

@Suite struct EnergyTests {
    /// The hand-computed FIFO case: 93 busy accelerator-seconds and 83 idle ones over 22 s.
    @Test func energyOfTheHandComputedCase() async throws {
        let scenario = try Scenario.load(path: fixture("fifo-hand.yaml"))
        let metrics = RunMetrics.fold(try await runScenario(scenario))
        let busy = AcceleratorCatalog.h100.busyWatts, idle = AcceleratorCatalog.h100.idleWatts
        #expect(abs(metrics.energyKWh - (93 * busy + 83 * idle) / 3.6e6) < 1e-12)
        #expect(abs(metrics.jobs[0].energyKWh - 40 * busy / 3.6e6) < 1e-12)
        // One-second buckets: the busiest holds all 8 accelerators (B, 10-15 s).
        #expect(abs(metrics.peakPowerKW - 8 * busy / 1000) < 1e-9)
    }
}

@Suite struct TemplateGeneratorTests {
    @Test func jobsDrawnFromTheH100RecordingsCarryTheirCosts() throws {
        let s = try Scenario.parse("""
            fleet: { regions: [ { name: r, clusters: [ { name: c, nodes: 2, accelerators_per_node: 8 } ] } ] }
            workload:
              generator:
                jobs: 40
                arrivals: { poisson: { per_hour: 20 } }
                world_size: 1
                templates: ../Traces/h100-workloads.jsonl
                steps: 1000
            """, file: repositoryRoot.appendingPathComponent("Scenarios/t.yaml").path)
        let jobs = s.jobs(seed: 1)
        #expect(jobs.count == 40)
        // Every job is one recorded workload: its work is 1000 of that workload's steps.
        let templates = try TraceReader(path: repositoryRoot.appendingPathComponent("Traces/h100-workloads.jsonl").path).readAll().1
        for job in jobs {
            #expect(templates.contains { abs(Double(job.work.microseconds) - 1000 * $0.stepTime! * 1e6) <= 1 && job.stateBytes == ($0.stateBytes ?? 0) })
        }
        #expect(Set(jobs.map(\.stateBytes)).count > 2)
    }
}
