import ArgumentParser
import FleetTwinReports
import FleetTwinTraces
import Foundation

/// `fleettwin repeatability FIRST SECOND`: how closely one recorded run of a workload
/// reproduces another, in the figures `replay --compare-recorded` gives a twin. A real
/// scheduler run twice on the same submissions does not repeat itself (sub-second order inside
/// the controller, whole-second records): no twin can be held closer to one run than another
/// run of the same workload is.
struct RepeatabilityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repeatability",
        abstract: "Compare two recorded runs of one workload job by job: the floor a twin's schedule fidelity is judged against.",
        discussion: """
            Both traces carry recorded starts and ends (`import slurm-sacct`). The i-th job submitted in \
            FIRST is matched with the i-th submitted in SECOND (a resubmitted script gives its jobs new \
            ids), and each must ask the same GPUs; times are on each run's own clock (seconds from its \
            first submission). The figures are `replay --compare-recorded`'s with SECOND in place of the \
            simulation: start-time errors, mean wait, makespan, start order, backfill and preemption \
            decisions (`--json`: the `scheduleFidelity` object).
            Example:
              fleettwin repeatability run1/trace.jsonl run2/trace.jsonl
            """)

    @Argument(help: "The first recorded run: a native trace with recorded starts and ends.")
    var first: String

    @Argument(help: "A second recorded run of the same workload.")
    var second: String

    @Flag(help: "Print the comparison as JSON (ScheduleFidelity's fields).")
    var json = false

    func run() throws {
        let a = try Self.jobs(first), b = try Self.jobs(second)
        guard a.count == b.count else {
            throw InvalidInput(message: "\(first) has \(a.count) jobs with a recorded run and \(second) \(b.count): not two runs of one workload")
        }
        guard !a.isEmpty else { throw InvalidInput(message: "\(first): no job has a recorded start and end") }
        var inputs: [ScheduleFidelity.Input] = []
        for (i, (x, y)) in zip(a, b).enumerated() {
            guard x.job.worldSize == y.job.worldSize else {
                throw InvalidInput(message: "job \(i + 1) in submission order asks \(x.job.worldSize) GPUs in \(first) (id \(x.job.id)) and "
                                   + "\(y.job.worldSize) in \(second) (id \(y.job.id)): not two runs of one workload")
            }
            inputs.append(ScheduleFidelity.Input(
                id: x.job.id == y.job.id ? x.job.id : "\(x.job.id)/\(y.job.id)", submit: x.job.submit, priority: x.priority,
                recorded: (x.start, x.end, x.runs), simulated: (y.start, y.end, y.runs), simulatedSubmit: y.job.submit))
        }
        let fidelity = ScheduleFidelity(inputs)!
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(fidelity), as: UTF8.self))
        } else {
            print(fidelity.table(labels: ("first", "second")))
        }
    }

    /// The trace's jobs with a recorded start and end, in submission order (ties: file order).
    static func jobs(_ path: String) throws -> [(job: TraceJob, start: Double, end: Double, runs: Int, priority: Int64)] {
        var recorded: [(job: TraceJob, start: Double, end: Double, runs: Int, priority: Int64)] = []
        _ = try TraceReader(path: path).read { job, line in
            guard let r = job.recorded, let start = r.start, let end = r.end else {
                throw InvalidInput(message: "\(path):\(line): job \(job.id) has no recorded start and end; "
                                   + "expected a recorded run such as `import slurm-sacct` writes")
            }
            recorded.append((job, start, end, r.attempts ?? 1, r.priority ?? 0))
        }
        return recorded.enumerated().sorted { ($0.element.job.submit, $0.offset) < ($1.element.job.submit, $1.offset) }.map(\.element)
    }
}
