import FleetTwinEngine
import FleetTwinFleet
import FleetTwinPolicy

/// FleetTwinExternalPolicy owns the `external` policy: a scheduling policy written in any
/// language, run as a child process that speaks JSON Lines over its standard input and output
/// (protocol: docs/external-policy.md; schema: docs/external-policy.schema.json). It is its
/// own module because it needs Foundation (`Process`) and FleetTwinPolicy imports none.
public enum FleetTwinExternalPolicy {}

/// A policy that relays each scheduling pass to a child process.
///
/// At a pass it writes one request line (protocol version, `now`, the events since the last
/// request, the waiting, running and stopping jobs in index order, every cluster's free
/// capacity) and reads one answer line (decisions, optional `wakeAt`, reservations, `more`);
/// it hands the decisions out one at a time from `nextDecision`. One round trip per pass,
/// unless the answer sets `more`: then it asks again, within the same pass, once the
/// decisions are carried out. Times are integer microseconds of virtual time.
///
/// The simulation waits for every answer, so a policy that is deterministic gives
/// deterministic runs. A crash, a timeout (`ExternalPolicySettings.timeoutSeconds` of wall
/// clock per answer) or an answer outside the protocol sets `failure`, which ends the run
/// with `SimulationError.policyFailed` (its message quotes the answer or the tail of the
/// process's standard error); a decision the fleet cannot carry out ends it with
/// `SimulationError.invalidDecision`, citing the answer (`decisionOrigin`).
///
/// The process starts at the first pass (a built but unrun policy starts nothing); copies of
/// the value made before then each start their own. It ends when the policy is released: its
/// standard input closes, and it is killed if still running two seconds later.
public struct ExternalPolicy: SchedulingPolicy {
    /// The protocol's version, sent in every request (`version`). Version 2 (issue 17) added
    /// the `decline` decision, the `declined` event and a job's `deadline`; every message of
    /// version 1 is a message of version 2 (docs/external-policy.md, "Versions").
    public static let protocolVersion = 2

    public let name = "external"
    /// How a `start` with an accelerator count is laid out on nodes (told to the policy).
    public let placement: PlacementRule
    /// The command, its folder, the timeout per answer, and whether it is an oracle.
    public let settings: ExternalPolicySettings
    public private(set) var reservations: [Reservation] = []
    public private(set) var failure: String?
    /// Round trips so far (the request number of the last request).
    public private(set) var requests = 0

    private var process: PolicyProcess?
    /// What the policy has been told, by job index (jobs arrive in index order).
    private var jobs: [PendingJob] = []
    private var runs: [JobRun?] = []
    private var state: [JobState] = []
    /// Whether each job has ever started (a declined job must never have).
    private var everStarted: [Bool] = []
    /// Jobs by state, in index order (requests list them so): `RankedJobs` keyed by index alone.
    private var waiting = RankedJobs(), running = RankedJobs(), stopping = RankedJobs()
    /// Events since the last request, in the order they happened.
    private var events: [Event] = []
    /// The last answer's decisions, and how many have been handed out.
    private var decisions: [SchedulingDecision] = []
    private var handedOut = 0
    private var askAgain = false
    private var passOpen = false
    private var answer: [UInt8] = []
    private var wakeAt: VirtualTime?
    /// Cluster names to indices, for reading answers (looked up, never iterated).
    private var clusterIndex: [String: Int32] = [:]

    private enum JobState { case waiting, running, stopping, done }

    private enum Event {
        case arrived(JobIndex, VirtualTime)
        case started(JobIndex, JobRun, VirtualTime)
        case completed(JobIndex, VirtualTime)
        case preempted(JobIndex, VirtualTime)
        case failed(JobIndex, VirtualTime)
        case released(JobIndex, cluster: Int32, count: Int, VirtualTime)
        case declined(JobIndex, VirtualTime)
        case capacityChanged(VirtualTime)
    }

    public init(settings: ExternalPolicySettings, placement: PlacementRule = .bestFit) {
        self.settings = settings
        self.placement = placement
    }

    // MARK: What happened (recorded; sent with the next request)

    public mutating func jobArrived(_ job: PendingJob, at now: VirtualTime) {
        precondition(Int(job.index) == jobs.count, "jobs arrive in index order")
        jobs.append(job)
        runs.append(nil)
        state.append(.waiting)
        everStarted.append(false)
        waiting.insert(Self.key(job.index))
        events.append(.arrived(job.index, now))
    }

    public mutating func jobStarted(_ job: PendingJob, on run: JobRun, at now: VirtualTime) {
        jobs[Int(job.index)] = job
        runs[Int(job.index)] = run
        everStarted[Int(job.index)] = true
        move(job.index, to: .running)
        events.append(.started(job.index, run, now))
    }

    public mutating func jobCompleted(_ job: JobIndex, at now: VirtualTime) {
        runs[Int(job)] = nil
        move(job, to: .done)
        events.append(.completed(job, now))
    }

    public mutating func jobPreempted(_ job: PendingJob, at now: VirtualTime) {
        stopped(job)
        events.append(.preempted(job.index, now))
    }

    public mutating func jobFailed(_ job: PendingJob, at now: VirtualTime) {
        stopped(job)
        events.append(.failed(job.index, now))
    }

    public mutating func capacityChanged(at now: VirtualTime) { events.append(.capacityChanged(now)) }

    public mutating func devicesReleased(_ job: JobIndex, cluster: Int32, count: Int, at now: VirtualTime) {
        events.append(.released(job, cluster: cluster, count: count, now))
    }

    private mutating func stopped(_ job: PendingJob) {
        jobs[Int(job.index)] = job
        runs[Int(job.index)] = nil
        move(job.index, to: .waiting)
    }

    private mutating func move(_ job: JobIndex, to new: JobState) {
        let key = Self.key(job)
        switch state[Int(job)] {
        case .waiting: waiting.remove(key)
        case .running: running.remove(key)
        case .stopping: stopping.remove(key)
        case .done: break
        }
        state[Int(job)] = new
        switch new {
        case .waiting: waiting.insert(key)
        case .running: running.insert(key)
        case .stopping: stopping.insert(key)
        case .done: break
        }
    }

    private static func key(_ job: JobIndex) -> PriorityKey { PriorityKey(0, 0, job: job) }

    // MARK: Decisions

    public mutating func nextDecision(at now: VirtualTime, fleet: FleetView) -> SchedulingDecision? {
        guard failure == nil else { return nil }
        if !passOpen {
            passOpen = true
            ask(at: now, fleet: fleet)
        }
        while failure == nil {
            if handedOut < decisions.count {
                let decision = decisions[handedOut]
                handedOut += 1
                // A preempted job dumps before it is pending again (`jobPreempted` says when).
                if case .preempt(let job) = decision, state[Int(job)] == .running { move(job, to: .stopping) }
                // A declined job is finished by the decision (the scheduler refuses any other).
                if case .decline(let job) = decision, state[Int(job)] == .waiting {
                    move(job, to: .done)
                    events.append(.declined(job, now))
                }
                return decision
            }
            guard askAgain else { break }
            ask(at: now, fleet: fleet)
        }
        passOpen = false
        return nil
    }

    public func wakeup(after now: VirtualTime) -> VirtualTime? {
        guard let wakeAt, wakeAt > now else { return nil }
        return wakeAt
    }

    public var decisionOrigin: String? {
        guard handedOut > 0 else { return nil }
        return "the external policy `\(settings.command)` gave it as decisions[\(handedOut - 1)] of its answer to request \(requests): "
            + Self.quoted(answer)
    }

    /// One round trip: the request out, the answer read and checked. A failure of either
    /// kills the process and sets `failure`.
    private mutating func ask(at now: VirtualTime, fleet: FleetView) {
        decisions.removeAll(keepingCapacity: true)
        handedOut = 0
        askAgain = false
        requests += 1
        do throws(PolicyProcessError) {
            if process == nil {
                process = try PolicyProcess(settings)
                for (i, c) in fleet.clusters.enumerated() { clusterIndex[c.name] = Int32(i) }
            }
            let request = self.request(at: now, fleet: fleet)
            events.removeAll(keepingCapacity: true)
            answer = try process!.exchange(request, timeout: settings.timeoutSeconds)
            do throws(PolicyProcessError) {
                try read(answer, at: now, fleet: fleet)
            } catch {
                decisions.removeAll()
                throw PolicyProcessError("its answer to request \(requests) does not follow protocol version \(Self.protocolVersion): "
                                         + "\(error.description); the answer was: \(Self.quoted(answer))" + process!.errorTail)
            }
        } catch {
            failure = "external policy `\(settings.command)`: " + error.description
            process?.kill()
            process = nil
        }
    }

    static func quoted(_ line: [UInt8]) -> String {
        let text = String(decoding: line.prefix(2000), as: UTF8.self)
        return "'" + text + (line.count > 2000 ? "…' (\(line.count) bytes)" : "'")
    }

    // MARK: The request

    private func request(at now: VirtualTime, fleet: FleetView) -> [UInt8] {
        var w = JSONLine()
        w.open("{")
        w.key("type"); w.string("decide")
        w.key("version"); w.int(Self.protocolVersion)
        w.key("request"); w.int(requests)
        w.key("now"); w.int(now.microseconds)
        if requests == 1 { writeFleet(&w, fleet) }
        w.key("events"); w.open("[")
        for event in events { write(event, &w, fleet) }
        w.close("]")
        w.key("waiting"); w.open("[")
        for key in waiting.keys { writeJob(key.job, &w, fleet) }
        w.close("]")
        w.key("running"); w.open("[")
        for key in running.keys { writeJob(key.job, &w, fleet) }
        w.close("]")
        w.key("stopping"); w.open("[")
        for key in stopping.keys { w.int(key.job) }
        w.close("]")
        w.key("clusters"); w.open("[")
        for c in fleet.clusters {
            w.open("{")
            w.key("name"); w.string(c.name)
            w.key("free"); w.int(c.free.totalFree)
            w.key("fullyFreeNodes"); w.int(c.free.fullyFreeNodes)
            w.key("maxNodeFree"); w.int(c.free.maxNodeFree)
            w.key("maxPartialNodeFree"); w.int(c.free.maxPartialNodeFree)
            w.key("freeOnNode"); w.open("[")
            for (node, free) in c.nodes.freeOnNode.enumerated() { w.int(c.nodes.isDown[node] ? 0 : free) }
            w.close("]")
            w.close("}")
        }
        w.close("]")
        w.close("}")
        w.endLine()
        return w.bytes
    }

    /// What does not change during a run, in the first request only.
    private func writeFleet(_ w: inout JSONLine, _ fleet: FleetView) {
        w.key("fleet"); w.open("{")
        w.key("placement"); w.string(placement.rawValue)
        w.key("oracle"); w.bool(settings.oracle)
        w.key("types"); w.open("[")
        for (t, name) in fleet.typeNames.enumerated() {
            w.open("{")
            w.key("name"); w.string(name)
            if t < fleet.typeSpeeds.count { w.key("speed"); w.double(fleet.typeSpeeds[t]) }
            w.key("memoryBytes"); w.int(fleet.typeMemory[t])
            w.close("}")
        }
        w.close("]")
        w.key("clusters"); w.open("[")
        for c in fleet.clusters {
            w.open("{")
            w.key("name"); w.string(c.name)
            w.key("region"); w.int(c.region)
            w.key("acceleratorType"); w.string(fleet.typeNames[Int(c.acceleratorType)])
            w.key("capacity"); w.int(c.capacity)
            w.key("nodes"); w.int(c.nodes.nodeCount)
            w.key("acceleratorsPerNode"); w.int(c.nodes.acceleratorsPerNode)
            w.close("}")
        }
        w.close("]")
        w.close("}")
    }

    private func write(_ event: Event, _ w: inout JSONLine, _ fleet: FleetView) {
        w.open("{")
        switch event {
        case let .arrived(job, at): header("arrived", job, at, &w)
        case let .completed(job, at): header("completed", job, at, &w)
        case let .preempted(job, at): header("preempted", job, at, &w)
        case let .failed(job, at): header("failed", job, at, &w)
        case let .declined(job, at): header("declined", job, at, &w)
        case let .started(job, run, at):
            header("started", job, at, &w)
            writeRun(run, &w, fleet)
        case let .released(job, cluster, count, at):
            header("released", job, at, &w)
            w.key("cluster"); w.string(fleet.clusters[Int(cluster)].name)
            w.key("count"); w.int(count)
        case let .capacityChanged(at):
            w.key("event"); w.string("capacityChanged")
            w.key("at"); w.int(at.microseconds)
        }
        w.close("}")
    }

    private func header(_ kind: String, _ job: JobIndex, _ at: VirtualTime, _ w: inout JSONLine) {
        w.key("event"); w.string(kind)
        w.key("at"); w.int(at.microseconds)
        w.key("job"); w.int(job)
    }

    private func writeRun(_ run: JobRun, _ w: inout JSONLine, _ fleet: FleetView) {
        w.key("cluster"); w.string(fleet.clusters[Int(run.cluster)].name)
        w.key("devices"); w.int(run.devices)
        w.key("nodes"); w.open("[")
        for share in run.shares {
            w.open("{")
            w.key("node"); w.int(share.node)
            w.key("count"); w.int(share.count)
            w.close("}")
        }
        w.close("]")
        w.key("progressFrom"); w.int(run.progressFrom.microseconds)
    }

    private func writeJob(_ index: JobIndex, _ w: inout JSONLine, _ fleet: FleetView) {
        let job = jobs[Int(index)]
        w.open("{")
        w.key("job"); w.int(index)
        w.key("submit"); w.int(job.submit.microseconds)
        w.key("tier"); w.string(job.tier.rawValue)
        w.key("worldSize"); w.int(job.worldSize)
        w.key("acceleratorTypes"); w.open("[")
        for (t, name) in fleet.typeNames.enumerated() where job.acceleratorTypes.contains(Int32(t)) { w.string(name) }
        w.close("]")
        w.key("attainedService"); w.int(job.attainedService)
        if settings.oracle {
            w.key("work"); w.int(job.work)
            w.key("remainingWork"); w.int(job.remainingWork)
        }
        if job.memoryPerReplicaBytes > 0 { w.key("memoryPerReplicaBytes"); w.int(job.memoryPerReplicaBytes) }
        if job.stateBytes > 0 { w.key("stateBytes"); w.int(job.stateBytes) }
        // A model-parallel job: whole tensor groups per node, counts in whole model replicas.
        if job.tensorGroup > 1 { w.key("tensorGroup"); w.int(job.tensorGroup) }
        if job.replicaDevices > 1 { w.key("replicaDevices"); w.int(job.replicaDevices) }
        if job.tenant >= 0 { w.key("tenant"); w.string(fleet.tenantNames[Int(job.tenant)]) }
        if !job.typeSpeeds.isEmpty {
            w.key("typeSpeeds"); w.open("{")
            for (t, speed) in job.typeSpeeds.enumerated() where t < fleet.typeNames.count {
                w.key(fleet.typeNames[t]); w.double(speed)
            }
            w.close("}")
        }
        if job.timeLimit > 0 { w.key("timeLimit"); w.int(job.timeLimit) }
        if job.partition >= 0 { w.key("partition"); w.string(fleet.partitionNames[Int(job.partition)]) }
        if job.qos >= 0 { w.key("qos"); w.string(fleet.qosNames[Int(job.qos)]) }
        if let deadline = job.deadline { w.key("deadline"); w.int(deadline.microseconds) }
        if let run = runs[Int(index)] { writeRun(run, &w, fleet) }
        w.close("}")
    }

    // MARK: The answer

    /// Reads an answer into `decisions`, `wakeAt`, `reservations` and `askAgain`, or throws
    /// what is wrong with it (a path into the answer and what was expected).
    private mutating func read(_ line: [UInt8], at now: VirtualTime, fleet: FleetView) throws(PolicyProcessError) {
        let value = try JSONValue.parse(line)
        guard case .object(let members) = value else { throw PolicyProcessError("expected a JSON object, found \(value.kind)") }
        guard value["decisions"] != nil else { throw PolicyProcessError("the member \"decisions\" (an array, maybe empty) is missing") }
        var newWake: VirtualTime?
        var newReservations: [Reservation] = []
        for (key, member) in members {
            switch key {
            case "decisions":
                guard case .array(let items) = member else { throw PolicyProcessError("decisions: expected an array, found \(member.kind)") }
                for (k, item) in items.enumerated() { decisions.append(try decision(item, path: "decisions[\(k)]", fleet: fleet)) }
            case "wakeAt":
                if member == .null { continue }
                guard case .int(let t) = member, t > now.microseconds, t < VirtualTime.limit.microseconds else {
                    throw PolicyProcessError("wakeAt: expected null or an integer time in µs later than now (\(now.microseconds)), found \(Self.text(member))")
                }
                newWake = VirtualTime(microseconds: t)
            case "reservations":
                guard case .array(let items) = member else { throw PolicyProcessError("reservations: expected an array, found \(member.kind)") }
                for (k, item) in items.enumerated() {
                    let path = "reservations[\(k)]"
                    try Self.allow(item, ["job", "cluster", "accelerators"], path)
                    newReservations.append(Reservation(job: try job(item, path), cluster: try cluster(item, path, fleet),
                                                       accelerators: try Self.count(item, "accelerators", path, min: 0)))
                }
            case "more":
                guard case .bool(let more) = member else { throw PolicyProcessError("more: expected true or false, found \(member.kind)") }
                askAgain = more
            default:
                throw PolicyProcessError("unknown member \"\(key)\"; an answer has decisions, and optionally wakeAt, reservations, more")
            }
        }
        wakeAt = newWake
        reservations = newReservations
    }

    static let actions = ["start", "preempt", "migrate", "resize", "requeue", "decline"]

    private func decision(_ item: JSONValue, path: String, fleet: FleetView) throws(PolicyProcessError) -> SchedulingDecision {
        guard case .object = item else { throw PolicyProcessError("\(path): expected an object, found \(item.kind)") }
        guard case .string(let action)? = item["action"], Self.actions.contains(action) else {
            throw PolicyProcessError("\(path).action: expected one of \(Self.actions.joined(separator: ", ")), found \(item["action"].map(Self.text) ?? "nothing")")
        }
        let index = try job(item, path)
        switch action {
        case "start":
            try Self.allow(item, ["action", "job", "cluster", "accelerators", "nodes"], path)
            let c = try cluster(item, path, fleet)
            if let nodes = item["nodes"] {
                guard item["accelerators"] == nil else { throw PolicyProcessError("\(path): give accelerators or nodes, not both") }
                guard case .array(let list) = nodes, !list.isEmpty else { throw PolicyProcessError("\(path).nodes: expected a non-empty array, found \(nodes.kind)") }
                var shares: [NodeShare] = []
                for (k, share) in list.enumerated() {
                    let p = "\(path).nodes[\(k)]"
                    try Self.allow(share, ["node", "count"], p)
                    let node = try Self.count(share, "node", p, min: 0)
                    guard node < fleet.clusters[Int(c)].nodes.nodeCount else {
                        throw PolicyProcessError("\(p).node: cluster \(fleet.clusters[Int(c)].name) has nodes 0 to \(fleet.clusters[Int(c)].nodes.nodeCount - 1), found \(node)")
                    }
                    shares.append(NodeShare(node: Int32(node), count: Int32(try Self.count(share, "count", p, min: 1))))
                }
                return .startOnNodes(index, cluster: c, shares: shares)
            }
            let devices = item["accelerators"] == nil ? jobs[Int(index)].worldSize : try Self.count(item, "accelerators", path, min: 1)
            return .start(index, cluster: c, accelerators: devices)
        case "migrate":
            try Self.allow(item, ["action", "job", "cluster"], path)
            return .migrate(index, toCluster: try cluster(item, path, fleet))
        case "resize":
            try Self.allow(item, ["action", "job", "accelerators"], path)
            return .resize(index, accelerators: try Self.count(item, "accelerators", path, min: 1))
        case "preempt":
            try Self.allow(item, ["action", "job"], path)
            return .preempt(index)
        case "decline":
            try Self.allow(item, ["action", "job"], path)
            // Admission control refuses a job before it runs: say which job is not waiting.
            guard state[Int(index)] == .waiting, !everStarted[Int(index)] else {
                let now = switch state[Int(index)] {
                case .waiting: "waiting again after it ran"
                case .running: "running"
                case .stopping: "stopping (preempted, still dumping)"
                case .done: "finished (completed or declined)"
                }
                throw PolicyProcessError("\(path): cannot decline job \(index): it is \(now); only a waiting job that never started can be declined")
            }
            return .decline(index)
        default:
            try Self.allow(item, ["action", "job"], path)
            return .requeue(index)
        }
    }

    /// The `job` member: the index of a job that has arrived.
    private func job(_ item: JSONValue, _ path: String) throws(PolicyProcessError) -> JobIndex {
        guard case .int(let j)? = item["job"], j >= 0, j < jobs.count else {
            throw PolicyProcessError("\(path).job: expected the index of a job that has arrived (0 to \(jobs.count - 1)), found \(item["job"].map(Self.text) ?? "nothing")")
        }
        return JobIndex(j)
    }

    /// The `cluster` member: a cluster's name.
    private func cluster(_ item: JSONValue, _ path: String, _ fleet: FleetView) throws(PolicyProcessError) -> Int32 {
        guard case .string(let name)? = item["cluster"], let c = clusterIndex[name] else {
            throw PolicyProcessError("\(path).cluster: expected a cluster's name (\(fleet.clusters.map(\.name).joined(separator: ", "))), "
                                     + "found \(item["cluster"].map(Self.text) ?? "nothing")")
        }
        return c
    }

    private static func count(_ item: JSONValue, _ key: String, _ path: String, min: Int) throws(PolicyProcessError) -> Int {
        guard case .int(let v)? = item[key], v >= min, v <= Int64(Int32.max) else {
            throw PolicyProcessError("\(path).\(key): expected an integer of at least \(min), found \(item[key].map(text) ?? "nothing")")
        }
        return Int(v)
    }

    private static func allow(_ item: JSONValue, _ keys: [String], _ path: String) throws(PolicyProcessError) {
        guard case .object(let members) = item else { throw PolicyProcessError("\(path): expected an object, found \(item.kind)") }
        for (key, _) in members where !keys.contains(key) {
            throw PolicyProcessError("\(path): unknown member \"\(key)\"; expected \(keys.joined(separator: ", "))")
        }
    }

    /// A value as it reads in a message.
    static func text(_ v: JSONValue) -> String {
        switch v {
        case .null: "null"
        case .bool(let b): "\(b)"
        case .int(let i): "\(i)"
        case .double(let d): "\(d)"
        case .string(let s): "\"\(s)\""
        default: v.kind
        }
    }
}
