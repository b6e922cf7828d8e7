import FleetTwinEngine
import Foundation

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
    /// By the application the job trains (`JobSpec.application`, a trace's `workload`):
    /// `pauses[i].pause` for a job whose application is `pauses[i].application`, `otherwise`
    /// for any other or none. Sia's simulator (`RestartCost.sia`).
    case byApplication(pauses: [ApplicationPause], otherwise: VirtualTime)
    /// ElasticFlow's simulator: no pause at a start or resize itself, but at every scheduling
    /// event every running job stops progressing for `RestartCost.elasticFlowOverhead`
    /// (`utils.py::estimate_overhead`, applied in `scheduler.py::ef_sim_jobs_access_control`);
    /// the scheduler charges it after each pass in which the policy counted a scheduling
    /// event (`SchedulingPolicy.schedulingEvents`). Dumps, transfers and copies are free.
    case elasticFlowEvents
    /// What the policy's original simulator charges, resolved when the policy is known
    /// (`MechanismSettings.resolved(for:)`): nothing at all for Tiresias', Gavel's and the
    /// AFS port's, 30 s for Pollux and Pollux's Optimus, Sia's per-application times
    /// (`sia`), ElasticFlow's per-event overhead (`elasticFlowEvents`), FleetTwin's own
    /// mechanisms where FleetTwin is the original (`singularity`) or there is no original
    /// simulator.
    case compat

    /// The pause of a job whose gang is `worldSize` accelerators and whose application is
    /// `application` (nil: unnamed) at a start, resize or migration (nil for `compat`, which is
    /// resolved before a run; zero for `elasticFlowEvents`, whose pauses come at scheduling
    /// events instead).
    public func pause(worldSize: Int, application: String? = nil) -> VirtualTime? {
        switch self {
        case .flat(let pause): return pause
        case .byGang(let limits, let pauses): return pauses[limits.firstIndex { worldSize <= $0 } ?? limits.count]
        case .byApplication(let pauses, let otherwise):
            return pauses.first { $0.application == application }?.pause ?? otherwise
        case .elasticFlowEvents: return .zero
        case .compat: return nil
        }
    }

    /// Sia's simulator's restart charge (siasosp23/artifacts aaf7a0d, `sia-simulator`;
    /// research/policies.md section 12): `applications.py::Application.__init__` sets a
    /// `rescale_time` per application (cifar10 50 s, deepspeech2 25 s, bert 120 s, yolov3
    /// 80 s, imagenet 250 s, ncf 15 s, any other 30 s), and `job.py::reallocate` and `migrate`
    /// hold the job's GPUs without progress for it at its first start, at every resume and at
    /// every change of its per-node GPU counts or GPU type; a suspension costs nothing. These
    /// are the simulator's times, not the restart penalties Sia's policy assumes
    /// (`sia.py::get_restart_penalty`: deepspeech 25, imagenet 250, cifar 30, bert 120, yolov3
    /// 45, others 30 s), which steer its choice only. The names are Sia's (a trace's
    /// `"workload"`), and a ResNet-50 (`resnet50`, `resnet-50`: the Tiresias traces) is its
    /// `imagenet` application, as for the policy (`SiaRule.restartPenalty`: Pollux's `imagenet`
    /// job, on which Sia's builds, trains `--arch=resnet50`); any other name gets 30 s.
    public static let sia = RestartCost.byApplication(pauses: [
        ApplicationPause(application: "cifar10", pause: .seconds(Int64(50))),
        ApplicationPause(application: "deepspeech2", pause: .seconds(Int64(25))),
        ApplicationPause(application: "bert", pause: .seconds(Int64(120))),
        ApplicationPause(application: "yolov3", pause: .seconds(Int64(80))),
        ApplicationPause(application: "imagenet", pause: .seconds(Int64(250))),
        ApplicationPause(application: "resnet50", pause: .seconds(Int64(250))),
        ApplicationPause(application: "resnet-50", pause: .seconds(Int64(250))),
        ApplicationPause(application: "ncf", pause: .seconds(Int64(15))),
    ], otherwise: .seconds(Int64(30)))

    /// ElasticFlow's per-event overhead of a job running on `devices` GPUs, in a cluster of
    /// `clusterDevices` (pkusys/ElasticFlow 04a0109, `ElasticFlow/scheduler/utils.py::
    /// estimate_overhead`; research/policies.md section 15): 2 s (7 s in a cluster of 256 GPUs
    /// or more); if the job's rank set is `cached` (seen at an earlier event since the last
    /// cache reset) nothing more; otherwise + 2 (log2 devices + 1) s, and on a `restart` event
    /// (every 60th, which resets the cache) + 27 s (+ 47 s at 256 GPUs or more). In µs,
    /// rounded to the nearest.
    public static func elasticFlowOverhead(devices: Int, clusterDevices: Int, restart: Bool, cached: Bool) -> VirtualTime {
        let large = clusterDevices >= 256
        var seconds: Double = large ? 7 : 2
        if !cached {
            if restart { seconds += large ? 47 : 27 }
            seconds += (log2(Double(max(1, devices))) + 1) * 2
        }
        return .seconds(seconds)
    }

    /// ElasticFlow's simulator resets its rank-set cache and charges a restart at scheduling
    /// event number `event` (counted from 0) when `event` > 0 and `event` % 60 == 0
    /// (`scheduler.py`: `restart = schedule_count > 0 and schedule_count %
    /// FLAGS.scheduling_slot == 0`, its slot flag, 60 in the simulation scripts, used as a
    /// count of events).
    public static func elasticFlowRestarts(atEvent event: Int) -> Bool {
        event > 0 && event % 60 == 0
    }

    /// How a scenario writes it back: `30s`, `{gpus: [8], pauses: [40s, 60s]}`, `compat`.
    public var description: String {
        switch self {
        case .flat(let pause): return pause.description
        case .byGang(let limits, let pauses):
            return "{gpus: [\(limits.map(String.init).joined(separator: ", "))], pauses: [\(pauses.map(\.description).joined(separator: ", "))]}"
        case .byApplication(let pauses, let otherwise):
            return "{applications: {\(pauses.map { "\($0.application): \($0.pause)" }.joined(separator: ", "))}, otherwise: \(otherwise)}"
        case .elasticFlowEvents: return "elasticflow-events"
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
        // Sia's simulator: its per-application rescale times (`RestartCost.sia`).
        case "sia": return .pause(.sia)
        // ElasticFlow's simulator: its overhead at every scheduling event (`elasticFlowEvents`).
        case "elasticflow": return .pause(.elasticFlowEvents)
        // FleetTwin is the original (singularity), Slurm's requeue is what the `slurm`
        // policy models, and fair-share and external policies have no original simulator.
        default: return .mechanisms
        }
    }
}

/// One application's restart pause (`RestartCost.byApplication`).
public struct ApplicationPause: Sendable, Equatable {
    /// The application's name, as the job names it (`JobSpec.application`).
    public var application: String
    public var pause: VirtualTime

    public init(application: String, pause: VirtualTime) {
        self.application = application
        self.pause = pause
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
