import FleetTwinScenario
import Foundation

/// Refuses up front what this machine cannot hold, naming the cause, instead of letting a
/// run be killed for memory halfway.
enum ResourceLimits {
    /// `parallel` simulations of `scenario` at once must fit in 80% of physical memory.
    static func check(_ scenario: Scenario, parallel: Int = 1) throws {
        let needed = scenario.estimatedMemoryBytes * Int64(parallel)
        let available = Int64(Double(ProcessInfo.processInfo.physicalMemory) * 0.8)
        guard needed <= available else {
            let gib = { (b: Int64) in String(format: "%.1f GiB", Double(b) / 1_073_741_824) }
            throw InvalidInput(message: """
                \(scenario.file): about \(scenario.expectedJobCount) jobs on \(scenario.fleet.totalAccelerators) accelerators \
                need about \(gib(needed))\(parallel > 1 ? " for \(parallel) simulations at once" : ""); this machine has \
                \(gib(available)) to spare (80% of its memory). Shorten the horizon, lower the job count or arrival rate, \
                or use a machine with more memory.
                """)
        }
    }
}
