import FleetTwinEngine
import FleetTwinFleet
import FleetTwinScenario
import FleetTwinScheduling
import Foundation
import Testing

/// Synergy-OPT (`synergy` with `mechanism: opt`; research/policies.md §14, Synergy's
/// `opt_algo/synergy_opt.py`): stage 1's LP optimum by hand, the contrast with TUNE on Y1's
/// server, that both stages' decisions start the jobs, determinism and the option's errors.
@Suite struct SynergyOptTests {
    typealias Decisions = [SchedulingDecision]

    /// A 1-GPU job of 600 s at the fair share with ideal `cpus` cores (10 GiB) at `speedup`.
    static func pending(_ i: Int32, cpus: Double, speedup: Double) -> PendingJob {
        var j = PendingJob(index: i, submit: .zero, tier: .standard, worldSize: 1, acceleratorTypes: .single(0), work: 600_000_000)
        j.resources = ResourceProfile(cpusPerAccelerator: cpus, memoryGiBPerAccelerator: 10, speedup: speedup)
        return j
    }

    /// Drives one pass at time 0 on SynergyTests' server (4 GPUs, 16 cores, 1,000 GiB; fair
    /// share 4 cores per GPU), carrying out starts on the view.
    static func firstPass(_ jobs: [PendingJob], mechanism: SynergyPolicy.Mechanism) -> (SynergyPolicy, Decisions) {
        var policy = SynergyPolicy(mechanism: mechanism)
        var fleet = SynergyTests.view()
        for j in jobs { policy.jobArrived(j, at: .zero) }
        var decisions: Decisions = []
        while let d = policy.nextDecision(at: .zero, fleet: fleet) {
            decisions.append(d)
            if case let .startOnNodes(j, cluster, shares) = d {
                fleet.take(shares, in: cluster)
                policy.jobStarted(jobs[Int(j)], on: JobRun(cluster: cluster, shares: shares, devices: 1, progressFrom: .zero), at: .zero)
            }
        }
        return (policy, decisions)
    }

    /// Three 1-GPU jobs, A (ideal 8 cores, speedup 1.5: +0.125 per core), C (12 cores, 2:
    /// +0.125 per core) and B (8 cores, 2: +0.25 per core), ranked in that order. At the fair
    /// share they use 12 of 16 cores; the LP gives the 4 left to B, the largest gain per core:
    /// B at 8 cores and speedup 2, the others at 4 and 1, total 4 (the unique optimum). TUNE
    /// gives A its ideal 8, C and B the fair 4 (the 4 left fit neither ideal): 3.5.
    @Test func theLPGivesCoresToTheJobThatGainsMost() {
        let jobs = [Self.pending(0, cpus: 8, speedup: 1.5), Self.pending(1, cpus: 12, speedup: 2), Self.pending(2, cpus: 8, speedup: 2)]
        let (opt, decisions) = Self.firstPass(jobs, mechanism: .opt)
        #expect(abs((opt.plannedThroughput ?? 0) - 4) < 1e-9, "\(String(describing: opt.plannedThroughput))")
        let b = opt.allocation(of: 2)
        #expect(b.map { abs($0.cpus - 8) < 1e-9 && abs($0.speedup - 2) < 1e-9 } == true, "\(String(describing: b))")
        #expect(decisions.filter { if case .startOnNodes = $0 { true } else { false } }.count == 3)
        #expect(opt.skippedAllocations == 0)
        let (tune, _) = Self.firstPass(jobs, mechanism: .tune)
        let total = (0..<3).reduce(0.0) { $0 + (tune.allocation(of: Int32($1))?.speedup ?? 0) }
        #expect(total == 3.5 && tune.allocation(of: 0)?.cpus == 8)
    }

    /// Y1 (four 1-GPU jobs wanting 12 cores at speedup 2 on the 16-core server): the fair
    /// share already uses every core, so OPT's optimum is 4, all at 4 cores, as TUNE's end
    /// state. With two jobs both reach 3 (OPT may split the 8 spare cores; TUNE gives them to
    /// J1). With three, TUNE ends at 3 (peer adjustment cuts J1 back and 4 cores stay idle),
    /// OPT at 3.5 (the 4 spare cores go to one job: 1 + 4/8).
    @Test(arguments: [(4, 4.0, 4.0), (2, 3.0, 3.0), (3, 3.5, 3.0)])
    func y1AgainstTune(jobs: Int, opt: Double, tune: Double) {
        let y1 = (0..<Int32(jobs)).map { Self.pending($0, cpus: 12, speedup: 2) }
        let (o, _) = Self.firstPass(y1, mechanism: .opt)
        let (t, _) = Self.firstPass(y1, mechanism: .tune)
        #expect(abs((o.plannedThroughput ?? 0) - opt) < 1e-9, "\(String(describing: o.plannedThroughput))")
        let sum = { (p: SynergyPolicy) in (0..<Int32(jobs)).reduce(0.0) { $0 + (p.allocation(of: $1)?.speedup ?? 0) } }
        #expect(abs(sum(o) - opt) < 1e-9 && sum(t) == tune)
        let cores = (0..<Int32(jobs)).reduce(0.0) { $0 + (o.allocation(of: $1)?.cpus ?? 0) }
        #expect(cores <= 16 + 1e-6)
        #expect(o.skippedAllocations == 0)
    }

    /// Stage 2 places within each server's cores: two servers of 2 GPUs and 6 cores (fair 3
    /// per GPU), three 1-GPU jobs wanting 6 cores at speedup 2. At the fair share 3 cores
    /// are spare; stage 1 gives them out (total 3 + 3/3 = 4, the optimum whichever job gets
    /// them) and stage 2 places all three without a server over its 6 cores.
    @Test func placementRespectsEachServersCores() {
        var policy = SynergyPolicy(mechanism: .opt)
        var fleet = FleetView(clusters: [.init(name: "c", region: 0, acceleratorType: 0, nodes: ClusterCapacity(nodes: 2, acceleratorsPerNode: 2),
                                               cpusPerNode: 6, memoryGiBPerNode: 1000)],
                              typeNames: ["h100-80gb"], typeMemory: [80 << 30])
        let jobs = (0..<Int32(3)).map { Self.pending($0, cpus: 6, speedup: 2) }
        for j in jobs { policy.jobArrived(j, at: .zero) }
        var cores = [0.0, 0.0], starts = 0
        while let d = policy.nextDecision(at: .zero, fleet: fleet) {
            guard case let .startOnNodes(j, cluster, shares) = d else { continue }
            starts += 1
            let a = policy.allocation(of: j)!
            for s in shares { cores[Int(s.node)] += a.cpus * Double(s.count) }
            fleet.take(shares, in: cluster)
            policy.jobStarted(jobs[Int(j)], on: JobRun(cluster: cluster, shares: shares, devices: 1, progressFrom: .zero), at: .zero)
        }
        #expect(starts == 3 && policy.skippedAllocations == 0)
        #expect(cores.allSatisfy { $0 <= 6 + 1e-6 }, "\(cores)")
        #expect(abs((policy.plannedThroughput ?? 0) - 4) < 1e-9, "\(String(describing: policy.plannedThroughput))")
    }

    /// A whole run under OPT with FleetTwin's costs and every check on: every job completes,
    /// and the same scenario gives the same event log (and hash) twice.
    @Test func runsCompleteAndAreDeterministic() async throws {
        var g = SeededGenerator(seed: 5, stream: "synergy-opt", index: 0)
        var t = 0.0
        let jobs = (0..<30).map { k -> JobSpec in
            t += Double(Int.random(in: 0...120, using: &g))
            return SynergyTests.job("j\(k)", at: t, gpus: [1, 1, 2, 4][Int.random(in: 0..<4, using: &g)],
                                    seconds: Double(Int.random(in: 60...3000, using: &g)), profile: k % 3 != 0)
        }
        func run() async throws -> SimulationResult {
            var options = PolicyOptions()
            options.synergyMechanism = .opt
            return try await FleetSimulation(SimulationConfiguration(
                fleet: SynergyTests.fleet(nodes: 2, perNode: 4), jobs: jobs,
                policy: PolicyRegistry.named("synergy")!.make(options: options, placement: .any),
                mechanisms: MechanismSettings.defaults, checkInvariants: true)).run()
        }
        let a = try await run(), b = try await run()
        #expect(a.log.records.filter { $0.kind == .completed }.count == jobs.count)
        #expect(a.eventLogHash == b.eventLogHash && a.log.records == b.log.records)
    }

    /// `mechanism` parses for `synergy`, is written back in a stored scenario's text, and a
    /// bad value is refused at its line with the values it may take.
    @Test func mechanismOptionParsesAndRefusesBadValues() throws {
        func scenario(_ value: String) -> String {
            """
            name: t
            fleet:
              regions:
                - name: r
                  clusters:
                    - { name: c, nodes: 1, accelerators_per_node: 8 }
            workload:
              jobs:
                - { name: a, world_size: 1, duration: 1h }
            policy: { name: synergy, mechanism: \(value) }
            """
        }
        let s = try Scenario.parse(scenario("opt"), file: "t.yaml")
        #expect(s.policy.options.synergyMechanism == .opt)
        #expect(PolicyOptions.fields.contains { $0.key == "mechanism" && $0.text(s.policy.options) == "mechanism: opt" })
        do {
            _ = try Scenario.parse(scenario("optimal"), file: "t.yaml")
            Issue.record("accepted mechanism: optimal")
        } catch {
            #expect(error.file == "t.yaml" && error.line == 10 && error.message.contains("mechanism must be one of: tune, fair, opt"), "\(error)")
        }
    }
}
