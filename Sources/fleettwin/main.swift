import FleetTwinCLI
import Foundation

// Thin on purpose: everything lives in FleetTwinCLI, where tests can reach it.
exit(await FleetTwinCommand.run(arguments: Array(CommandLine.arguments.dropFirst())))
