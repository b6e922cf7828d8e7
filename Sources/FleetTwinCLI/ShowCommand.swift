/// `fleettwin show RUN_ID`: everything stored about one run.
import ArgumentParser
import FleetTwinReports
import FleetTwinStore
import Foundation

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print one stored run: its provenance and every metric.",
        discussion: """
            Example:
              fleettwin show 1 --json
            """)

    @Argument(help: "The run's id (see `fleettwin runs`).")
    var runId: Int64

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(help: "Print only the scenario file the run was made from (to rerun it).")
    var scenario = false

    func validate() throws {
        if json && scenario { throw ValidationError("--scenario prints YAML; it does not combine with --json") }
    }

    /// The run's JSON, with a `workloads` key when it had real workloads.
    static func json(_ info: some Encodable, workloads: WorkloadResults?) throws -> String {
        let base = try RunListing.json(info)
        guard let workloads else { return base }
        var object = try JSONSerialization.jsonObject(with: Data(base.utf8)) as! [String: Any]
        object["workloads"] = try JSONSerialization.jsonObject(with: Data(try workloads.json().utf8))
        object["resultsVerified"] = ["checked": workloads.verified.checked, "identical": workloads.verified.identical]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    func run() throws {
        let database = try store.openForReading()
        let (info, scenarioText) = try database.runInfo(id: runId, database: store.db)
        if scenario {
            print(scenarioText, terminator: scenarioText.hasSuffix("\n") ? "" : "\n")
        } else {
            let workloads = try database.workloadResultsJSON(run: runId).map { try WorkloadResults(json: $0) }
            if json {
                print(try Self.json(info, workloads: workloads))
            } else {
                print(RunListing.detail(info) + (workloads.map { "\n\n" + $0.text() } ?? ""))
            }
        }
    }
}
