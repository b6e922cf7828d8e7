/// `fleettwin report`: one self-contained HTML file comparing stored runs side by side.
/// It reads the results store only; it never runs a simulation.
import ArgumentParser
import FleetTwinReports
import FleetTwinStore
import Foundation

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write an HTML report (charts, metrics, scenario) of stored runs.",
        discussion: """
            The report is one HTML file with inline SVG charts: no scripts, no network, opens offline. \
            Give several run ids to put their policies and seeds side by side.
            Example:
              fleettwin report 1 2 --out report.html
            """)

    @Argument(help: "Ids of stored runs (see `fleettwin runs`).")
    var runIds: [Int64] = []

    @Flag(help: "Report the most recently stored run.")
    var latest = false

    @Option(name: .customLong("compare"), help: ArgumentHelp("A stored comparison's id (from `fleettwin compare`): report all its runs.", valueName: "compare-id"))
    var compareId: String?

    @Option(help: "The HTML file to write.")
    var out = "report.html"

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print one JSON object (the file written, its runs, and each run's goal verdicts).")
    var json = false

    func validate() throws {
        let sources = [!runIds.isEmpty, latest, compareId != nil].filter { $0 }.count
        if sources > 1 { throw ValidationError("give run ids, --latest or --compare, not more than one of them") }
        if sources == 0 { throw ValidationError("say which runs to report: run ids (see `fleettwin runs`), --latest or --compare") }
        if let repeated = runIds.enumerated().first(where: { runIds[..<$0.offset].contains($0.element) }) {
            throw ValidationError("run \(repeated.element) is given twice")
        }
    }

    struct Written: Encodable {
        var out: String
        var runs: [Int64]
        var bytes: Int
        /// Per run (in `runs` order), its scenario's goals judged on that run, as the report's
        /// goals table shows them; empty lists where a scenario states none.
        var goals: [RunGoals]
    }

    struct RunGoals: Encodable {
        var run: Int64
        var verdicts: [GoalVerdict]
    }

    func run() throws {
        let destination = URL(fileURLWithPath: out)
        var isDirectory: ObjCBool = false
        let folder = destination.deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw InvalidInput(message: "--out \(out): there is no folder \(folder) to write it in")
        }
        let database = try store.openForReading()
        var ids = runIds
        if latest {
            guard let last = try database.runIds().last else {
                throw InvalidInput(message: "--latest: the database \(store.db) holds no runs yet")
            }
            ids = [last]
        }
        if let compareId {
            guard let id = Int64(compareId), let runs = try database.comparisonRuns(id) else {
                let known = try database.comparisonIds()
                throw InvalidInput(message: "no comparison \(compareId) in \(store.db); "
                    + (known.isEmpty ? "it holds none (run `fleettwin compare` first)" : "stored comparisons: \(known.map(String.init).joined(separator: ", "))"))
            }
            ids = runs
        }
        let data = ReportData(runs: try ids.map { try database.reportRun(id: $0, database: store.db) })
        let html = HTMLReport.render(data)
        do {
            try Data(html.utf8).write(to: destination)
        } catch {
            throw CannotWrite(message: "cannot write the report to \(out): \(error.localizedDescription)")
        }
        if json {
            let goals = data.runs.map { run in
                RunGoals(run: run.info.id, verdicts: run.goals.map { GoalVerdict($0.goal, values: [$0.value]) })
            }
            print(try RunListing.json(Written(out: out, runs: ids, bytes: html.utf8.count, goals: goals)))
        } else {
            print("wrote \(out): run\(ids.count == 1 ? "" : "s") \(ids.map(String.init).joined(separator: ", "))")
        }
    }
}

/// The report could not be written (permissions, a full disk): a failure, exit status 1.
struct CannotWrite: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
