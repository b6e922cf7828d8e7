/// `fleettwin import FORMAT INPUT --out PATH`: public cluster traces into FleetTwin's native
/// trace format (JSON Lines; see Traces/README.md), or their fleets into a fleet YAML file.
/// Every row is written or skipped with its line and reason; a broken file exits with 2.
import ArgumentParser
import FleetTwinTraces
import Foundation

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a public cluster trace (jobs, or the fleet it ran on).",
        discussion: """
            Jobs are written sorted by submit time (seconds from the first submission), with unique ids; \
            every input row is written or skipped with its line and reason, and the report says which. \
            A broken file (unreadable, a header without a needed column) is an error with its file and line.
            Example:
              fleettwin import philly-summary philly.csv --out philly.jsonl
              fleettwin import philly-vc philly_vc.csv --out philly-fleet.yaml
            """,
        subcommands: [
            ImportPhillySummary.self, ImportPhilly.self, ImportTiresias.self, ImportAlibabaOpenb.self, ImportAlibabaPAI.self,
            ImportH100Workloads.self, ImportCSV.self, ImportSlurmSacct.self, ImportTiresiasCluster.self, ImportPhillyVC.self, ImportOpenbNodes.self, ImportSlurmNodes.self,
        ])
}

/// The output options every format shares.
struct ImportOutput: ParsableArguments {
    @Option(help: "The file to write.") var out: String
    @Flag(help: "Print one JSON object: out, rowsRead, jobsWritten, skipped (the first 100), skippedCount, notes.") var json = false

    func validate() throws {
        let folder = URL(fileURLWithPath: out).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--out \(out): there is no folder \(folder) to write it in")
        }
    }

}

/// `--time-zone`, for formats whose times are printed datetimes: the zone zone-less times are
/// read in (default UTC; the import's notes say which, and how many times had no zone).
struct TimeZoneOption: ParsableArguments {
    @Option(help: "The zone of datetimes without one: an offset (+08:00), UTC, or an IANA name (Asia/Shanghai). Default: UTC, said in a note.")
    var timeZone: String?

    /// The parsed zone; a bad value is a clear error naming the option.
    func zone() throws -> WallClock.Zone? {
        guard let timeZone else { return nil }
        do { return try WallClock.Zone(parsing: timeZone) } catch { throw InvalidInput(message: "--time-zone: \(error.message)") }
    }
}

/// One format's subcommand: it imports, and the shared output options print the result.
protocol ImportFormatCommand: ParsableCommand {
    var output: ImportOutput { get }
    func importing() throws -> ImportResult
}

extension ImportFormatCommand {
    func run() throws {
        let result = try importing()
        print(output.json ? result.json : result.text)
    }
}

extension CommandConfiguration {
    static func format(_ name: String, _ abstract: String, example: String) -> CommandConfiguration {
        CommandConfiguration(commandName: name, abstract: abstract, discussion: "Example:\n  \(example)")
    }
}

struct ImportPhillySummary: ImportFormatCommand {
    static let configuration = CommandConfiguration.format("philly-summary", "Philly's per-job summary (timestamp, duration, num_gpus, gpu_time, cluster), as published with Pollux.",
                                                           example: "fleettwin import philly-summary philly.csv --out philly.jsonl")
    @Argument(help: "philly.csv") var input: String
    @OptionGroup var zone: TimeZoneOption
    @OptionGroup var output: ImportOutput

    func importing() throws -> ImportResult { try PhillySummaryImporter(input: input, timeZone: try zone.zone()).run(out: output.out) }
}

struct ImportPhilly: ImportFormatCommand {
    static let configuration = CommandConfiguration.format("philly", "Philly's raw cluster_job_log (a JSON array of jobs with attempts).",
                                                           example: "fleettwin import philly cluster_job_log --out philly-jobs.jsonl")
    @Argument(help: "cluster_job_log") var input: String
    @OptionGroup var zone: TimeZoneOption
    @OptionGroup var output: ImportOutput

    func importing() throws -> ImportResult { try PhillyJobLogImporter(input: input, timeZone: try zone.zone()).run(out: output.out) }
}

struct ImportSlurmSacct: ImportFormatCommand {
    static let configuration = CommandConfiguration(
        commandName: "slurm-sacct",
        abstract: "Slurm accounting as `sacct --json` (22.05 and later) or `sacct -P` prints it: one job per job id, its requeued runs joined.",
        discussion: """
            JSON: sacct --json --allusers --starttime 2026-11-01 > sacct.json
            Pipe-separated, with at least the fields \(SlurmSacctImporter.pipeFields.joined(separator: ",")) \
            (and, when present, Partition, QOS, Timelimit, Eligible, Priority, kept for `--policy slurm`):
              \(SlurmSacctImporter.pipeCommand) > sacct.psv
            Example:
              fleettwin import slurm-sacct sacct.json --out slurm.jsonl
              fleettwin replay slurm.jsonl --fleet fleet.yaml --policy slurm --slurm-conf slurm.conf --slurm-qos qos.psv --compare-recorded
            """)
    @Argument(help: "The output of `sacct --json` or `sacct -P`.") var input: String
    @OptionGroup var zone: TimeZoneOption
    @OptionGroup var output: ImportOutput

    func importing() throws -> ImportResult { try SlurmSacctImporter(input: input, timeZone: try zone.zone()).run(out: output.out) }
}

struct ImportSlurmNodes: ImportFormatCommand {
    static let configuration = CommandConfiguration.format("slurm-nodes", "A Slurm cluster's nodes as `sinfo --json` prints them, as a fleet file (one cluster per GPU type and count).",
                                                           example: "sinfo --json > nodes.json; fleettwin import slurm-nodes nodes.json --out fleet.yaml")
    @Argument(help: "The output of `sinfo --json`.") var input: String
    @OptionGroup var output: ImportOutput

    func importing() throws -> ImportResult { try SlurmNodesImporter(input: input).run(out: output.out) }
}

struct ImportTiresias: ImportFormatCommand {
    static let configuration = CommandConfiguration.format("tiresias", "A Tiresias simulator job list (job_id, num_gpu, submit_time, iterations, model_name, duration, interval).",
                                                           example: "fleettwin import tiresias 60_job.csv --out tiresias-60.jsonl")
    @Argument(help: "The job CSV.") var input: String
    @OptionGroup var output: ImportOutput

    func importing() throws -> ImportResult { try TiresiasImporter(input: input).run(out: output.out) }
}

struct ImportAlibabaOpenb: ImportFormatCommand {
    static let configuration = CommandConfiguration.format("alibaba-openb", "The Alibaba PAI openb pod list, as whole-GPU jobs (GPU fractions rounded up to 1).",
                                                           example: "fleettwin import alibaba-openb openb_pod_list_default.csv --out openb.jsonl")
    @Argument(help: "The pod list CSV.") var input: String
    @OptionGroup var output: ImportOutput

    func importing() throws -> ImportResult { try OpenbPodImporter(input: input).run(out: output.out) }
}

struct ImportAlibabaPAI: ImportFormatCommand {
    static let configuration = CommandConfiguration(
        commandName: "alibaba-pai",
        abstract: "The Alibaba PAI GPU-2020 task table, joined to its job table, as jobs (instances x GPUs per instance).",
        discussion: """
            The published tables have no header; their columns are, in order:
              pai_task_table: \(AlibabaPAIImporter.taskColumns.joined(separator: ","))
              pai_job_table:  \(AlibabaPAIImporter.jobColumns.joined(separator: ","))
            A file whose first line names these columns is read by name. plan_gpu is percent of one GPU per \
            instance; a fraction rounds up to a whole GPU per instance (a counted note). CPU-only jobs, jobs \
            with a task that never ended and zero-length jobs are skipped rows with their reason.
            Example:
              fleettwin import alibaba-pai pai_task_table.csv --jobs pai_job_table.csv --out pai.jsonl
            """)
    @Argument(help: "pai_task_table.csv") var input: String
    @Option(help: "pai_job_table.csv: submit time, user and status of each job.") var jobs: String?
    @OptionGroup var output: ImportOutput

    func importing() throws -> ImportResult { try AlibabaPAIImporter(tasks: input, jobTable: jobs).run(out: output.out) }
}

struct ImportH100Workloads: ImportFormatCommand {
    static let configuration = CommandConfiguration.format("h100-workloads", "Step-level H100 recordings into job templates (median step time after the warm-up step).",
                                                           example: "fleettwin import h100-workloads h100-workloads.jsonl --out Traces/h100-workloads.jsonl")
    @Argument(help: "h100-workloads.jsonl") var input: String
    @OptionGroup var output: ImportOutput

    func importing() throws -> ImportResult { try H100WorkloadsImporter(input: input).run(out: output.out) }
}

extension MappedCSVImporter.TimeUnit: ExpressibleByArgument {}
extension MappedCSVImporter.SubmitFormat: ExpressibleByArgument {}
extension GPUUnit: ExpressibleByArgument {}

struct ImportCSV: ImportFormatCommand {
    static let configuration = CommandConfiguration(
        commandName: "csv",
        abstract: "Any CSV trace, through a mapping of its columns to job fields.",
        discussion: """
            --map names the columns of submit and gpus, and of the work: duration, or start and end (duration = \
            end - start; both kept as the recorded run for replay --compare-recorded); optionally id, tier \
            (premium, standard or basic), user, vc and status. Times are numbers in --time-unit (--submit-format \
            seconds) or calendar times such as 2017-10-09 07:01:55 (--submit-format datetime; zone-less ones in \
            --time-zone, default UTC). GPUs are counted in --gpu-unit; a fraction rounds up to whole GPUs (a \
            counted note). CPU-only rows (0 GPUs) and rows without a run (zero-length, never ended) are skipped.
            Example:
              fleettwin import csv jobs.csv --map submit=ts,duration=runtime_ms,gpus=n_gpu,id=job --time-unit ms --out jobs.jsonl
              fleettwin import csv cluster_log.csv --map submit=submit_time,start=start_time,end=end_time,gpus=gpu_num,id=job_id,user=user,vc=vc --submit-format datetime --out helios.jsonl
            """)
    @Argument(help: "The CSV file.") var input: String
    @Option(help: "KEY=COLUMN pairs, comma-separated: submit, gpus, and duration or start and end required; id, tier, user, vc, status optional.") var map: String
    @Option(help: "Unit of durations and numeric times: s, ms, us, min, h.") var timeUnit: MappedCSVImporter.TimeUnit = .s
    @Option(help: "seconds (a number in --time-unit) or datetime, for submit, start and end.") var submitFormat: MappedCSVImporter.SubmitFormat = .seconds
    @Option(help: "Unit of the gpus column: whole, percent (100 = one GPU) or milli (1000 = one GPU).") var gpuUnit: GPUUnit = .whole
    @OptionGroup var zone: TimeZoneOption
    @OptionGroup var output: ImportOutput

    func importing() throws -> ImportResult {
        let columns: MappedCSVImporter.ColumnMap
        do { columns = try .init(parsing: map) } catch { throw InvalidInput(message: "--map: \(error.message)") }
        return try MappedCSVImporter(input: input, map: columns, unit: timeUnit, submitFormat: submitFormat, gpuUnit: gpuUnit,
                                     timeZone: try zone.zone()).run(out: output.out)
    }
}

struct ImportTiresiasCluster: ImportFormatCommand {
    static let configuration = CommandConfiguration.format("tiresias-cluster", "A Tiresias cluster spec (num_switch, num_node_p_switch, num_gpu_p_node, ...) into a fleet YAML file.",
                                                           example: "fleettwin import tiresias-cluster cluster_spec.csv --out tiresias-fleet.yaml")
    @Argument(help: "The cluster spec CSV.") var input: String
    @Option(help: "The accelerator type of every node.") var type = "h100-80gb"
    @OptionGroup var output: ImportOutput

    func importing() throws -> ImportResult { try TiresiasClusterImporter(input: input, type: type).run(out: output.out) }
}

struct ImportPhillyVC: ImportFormatCommand {
    static let configuration = CommandConfiguration.format("philly-vc", "Philly's nodes per virtual cluster (vc, node num) into a fleet YAML file, one cluster per VC.",
                                                           example: "fleettwin import philly-vc philly_vc.csv --out philly-fleet.yaml")
    @Argument(help: "philly_vc.csv") var input: String
    @Option(help: "GPUs per node (the file has none; Philly servers had 8 or 2).") var gpusPerNode = 8
    @Option(help: "The accelerator type of every node.") var type = "h100-80gb"
    @OptionGroup var output: ImportOutput

    func validate() throws {
        // As a scenario's accelerators_per_node: the fleet written must load.
        guard gpusPerNode >= 1, gpusPerNode <= 1024 else { throw ValidationError("--gpus-per-node must be between 1 and 1024; found \(gpusPerNode)") }
    }

    func importing() throws -> ImportResult {
        try PhillyVCImporter(input: input, gpusPerNode: gpusPerNode, type: type).run(out: output.out)
    }
}

struct ImportOpenbNodes: ImportFormatCommand {
    static let configuration = CommandConfiguration.format("openb-nodes", "The Alibaba PAI openb node list (sn, cpu_milli, memory_mib, gpu, model) into a fleet YAML file.",
                                                           example: "fleettwin import openb-nodes openb_node_list_all_node.csv --out openb-fleet.yaml")
    @Argument(help: "The node list CSV.") var input: String
    @OptionGroup var output: ImportOutput

    func importing() throws -> ImportResult { try OpenbNodesImporter(input: input).run(out: output.out) }
}
