import FleetTwinEngine

/// A peer simulator's restart charge (`mechanisms: {restart_cost: …}`, `replay
/// --restart-cost`): a pause at every start (the first included), resize and migration in
/// place of FleetTwin's checkpoint path, whose dumps, transfers, restores and copies then take
/// no time. What each baseline's original simulator charges is research/policies.md's
/// cross-cutting finding 1 and each policy's section; `RestartCost.compat(for:)` holds it.
public enum RestartCost: Sendable, Equatable {
    /// The same pause for every job: Pollux's simulator 30 s on any allocation change (its
    /// Tiresias and Optimus ports too), SHK's Gavel 20 s.
    case flat(VirtualTime)
    /// By the job's gang size (accelerators at full size): `pauses[i]` for a gang of at most
    /// `gangLimits[i]`, the last pause above the last limit; `pauses` has one more entry than
    /// `gangLimits`, which increase. Lucid's Tiresias port: 40 s up to 8 GPUs, 60 s above
    /// (`policy.py::ckpt_overhead`).
    case byGang(gangLimits: [Int], pauses: [VirtualTime])
    /// What the policy's original simulator charges, resolved when the policy is known
    /// (`MechanismSettings.resolved(for:)`): nothing at all for Tiresias', Gavel's and the
    /// AFS port's, 30 s for Pollux and Pollux's Optimus, FleetTwin's own mechanisms where FleetTwin is
    /// the original (`singularity`) or there is no original simulator.
    case compat

    /// The pause of a job whose gang is `worldSize` accelerators (nil for `compat`, which is
    /// resolved before a run).
    public func pause(worldSize: Int) -> VirtualTime? {
        switch self {
        case .flat(let pause): return pause
        case .byGang(let limits, let pauses): return pauses[limits.firstIndex { worldSize <= $0 } ?? limits.count]
        case .compat: return nil
        }
    }

    /// How a scenario writes it back: `30s`, `{gpus: [8], pauses: [40s, 60s]}`, `compat`.
    public var description: String {
        switch self {
        case .flat(let pause): return pause.description
        case .byGang(let limits, let pauses):
            return "{gpus: [\(limits.map(String.init).joined(separator: ", "))], pauses: [\(pauses.map(\.description).joined(separator: ", "))]}"
        case .compat: return "compat"
        }
    }

    /// What `restart_cost: compat` means for a policy's original simulator. `nil`: nothing
    /// is charged at all (every mechanism free, as `--no-overheads`); `.some(nil)`: FleetTwin's
    /// own mechanisms; `.some(cost)`: that pause. Sources: research/policies.md §0 finding 1
    /// and the summary table of §16 (the originals' code read at the commits listed there).
    public static func compat(for policy: String) -> CompatCharge {
        switch policy {
        // Tiresias' simulator (run_sim.py) counts preemptions and charges nothing; so do
        // Gavel's (scheduler.py, simulate mode) and the AFS port (vodascheduler afsl.go, whose
        // cost the source does not model).
        // Synergy's simulator and Blox charge nothing either: a lease ends every round and the
        // job is reallocated at no cost (synergy, and las-continuous, its and Blox's LAS).
        case "fifo", "srtf", "las", "dlas-gpu-gittins", "gandiva", "afs", "synergy", "las-continuous": return .free
        case _ where policy.hasPrefix("gavel-"): return .free
        // Pollux's simulator (simulator/job.py::reallocate, rescale_time = 30) for Pollux
        // and its Optimus port: 30 s on any change of a job's allocation.
        case "optimus", "pollux": return .pause(.flat(.seconds(Int64(30))))
        // FleetTwin is the original (singularity), Slurm's requeue is what the `slurm`
        // policy models, and fair-share and external policies have no original simulator.
        // Sia's per-model rescale times and ElasticFlow's per-event overhead are not modelled
        // yet: `sia` and `elasticflow` keep FleetTwin's mechanisms too.
        default: return .mechanisms
        }
    }
}

/// A policy's charge under `restart_cost: compat` (`RestartCost.compat(for:)`).
public enum CompatCharge: Sendable, Equatable {
    /// Nothing at all: every mechanism is free, as `--no-overheads`.
    case free
    /// A pause per start, resize and migration.
    case pause(RestartCost)
    /// FleetTwin's own mechanisms and their costs.
    case mechanisms
}

extension MechanismSettings {
    /// These settings for a run of `policy`: `restart_cost: compat` replaced by what the
    /// policy's original simulator charges (`RestartCost.compat(for:)`); anything else as is.
    public func resolved(for policy: String) -> MechanismSettings {
        guard restartCost == .compat else { return self }
        var s = self
        s.restartCost = nil
        switch RestartCost.compat(for: policy) {
        case .free: return s.free
        case .pause(let cost): s.restartCost = cost
        case .mechanisms: break
        }
        return s
    }
}
