/// `fleettwin show RUN_ID`: everything stored about one run.
import ArgumentParser
import FleetTwinReports
import FleetTwinStore

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

    func run() throws {
        let database = try store.openForReading()
        let (info, scenarioText) = try database.runInfo(id: runId, database: store.db)
        if scenario {
            print(scenarioText, terminator: scenarioText.hasSuffix("\n") ? "" : "\n")
        } else {
            print(json ? try RunListing.json(info) : RunListing.detail(info))
        }
    }
}
