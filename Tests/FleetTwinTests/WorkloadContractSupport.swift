import FleetTwinEngine
import FleetTwinWorkloads

/// Runs `spec` to the end on `devices` devices, replacing the workload by a fresh object restored
/// from its checkpoint bytes before each step with probability `probability` (seeded, so the
/// same steps every time), and before any step in `alsoAt`. Returns the result and how many
/// restores happened: the contract's central property is that the result equals an
/// uninterrupted run's.
func runRestoringAtRandomSteps(_ spec: WorkloadSpec, seed: UInt64 = 2024, probability: Double = 1.0 / 3,
                               alsoAt: Set<Int> = [], devices: Int = 1) throws -> (result: WorkloadResult, restores: Int) {
    var workload = try WorkloadRegistry.make(spec)
    var chooser = SeededGenerator(seed: seed)
    var restores = 0
    while !workload.isFinished {
        if chooser.nextUnitDouble() < probability || alsoAt.contains(workload.stepsCompleted) {
            workload = try WorkloadCheckpoint.restore(WorkloadCheckpoint.bytes(of: workload))
            restores += 1
        }
        workload.step(devices: devices)
    }
    return (workload.result!, restores)
}
