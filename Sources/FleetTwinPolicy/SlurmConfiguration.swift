import FleetTwinEngine

/// The part of a Slurm cluster's configuration that decides when its jobs start: slurm.conf
/// (https://slurm.schedmd.com/slurm.conf.html) and the QOS table of its accounting database
/// (`sacctmgr -P show qos format=Name,Priority,Preempt,PreemptMode,GraceTime`). Every value
/// has Slurm 22.05's default when the file does not set it; the `slurm` policy reads nothing
/// else.
///
/// What is not modelled is refused with a located error rather than ignored: a partition over
/// a subset of the nodes, preemption by suspension or cancellation, and scheduler plugins
/// other than `sched/backfill` and `sched/builtin`.
public struct SlurmConfiguration: Sendable, Equatable {
    public struct Partition: Sendable, Equatable {
        public var name: String
        /// Jobs of a higher tier are considered first and (with `preempt/partition_prio`) may
        /// preempt jobs of lower tiers.
        public var priorityTier: Int
        /// The partition factor of multifactor priority, before normalisation.
        public var priorityJobFactor: Int
        public var isDefault: Bool
        /// The time limit of a job that gives none (`DefaultTime`, else `MaxTime`); nil: none.
        public var defaultTime: VirtualTime?
        /// How long a job of this partition preempted under `preempt/partition_prio` runs on
        /// after the signal (`GraceTime`, seconds; preempt_partition_prio.c `_get_grace_time`).
        public var graceTime: VirtualTime = .zero
    }

    public struct QOS: Sendable, Equatable {
        public var name: String
        public var priority: Int
        /// The QOS names this one may preempt (`Preempt`).
        public var preempts: [String]
        /// `requeue`, `cancel`, `suspend`, `off` or `cluster` (the global `PreemptMode`).
        public var preemptMode: String
        /// How long a preempted job of this QOS runs on after the signal.
        public var graceTime: VirtualTime
    }

    /// One `NodeName` line of slurm.conf: its host list, where it is, and the `CPUs=` and
    /// `Gres=` it gives (or the last `NodeName=DEFAULT` line's), nil when neither does.
    public struct NodeLine: Sendable, Equatable {
        public var names: String
        public var file: String
        public var line: Int
        public var cpus: Int?
        public var gres: String?
        /// The line of the `NodeName=DEFAULT` that gave `cpus` or `gres`, nil where this line
        /// gives them itself (so that a finding points at the line that says the value).
        public var cpusFromDefault: Int? = nil
        public var gresFromDefault: Int? = nil
    }

    public enum PreemptType: String, Sendable, Equatable {
        case none = "preempt/none"
        case qos = "preempt/qos"
        case partitionPriority = "preempt/partition_prio"
    }

    /// `sched/backfill` (true) or `sched/builtin` (false).
    public var backfill = true
    /// SchedulerParameters (https://slurm.schedmd.com/sched_config.html).
    public var schedInterval: VirtualTime = .seconds(Int64(60))
    public var bfInterval: VirtualTime = .seconds(Int64(30))
    public var bfResolution: VirtualTime = .seconds(Int64(60))
    public var bfWindow: VirtualTime = .seconds(Int64(1440 * 60))
    public var bfMaxJobTest = 500
    public var defaultQueueDepth = 100
    /// `batch_sched_delay`: an event-triggered main pass waits at least this long after the
    /// previous main pass (controller.c `_slurmctld_background`; the periodic pass does not).
    public var batchSchedDelay: VirtualTime = .seconds(Int64(3))
    /// How long after an event that asks for it (a submission, a completion, a requeue) the
    /// main scheduler runs; nil: at the event itself (the instant model).
    ///
    /// slurmctld does not schedule in the RPC that reports the event: it counts a request
    /// (`queue_job_scheduler`, controller.c) that its background thread serves on its next
    /// turn, once a second (ten 100 ms sleeps a turn), so after half a second on average.
    /// Measured on the local Slurm with `SlurmctldDebug=debug2` (2026-11-30, 60 jobs, seed 8):
    /// 183 main passes, a median of 1.013 s apart, their phase drifting across the second over
    /// the run; a start came 0.01-1.0 s after the completion that allowed it. The default is
    /// that expectation, half a turn. Not a slurm.conf key: the turn is fixed in slurmctld.
    public var schedulerLatency: VirtualTime? = VirtualTime(microseconds: 500_000)
    /// The first time window of the select plugin's will-run test, which backfill asks when a
    /// job could start (select/cons_common job_test.c `_will_run_test`, 22.05): it ends the
    /// running jobs in order of planned end, not one at a time but in groups, the first up to
    /// the window's barrier (the first end rounded up to a multiple of 30 s of the Unix clock)
    /// plus 30 s, each later group up to the barrier plus a window twice as long, and tests
    /// the job after each group: its start is the last end of the first group after which it
    /// fits, later than the exact earliest start. nil: the exact earliest start.
    public var willRunWindow: VirtualTime? = .seconds(Int64(30))
    /// When the backfill thread's first cycle runs (`SlurmPolicy.backfillPhase`); nil: half a
    /// second under slurmctld's timing, zero under the instant model. A recorded run does not
    /// show it: sacct's times are whole seconds, and the thread's cycles fall anywhere in the
    /// second (backfill.c `backfill_agent` sleeps whole seconds from when slurmctld started).
    /// Not a slurm.conf key; `replay --slurm-backfill-phase` sets it to see how much of a
    /// replay's error that unknown accounts for.
    public var backfillPhase: VirtualTime?
    /// The Unix time (µs) of the simulation's time zero, which aligns will-run windows on the
    /// Unix clock as Slurm's are; 0 when unknown.
    public var clockOrigin: Int64 = 0
    /// `priority/multifactor` (true) or `priority/basic` (false: submission order).
    public var multifactor = false
    public var weightAge = 0.0, weightFairshare = 0.0, weightJobSize = 0.0, weightPartition = 0.0, weightQOS = 0.0
    public var maxAge: VirtualTime = .seconds(Int64(7 * 86_400))
    public var decayHalfLife: VirtualTime = .seconds(Int64(7 * 86_400))
    public var calcPeriod: VirtualTime = .seconds(Int64(300))
    public var favorSmall = false
    public var preemptType = PreemptType.none
    /// SchedulerParameters `preempt_reorder_count` (default 1): how many times the select
    /// plugin reorders its preemption candidates and searches again for fewer victims.
    public var preemptReorderCount = 1
    /// SchedulerParameters `preempt_strict_order`: a reorder moves only the candidate whose
    /// removal made the job fit to the front, keeping the others' order.
    public var preemptStrictOrder = false
    /// SchedulerParameters `preempt_youngest_first`: candidates by start time, latest first,
    /// instead of by the preempt plugin's priority.
    public var preemptYoungestFirst = false
    /// The cluster-wide PreemptMode (`requeue` or `off`, lower case).
    public var preemptMode = "off"
    /// `KillWait` and `MessageTimeout`: a preemptor that signalled its victims less than their
    /// sum ago signals no more (node_scheduler.c `select_nodes`: "job preemption may still be in
    /// progress").
    public var killWait: VirtualTime = .seconds(Int64(30))
    public var messageTimeout: VirtualTime = .seconds(Int64(10))
    /// `cred_expire` of AuthInfo: a requeued batch job is eligible again this long plus one
    /// second after its requeue (../shared/slurm/README.md, "Quirks").
    public var credExpire: VirtualTime = .seconds(Int64(120))
    public var partitions: [Partition] = []
    /// The `NodeName` lines (not `DEFAULT`, whose values they take), as declared, for the
    /// check against the fleet (`Scenario.checkSlurmNodes`); the policy schedules the fleet's
    /// nodes, not these.
    public var nodeLines: [NodeLine] = []
    public var qos: [QOS] = [QOS(name: "normal", priority: 0, preempts: [], preemptMode: "cluster", graceTime: .zero)]
    /// The slurm.conf and the QOS table read, for messages; nil: Slurm's defaults.
    public var confFile: String?
    public var qosFile: String?

    public init() {}

    /// A requeued job's wait before it is eligible again.
    public var requeueDelay: VirtualTime { credExpire + .seconds(Int64(1)) }

    public func partitionIndex(named name: String) -> Int? { partitions.firstIndex { $0.name == name } }
    public func qosIndex(named name: String) -> Int? { qos.firstIndex { $0.name == name } }
    public var defaultPartition: Int? { partitions.firstIndex(where: \.isDefault) ?? (partitions.isEmpty ? nil : 0) }
}

/// A slurm.conf or QOS table that FleetTwin cannot model faithfully, with its place.
public struct SlurmConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { "\(file):\(line): \(message)" }
}

extension SlurmConfiguration {
    /// Reads slurm.conf text: `Key=Value` pairs (keys case-insensitive, `#` comments), node
    /// and partition lines of several pairs. Keys that do not change when jobs start are
    /// skipped. Errors name `file` and the line.
    public static func parse(_ text: String, file: String) throws(SlurmConfigurationError) -> SlurmConfiguration {
        var c = SlurmConfiguration()
        c.confFile = file
        var nodeNames: [String] = []
        var nodeDefaults = NodeLine(names: "DEFAULT", file: "", line: 0)
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = offset + 1
            func fail(_ message: String) -> SlurmConfigurationError { SlurmConfigurationError(file: file, line: line, message: message) }
            let content = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let pairs = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let first = pairs.first else { continue }
            guard let eq = first.firstIndex(of: "=") else { throw fail("expected Key=Value; found '\(first)'") }
            let key = first[..<eq].lowercased(), value = String(first[first.index(after: eq)...])
            func seconds(_ text: String, unit: Double = 1) throws(SlurmConfigurationError) -> VirtualTime {
                guard let v = Double(text), v >= 0, v < 1e9 else { throw fail("\(first[..<eq]) needs a number of \(unit == 60 ? "minutes" : "seconds"); found '\(text)'") }
                return .seconds(v * unit)
            }
            func number(_ text: String) throws(SlurmConfigurationError) -> Double {
                guard let v = Double(text), v >= 0, v < 4.3e9 else { throw fail("\(first[..<eq]) needs a number >= 0; found '\(text)'") }
                return v
            }
            func duration(_ text: String) throws(SlurmConfigurationError) -> VirtualTime? {
                guard let s = SlurmTimeFormat.seconds(text) else {
                    throw fail("\(first[..<eq]) needs a time like 7-00:00:00, 01:00:00 or minutes; found '\(text)'")
                }
                return s.isFinite ? .seconds(s) : nil
            }
            switch key {
            case "schedulertype":
                switch value {
                case "sched/backfill": c.backfill = true
                case "sched/builtin": c.backfill = false
                default: throw fail("SchedulerType \(value) is not modelled; expected sched/backfill or sched/builtin")
                }
            case "schedulerparameters":
                for option in value.split(separator: ",") {
                    let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
                    switch option {
                    case "preempt_strict_order": c.preemptStrictOrder = true
                    case "preempt_youngest_first": c.preemptYoungestFirst = true
                    default: break
                    }
                    guard parts.count == 2 else { continue }
                    switch parts[0] {
                    case "sched_interval": c.schedInterval = try seconds(parts[1])
                    case "bf_interval": c.bfInterval = try seconds(parts[1])
                    case "bf_resolution": c.bfResolution = try seconds(parts[1])
                    case "bf_window": c.bfWindow = try seconds(parts[1], unit: 60)
                    case "bf_max_job_test": c.bfMaxJobTest = Int(try number(parts[1]))
                    case "default_queue_depth": c.defaultQueueDepth = Int(try number(parts[1]))
                    case "batch_sched_delay": c.batchSchedDelay = try seconds(parts[1])
                    case "preempt_reorder_count": c.preemptReorderCount = Int(try number(parts[1]))
                    default: break
                    }
                }
                if c.bfInterval <= .zero || c.schedInterval <= .zero || c.bfResolution <= .zero {
                    throw fail("sched_interval, bf_interval and bf_resolution must be > 0")
                }
            case "prioritytype":
                switch value {
                case "priority/multifactor": c.multifactor = true
                case "priority/basic": c.multifactor = false
                default: throw fail("PriorityType \(value) is not modelled; expected priority/multifactor or priority/basic")
                }
            case "priorityweightage": c.weightAge = try number(value)
            case "priorityweightfairshare": c.weightFairshare = try number(value)
            case "priorityweightjobsize": c.weightJobSize = try number(value)
            case "priorityweightpartition": c.weightPartition = try number(value)
            case "priorityweightqos": c.weightQOS = try number(value)
            case "prioritymaxage": c.maxAge = try duration(value) ?? .seconds(Int64(7 * 86_400))
            case "prioritydecayhalflife": c.decayHalfLife = try duration(value) ?? .limit
            case "prioritycalcperiod": c.calcPeriod = try duration(value) ?? .seconds(Int64(300))
            case "priorityfavorsmall": c.favorSmall = value.lowercased() == "yes"
            case "preempttype":
                guard let type = PreemptType(rawValue: value) else {
                    throw fail("PreemptType \(value) is not modelled; expected preempt/none, preempt/qos or preempt/partition_prio")
                }
                c.preemptType = type
            case "preemptmode":
                let modes = value.lowercased().split(separator: ",").map(String.init)
                guard let mode = modes.first, ["off", "requeue"].contains(mode), !modes.contains("gang") else {
                    throw fail("PreemptMode \(value) is not modelled; expected OFF or REQUEUE (suspension and cancellation are not)")
                }
                c.preemptMode = mode
            case "killwait": c.killWait = try seconds(value)
            case "messagetimeout": c.messageTimeout = try seconds(value)
            case "authinfo":
                for option in value.split(separator: ",") where option.hasPrefix("cred_expire=") {
                    c.credExpire = try seconds(String(option.dropFirst("cred_expire=".count)))
                }
            case "nodename":
                var node = nodeDefaults
                node.cpusFromDefault = node.cpus == nil ? nil : nodeDefaults.cpusFromDefault ?? nodeDefaults.line
                node.gresFromDefault = node.gres == nil ? nil : nodeDefaults.gresFromDefault ?? nodeDefaults.line
                for pair in pairs.dropFirst() {
                    let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    guard kv.count == 2 else { throw fail("expected Key=Value in the NodeName line; found '\(pair)'") }
                    switch kv[0].lowercased() {
                    case "cpus":
                        guard let n = Int(kv[1]), n > 0 else { throw fail("CPUs of NodeName=\(value) needs a whole number > 0; found '\(kv[1])'") }
                        node.cpus = n
                        node.cpusFromDefault = nil
                    case "gres":
                        node.gres = kv[1]
                        node.gresFromDefault = nil
                    default: break
                    }
                }
                node.names = value
                node.file = file
                node.line = line
                if value == "DEFAULT" {
                    nodeDefaults = node
                } else {
                    nodeNames.append(value)
                    c.nodeLines.append(node)
                }
            case "partitionname":
                guard value != "DEFAULT" else { continue }
                var p = Partition(name: value, priorityTier: 1, priorityJobFactor: 1, isDefault: false, defaultTime: nil)
                var maxTime: VirtualTime?
                for pair in pairs.dropFirst() {
                    let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    guard kv.count == 2 else { throw fail("expected Key=Value in the partition line; found '\(pair)'") }
                    switch kv[0].lowercased() {
                    case "prioritytier": p.priorityTier = Int(try number(kv[1]))
                    case "priorityjobfactor": p.priorityJobFactor = Int(try number(kv[1]))
                    case "priority": p.priorityTier = Int(try number(kv[1])); p.priorityJobFactor = p.priorityTier
                    case "default": p.isDefault = kv[1].uppercased() == "YES"
                    case "defaulttime": p.defaultTime = try duration(kv[1])
                    case "gracetime":
                        guard let v = Double(kv[1]), v >= 0, v < 1e9 else {
                            throw fail("GraceTime of partition \(value) needs a number of seconds; found '\(kv[1])'")
                        }
                        p.graceTime = .seconds(v)
                    case "maxtime": maxTime = try duration(kv[1])
                    case "nodes":
                        // Every node, named as ALL or listed (a hostlist such as n[1-4] or
                        // n1,n2,n3,n4): compared as sets of hosts, in any order.
                        if kv[1] != "ALL" && !Self.namesEveryNode(kv[1], nodeNames: nodeNames) {
                            throw fail("partition \(value) has Nodes=\(kv[1]); only partitions over every node (Nodes=ALL, or a list of every node the NodeName lines declare) are modelled")
                        }
                    default: break
                    }
                }
                if p.defaultTime == nil { p.defaultTime = maxTime }
                c.partitions.append(p)
            default:
                break
            }
        }
        return c
    }

    /// Whether the partition's `Nodes=` list names exactly the nodes the `NodeName` lines
    /// declare (hostlist expressions expanded: `n[1-4]`, `n1,n2,n3,n4`).
    static func namesEveryNode(_ list: String, nodeNames: [String]) -> Bool {
        guard let listed = SlurmHostlist.expand(list) else { return false }
        var declared: [String] = []
        for names in nodeNames {
            guard let hosts = SlurmHostlist.expand(names) else { return false }
            declared += hosts
        }
        return !declared.isEmpty && Set(listed) == Set(declared)
    }

    /// Reads the QOS table as `sacctmgr -P show qos format=Name,Priority,Preempt,PreemptMode,GraceTime`
    /// prints it (a header naming the columns, `|`-separated rows), replacing the default
    /// `normal` QOS.
    public mutating func readQOS(_ text: String, file: String) throws(SlurmConfigurationError) {
        var columns: [String: Int]?
        var table: [QOS] = [], rows: [Int] = []
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = offset + 1
            let fields = raw.trimmingSuffix("\r").split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            if fields.allSatisfy(\.isEmpty) { continue }
            guard let index = columns else {
                var found: [String: Int] = [:]
                for (i, name) in fields.enumerated() { found[name] = i }
                for required in ["Name", "Priority", "Preempt"] where found[required] == nil {
                    throw SlurmConfigurationError(file: file, line: line, message: "the header lacks '\(required)'; expected the output of sacctmgr -P show qos format=Name,Priority,Preempt,PreemptMode,GraceTime")
                }
                columns = found
                continue
            }
            func field(_ name: String) -> String { index[name].map { $0 < fields.count ? fields[$0] : "" } ?? "" }
            guard !field("Name").isEmpty else { throw SlurmConfigurationError(file: file, line: line, message: "a QOS row without a Name") }
            guard let priority = Int(field("Priority").isEmpty ? "0" : field("Priority")), priority >= 0 else {
                throw SlurmConfigurationError(file: file, line: line, message: "Priority '\(field("Priority"))' is not a whole number >= 0")
            }
            let mode = field("PreemptMode").isEmpty ? "cluster" : field("PreemptMode").lowercased()
            guard ["cluster", "off", "requeue"].contains(mode) else {
                throw SlurmConfigurationError(file: file, line: line, message: "PreemptMode '\(field("PreemptMode"))' is not modelled; expected cluster, off or requeue")
            }
            var grace = VirtualTime.zero
            if !field("GraceTime").isEmpty {
                guard let s = SlurmTimeFormat.seconds(field("GraceTime")), s.isFinite else {
                    throw SlurmConfigurationError(file: file, line: line, message: "GraceTime '\(field("GraceTime"))' is not a time like 00:00:30")
                }
                grace = .seconds(s)
            }
            // Preempt lists names, some with a leading '+' or '-' when printed with changes.
            let preempts = field("Preempt").split(separator: ",").map { String($0.drop { $0 == "+" || $0 == "-" }) }
            table.append(QOS(name: field("Name"), priority: priority, preempts: preempts, preemptMode: mode, graceTime: grace))
            rows.append(line)
        }
        guard columns != nil else {
            throw SlurmConfigurationError(file: file, line: 1, message: "the file is empty; expected sacctmgr -P show qos output")
        }
        for (q, row) in zip(table, rows) {
            if let unknown = q.preempts.first(where: { name in !table.contains { $0.name == name } }) {
                throw SlurmConfigurationError(file: file, line: row, message: "QOS \(q.name) preempts '\(unknown)', which the table does not define; expected one of: \(table.map(\.name).joined(separator: ", "))")
            }
        }
        qos = table
        qosFile = file
    }
}

extension Substring {
    fileprivate func trimmingSuffix(_ suffix: String) -> Substring { hasSuffix(suffix) ? dropLast(suffix.count) : self }
}
