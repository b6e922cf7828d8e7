// swift-tools-version: 6.1
// FleetTwin: a deterministic digital twin of a Singularity-style GPU fleet scheduler.
import PackageDescription

// The tensor kernels are vectorised with fused multiply-adds, so on x86-64 they are compiled
// for Haswell, the x86-64-v3 level (AVX2 + FMA: every x86 server CPU since 2013; the importer
// does not take the name x86-64-v3 itself): without FMA each
// fused multiply-add would be a libm call. The default binary runs on any such machine, the
// one a Slurm or Kubernetes recipe copies it to included. FLEETTWIN_NATIVE=1 builds for the
// building machine's own CPU (AVX-512 where it has it), for a binary that stays there; the
// README gives what that buys in matmul speed. Results do not change either way: fma is
// exactly rounded on every path and the reduction order is fixed.
//
// The numeric modules are optimised in debug builds too: unoptimised, their kernels run 10-50x
// slower, which would make `swift test` (a debug build) spend minutes in matrix products.
#if arch(x86_64)
let tensorSettings: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", Context.environment["FLEETTWIN_NATIVE"] == "1" ? "native" : "haswell"]),
    .unsafeFlags(["-O"], .when(configuration: .debug)),
]
#else
let tensorSettings: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]
#endif

let package = Package(
    name: "FleetTwin",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "fleettwin", targets: ["fleettwin"]),
        .library(name: "FleetTwin", targets: ["FleetTwinCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    ],
    targets: [
        // Virtual time, the event queue, the per-simulation serial executor, seeded generators.
        // The build identity (FleetTwinEngine.sourceHash) is stamped by the BuildIdentity plugin.
        .target(name: "FleetTwinEngine", plugins: ["BuildIdentity"]),
        // Float32 tensors, fixed-order matmul, tape autodiff, Adam, stable byte encoding.
        .target(name: "FleetTwinTensor", dependencies: ["FleetTwinEngine"], swiftSettings: tensorSettings),
        // The real workloads (ECI, reranker scaling, RAG probes), their contract and checkpoints.
        .target(name: "FleetTwinWorkloads", dependencies: ["FleetTwinEngine", "FleetTwinTensor"], swiftSettings: tensorSettings),
        // Shapes to costs: parameters, FLOPs, memory, checkpoint bytes; fitted step times;
        // checkpoint and restore times; the accelerator catalogue (measured or estimated).
        // The calibration measurements are embedded in the binary (EmbedCalibration plugin).
        .target(name: "FleetTwinCostModel", exclude: ["Resources"], plugins: ["EmbedCalibration"]),
        // Regions > clusters > nodes > accelerators, accelerator profiles, network bandwidths.
        .target(name: "FleetTwinFleet", dependencies: ["FleetTwinEngine", "FleetTwinCostModel"]),
        // COIN-OR Clp through its C API, for the optimisation-based policies (Gavel's LPs).
        // Clp rather than GLPK: EPL-2.0 keeps a distributed binary's licence free, where GLPK's
        // GPL-3 would bind it; Clp is the LP half of the Cbc MILP solver Sia's code uses.
        .systemLibrary(name: "CClp", pkgConfig: "clp", providers: [.apt(["coinor-libclp-dev"])]),
        // COIN-OR Cbc (branch and cut over Clp, EPL-2.0) through its C API, for the mixed-integer
        // programs of Sia's allocation: the solver Sia's own code calls.
        .systemLibrary(name: "CCbc", pkgConfig: "cbc", providers: [.apt(["coinor-libcbc-dev"])]),
        // Linear and mixed-integer programs: a small value type in, Clp or Cbc solves, the
        // optimum out (or why not).
        .target(name: "FleetTwinSolver", dependencies: ["CClp", "CCbc"]),
        // The policy API (what a policy sees and decides), the registry and the policies.
        .target(name: "FleetTwinPolicy", dependencies: [
            "FleetTwinEngine", "FleetTwinFleet", "FleetTwinSolver",
            .product(name: "DequeModule", package: "swift-collections"),
        ]),
        // The `external` policy: any program, run as a child process speaking JSON Lines
        // (Foundation's Process; docs/external-policy.md).
        .target(name: "FleetTwinExternalPolicy", dependencies: ["FleetTwinEngine", "FleetTwinFleet", "FleetTwinPolicy"]),
        // Jobs, the scheduler hierarchy that carries out decisions, and the simulation driver.
        .target(name: "FleetTwinScheduling", dependencies: [
            "FleetTwinEngine", "FleetTwinCostModel", "FleetTwinFleet", "FleetTwinPolicy",
            .product(name: "DequeModule", package: "swift-collections"),
        ]),
        // The native trace format (JSON Lines): streaming reader with located errors, writer.
        .target(name: "FleetTwinTraces", dependencies: ["FleetTwinEngine"]),
        // Scenario files: YAML with located errors, validation, workload generators.
        .target(name: "FleetTwinScenario", dependencies: [
            "FleetTwinEngine", "FleetTwinCostModel", "FleetTwinFleet", "FleetTwinScheduling", "FleetTwinTraces", "FleetTwinWorkloads",
            "FleetTwinMetrics", "FleetTwinExternalPolicy", "Yams",
        ]),
        // Metrics as folds over the event log.
        .target(name: "FleetTwinMetrics", dependencies: ["FleetTwinEngine", "FleetTwinScheduling"]),
        // The live twin's mirror: squeue/sinfo replies, observations diffed into lifecycle
        // events, captured polls, the observation log as a trace.
        .target(name: "FleetTwinLive", dependencies: ["FleetTwinEngine", "FleetTwinTraces"]),
        // SQLite results store (GRDB on the system libsqlite3).
        .target(name: "FleetTwinStore", dependencies: [
            "FleetTwinMetrics", "FleetTwinScheduling", "FleetTwinLive",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        // Human tables and machine JSON of a run's results.
        .target(name: "FleetTwinReports", dependencies: ["FleetTwinMetrics"]),
        // Commands; the executable stays thin so tests can drive the commands in-process.
        .target(name: "FleetTwinCLI", dependencies: [
            "FleetTwinEngine", "FleetTwinCostModel", "FleetTwinFleet", "FleetTwinScheduling", "FleetTwinScenario",
            "FleetTwinTraces", "FleetTwinMetrics", "FleetTwinStore", "FleetTwinReports", "FleetTwinTensor", "FleetTwinWorkloads",
            "FleetTwinLive",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "fleettwin", dependencies: ["FleetTwinCLI"]),
        // Build time only: writes the build identity and the embedded calibration.
        .executableTarget(name: "fleettwin-codegen"),
        .plugin(name: "BuildIdentity", capability: .buildTool(), dependencies: ["fleettwin-codegen"]),
        .plugin(name: "EmbedCalibration", capability: .buildTool(), dependencies: ["fleettwin-codegen"]),
        .testTarget(name: "FleetTwinTests", dependencies: [
            "FleetTwinCLI", "fleettwin", "FleetTwinTensor", "FleetTwinWorkloads", "FleetTwinLive", "FleetTwinExternalPolicy",
            .product(name: "GRDB", package: "GRDB.swift"),
        ], resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v6]
)
