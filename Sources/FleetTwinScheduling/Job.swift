import FleetTwinEngine
import FleetTwinFleet

public enum JobStatus: UInt8, Sendable {
    /// Waiting to (re)start.
    case queued
    case running
    /// Cut and dump under way after a preemption: progress is kept, accelerators still held.
    case stopping
    case completed
    /// Refused by the policy before it ever started (`SchedulingDecision.decline`): finished
    /// by that decision, never run.
    case declined
}

/// The wall-clock shape of one run segment, for the scheduler to schedule events from.
public struct Segment: Sendable, Equatable {
    public var end: VirtualTime
    public var generation: UInt32
    /// When progress starts (after a restore, transfer or pause).
    public var progressFrom: VirtualTime
}

/// One job's life: its progress, where it runs, and when it will finish.
///
/// Progress is counted in microseconds of full-size work on an accelerator of relative
/// speed 1. A run advances at `rate` from `progressFrom` on; on P < W accelerators the W
/// replicas time-slice (replica splicing), so the rate is speed / (ceil(W / P) x (1 +
/// splicing overhead)), or speed x P / W for batch inference, whose devices split the
/// requests (`BatchInference`); a model-shaped training job's step also pays the gradient
/// all-reduce of its placement (`CommunicationCosts`). A start may begin with a delay (restore, transfer) during which
/// the job holds its accelerators without progressing.
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
    /// Bumped whenever the end moves; an event carrying an older generation is stale.
    public private(set) var generation: UInt32 = 0
    /// Dumps taken so far (preemptions, migrations, periodic checkpoints).
    public private(set) var dumps = 0
    /// Work done since the last dump: nothing new to save when it is zero.
    public private(set) var workSinceDump: Int64 = 0
    private var progressFrom = VirtualTime.zero
    /// When the current run makes progress from (after a restore, transfer or pause).
    public var resumesAt: VirtualTime { progressFrom }
    private var rate = 1.0
    /// The real kernels this job runs, if it is a real workload.
    private let computation: (any JobComputation)?

    public init(index: JobIndex, spec: JobSpec, executor: SimulationExecutor, computations: (any JobComputationFactory)? = nil) {
        self.index = index
        self.spec = spec
        self.executor = executor
        self.remainingWork = spec.work.microseconds
        self.computation = computations?.computation(for: spec)
    }

    /// Real steps catch up with the banked work, on the devices that work ran on.
    private func advanceComputation() {
        guard let computation, let placement else { return }
        computation.advance(workDone: spec.work.microseconds - remainingWork, totalWork: spec.work.microseconds,
                            devices: placement.acceleratorCount)
    }

    /// Starts (or resumes) on `placement`; progress begins after `delay`.
    public func start(at now: VirtualTime, on placement: Placement, rate: Double, delay: VirtualTime = .zero) -> Segment {
        precondition(status == .queued, "job \(index) started while \(status)")
        status = .running
        self.placement = placement
        if firstStart == nil { firstStart = now }
        return resume(from: now + delay, rate: rate)
    }

    /// The wall time of `steps` mini-batches at the current rate (the default step time
    /// when the job's work was not given in steps).
    public func stepsTime(_ steps: Double, defaultStep: VirtualTime) -> VirtualTime {
        let stepWork = spec.steps.map { Double(spec.work.microseconds) / Double($0) } ?? Double(defaultStep.microseconds)
        return Self.saturatedSpan(steps * stepWork / rate)
    }

    /// Reaches a consistent cut `cut` from now (never past the job's end) and banks the
    /// progress up to it; the job keeps its placement. Returns the work banked and the
    /// instant of the cut.
    public func cut(at now: VirtualTime, after cut: VirtualTime) -> (banked: Int64, at: VirtualTime) {
        precondition(status == .running, "job \(index) cut while \(status)")
        let latest = max(now, (end ?? now) - VirtualTime(microseconds: 1))
        let at = min(now + cut, latest)
        let done = progress(until: at)
        remainingWork -= done
        workSinceDump += done
        generation &+= 1
        progressFrom = at
        advanceComputation()
        return (done, at)
    }

    /// After a cut: the job's state is being dumped; it holds its accelerators until
    /// `released()`.
    public func beginStopping() {
        precondition(status == .running)
        status = .stopping
        recordDump()
        computation?.dump(leavingDevices: true)
    }

    /// The dump finished: the accelerators are free and the job waits to resume.
    public func released() -> Placement {
        precondition(status == .stopping, "job \(index) released while \(status)")
        status = .queued
        defer { placement = nil }
        return placement!
    }

    /// After a cut: continue on `placement` (the same devices, fewer, more, or elsewhere)
    /// at `rate`, progressing from `progressFrom`.
    public func reconfigure(on placement: Placement, rate: Double, progressFrom: VirtualTime, dumped: Bool) -> Segment {
        precondition(status == .running)
        self.placement = placement
        if dumped {
            // A migration: the state travels as bytes and is restored at the destination.
            recordDump()
            computation?.dump(leavingDevices: true)
        }
        return resume(from: progressFrom, rate: rate)
    }

    /// A periodic checkpoint: progress pauses for `pause` while the state is dumped.
    public func checkpoint(at now: VirtualTime, pause: VirtualTime, generation: UInt32) -> (banked: Int64, segment: Segment)? {
        guard status == .running, generation == self.generation, now >= progressFrom else { return nil }
        let done = progress(until: now)
        remainingWork -= done
        workSinceDump += done
        advanceComputation()
        recordDump()
        computation?.dump(leavingDevices: false)
        return (done, resume(from: now + pause, rate: rate))
    }

    /// A per-event overhead (`RestartCost.elasticFlowEvents`): the job banks its progress up
    /// to now and progresses again from `now + pause`, on the same devices; a pause still
    /// running is replaced (ElasticFlow drops what an event's overhead has left at the next
    /// event and charges that one's). Returns the work banked and the new segment.
    public func pause(at now: VirtualTime, for pause: VirtualTime) -> (banked: Int64, segment: Segment)? {
        guard status == .running else { return nil }
        let done = progress(until: now)
        remainingWork -= done
        workSinceDump += done
        advanceComputation()
        return (done, resume(from: now + pause, rate: rate))
    }

    /// Its accelerators failed: everything since the last dump is lost (the progress of
    /// the current segment and the work banked by cuts without a dump); the job waits to
    /// resume from its last checkpoint. Returns what it held and the work lost and unbanked.
    public func fail(at now: VirtualTime) -> (placement: Placement, lost: Int64, unbanked: Int64)? {
        guard status == .running || status == .stopping, let placement else { return nil }
        let inFlight = status == .running ? progress(until: now) : 0
        let unbanked = workSinceDump
        remainingWork += unbanked
        workSinceDump = 0
        computation?.rollBack()
        status = .queued
        generation &+= 1
        self.placement = nil
        return (placement, inFlight + unbanked, unbanked)
    }

    /// Completes the job if `generation` is current; returns what it held and the work of
    /// the final segment, or nil for a stale event.
    public func complete(at now: VirtualTime, generation: UInt32) -> (placement: Placement, banked: Int64, computed: ComputationOutcome?)? {
        guard status == .running, generation == self.generation, let placement else { return nil }
        let computed = computation?.finish(devices: placement.acceleratorCount)
        let done = remainingWork
        status = .completed
        remainingWork = 0
        end = now
        self.placement = nil
        return (placement, done, computed)
    }

    /// The policy declined the job before it ever ran (admission control); false when it has
    /// started before or is not waiting, which the scheduler refuses.
    public func decline() -> Bool {
        guard status == .queued, firstStart == nil else { return false }
        status = .declined
        return true
    }

    private func recordDump() {
        dumps += 1
        workSinceDump = 0
    }

    private func resume(from start: VirtualTime, rate: Double) -> Segment {
        self.rate = rate
        progressFrom = start
        generation &+= 1
        let duration = rate == 1 ? VirtualTime(microseconds: remainingWork) : Self.saturatedSpan(Double(remainingWork) / rate)
        let finish = VirtualTime(microseconds: start.microseconds.saturatingAdding(duration.microseconds))
        end = finish
        return Segment(end: finish, generation: generation, progressFrom: start)
    }

    /// `microseconds` rounded up, at most `VirtualTime.limit`: work at a rate slowed by
    /// degradation, a slow type and time-slicing together can exceed any representable span
    /// (the parser bounds each factor, not every product); such a job never finishes in a
    /// run rather than trapping.
    nonisolated static func saturatedSpan(_ microseconds: Double) -> VirtualTime {
        guard microseconds < Double(VirtualTime.limit.microseconds) else { return .limit }
        return VirtualTime(microseconds: Int64(max(0, microseconds).rounded(.up)))
    }

    private func progress(until t: VirtualTime) -> Int64 {
        let elapsed = (t - progressFrom).microseconds
        guard elapsed > 0 else { return 0 }
        let done = rate == 1 ? elapsed : Int64((Double(elapsed) * rate).rounded(.down))
        return min(done, remainingWork)
    }
}
