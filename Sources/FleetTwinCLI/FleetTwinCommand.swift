/// FleetTwinCLI owns the `fleettwin` command line: one small type per subcommand, shared
/// options, and the mapping of failures to exit statuses (0 ok, 1 failure, 2 invalid
/// input). The executable target only calls `FleetTwinCommand.run(arguments:)`.
import ArgumentParser
import FleetTwinEngine
import FleetTwinScenario
import FleetTwinTraces
import Foundation

public struct FleetTwinCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "fleettwin",
        abstract: "A deterministic digital twin of a Singularity-style GPU fleet scheduler.",
        discussion: """
            Example, from a scenario to a report comparing two seeds:
              fleettwin run Scenarios/quickstart.yaml
              fleettwin run Scenarios/quickstart.yaml --seed 7
              fleettwin runs
              fleettwin report 1 2 --out report.html

            Exit status: 0 on success, 1 when a run fails, 2 for invalid input (a scenario or \
            command-line error, an unknown run id, a missing database, a broken trace file).
            """,
        version: FleetTwinEngine.buildIdentity,
        subcommands: [
            RunCommand.self, CompareCommand.self, SweepCommand.self, MergeCommand.self, ReplayCommand.self, ExportCommand.self, ValidateCommand.self, ImportCommand.self,
            RunsCommand.self, ShowCommand.self, ReportCommand.self,
            RecordCommand.self, PredictCommand.self, CalibrateCommand.self, BenchCommand.self, PoliciesCommand.self, TuneCommand.self, TwinCommand.self,
            RepeatabilityCommand.self,
        ])

    public init() {}

    /// Parses `arguments`, runs the command, and returns the process exit status. Errors
    /// go to standard error; help and version go to standard output.
    public static func run(arguments: [String]) async -> Int32 {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch let error as ScenarioError {
            printError(error.description)
            return 2
        } catch let error as TraceError {
            printError(error.description)
            return 2
        } catch let error as InvalidInput {
            printError("error: \(error.message)")
            return 2
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                return 0
            }
            printError(fullMessage(for: error))
            return code == .validationFailure ? 2 : 1
        }
    }
}

/// Bad input that is not in a scenario file (a path that does not exist, say).
struct InvalidInput: Error {
    var message: String
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Options every command that reads or writes results shares.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The results database (SQLite).")
    var db: String = "fleettwin.sqlite"
}

/// Says on standard error which of the scenario's policy options `policy` does not take, so
/// that running a scenario under another policy never drops them silently.
func noteDroppedOptions(_ spec: PolicySpec, for policy: String) {
    let dropped = spec.optionsDropped(by: policy)
    guard !dropped.isEmpty, policy != spec.name else { return }
    printError("note: \(policy) does not take the scenario's \(dropped.joined(separator: ", ")) (\(spec.name)'s); left out")
}
