/// `fleettwin runs`: the stored runs, one line each.
import ArgumentParser
import FleetTwinReports
import FleetTwinStore

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List stored runs with their scenario, policy, seed, status and headline metrics.",
        discussion: """
            Example:
              fleettwin runs --db results.sqlite --json
            """)

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print one JSON array of run objects.")
    var json = false

    func run() throws {
        let database = try store.openForReading()
        let runs = try database.runIds().map { try database.runInfo(id: $0, database: store.db).info }
        if json {
            print(try RunListing.json(runs))
        } else if runs.isEmpty {
            print("no runs stored in \(store.db) yet: `fleettwin run SCENARIO --db \(store.db)` stores one")
        } else {
            print(RunListing.table(runs))
        }
    }
}
