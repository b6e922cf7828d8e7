import FleetTwinEngine
import FleetTwinFleet

public enum JobStatus: UInt8, Sendable {
    case queued, running, completed
}

/// One job's life: its progress, where it runs, and when it will finish.
///
/// Progress is counted in microseconds of full-size work. On P < W accelerators the W
/// replicas time-slice (Singularity's replica splicing), so the job advances at
/// 1 / (ceil(W / P) x (1 + splicing overhead)) of its full-size rate.
public actor Job {
    public nonisolated let index: JobIndex
    public nonisolated let spec: JobSpec
    private nonisolated let executor: SimulationExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    public private(set) var status: JobStatus = .queued
    public private(set) var remainingWork: Int64
    public private(set) var placement: Placement?
    public private(set) var firstStart: VirtualTime?
    public private(set) var end: VirtualTime?
    /// Bumped at each start; a completion event carrying an older generation is stale.
    public private(set) var generation: UInt32 = 0
    private var runningSince = VirtualTime.zero
    private var rate = 1.0

    public init(index: JobIndex, spec: JobSpec, executor: SimulationExecutor) {
        self.index = index
        self.spec = spec
        self.executor = executor
        self.remainingWork = spec.work.microseconds
    }

    /// The fraction of full-size speed on `devices` accelerators of relative speed `speed`.
    public nonisolated static func rate(worldSize: Int, devices: Int, speed: Double, splicingOverhead: Double) -> Double {
        if devices >= worldSize { return speed }
        let slices = (worldSize + devices - 1) / devices
        return speed / (Double(slices) * (1 + splicingOverhead))
    }

    /// Starts (or resumes) on `placement`; returns the completion time and the generation
    /// that its completion event must carry.
    public func start(at now: VirtualTime, on placement: Placement, rate: Double) -> (end: VirtualTime, generation: UInt32) {
        precondition(status == .queued, "job \(index) started while \(status)")
        status = .running
        self.placement = placement
        self.rate = rate
        runningSince = now
        if firstStart == nil { firstStart = now }
        generation &+= 1
        let duration = rate == 1 ? remainingWork : Int64((Double(remainingWork) / rate).rounded(.up))
        return (now + VirtualTime(microseconds: duration), generation)
    }

    /// Stops the job, keeping the progress made up to `now`; returns what it held.
    public func stop(at now: VirtualTime) -> Placement {
        precondition(status == .running, "job \(index) stopped while \(status)")
        let elapsed = (now - runningSince).microseconds
        let done = rate == 1 ? elapsed : Int64((Double(elapsed) * rate).rounded(.down))
        remainingWork = max(0, remainingWork - done)
        status = .queued
        defer { placement = nil }
        return placement!
    }

    /// Completes the job if `generation` is current; returns what it held, or nil if the
    /// completion event is stale (the job was stopped since it was scheduled).
    public func complete(at now: VirtualTime, generation: UInt32) -> Placement? {
        guard status == .running, generation == self.generation else { return nil }
        status = .completed
        remainingWork = 0
        end = now
        defer { placement = nil }
        return placement
    }
}
