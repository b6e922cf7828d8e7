import FleetTwinEngine
import FleetTwinFleet
import FleetTwinMetrics
import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinTraces
import Foundation
import Testing

/// Test fixtures shipped with the tests (Tests/FleetTwinTests/Fixtures).
func fixture(_ name: String) -> String {
    Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures")!.path
}

/// The repository root, for scenarios shipped in Scenarios/.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func runScenario(_ scenario: Scenario, seed: UInt64? = nil, check: Bool = true) async throws -> SimulationResult {
    try await FleetSimulation(scenario.configuration(seed: seed, checkInvariants: check)).run()
}

func seconds(_ s: Double) -> VirtualTime { .seconds(s) }

/// The built `fleettwin` executable beside the test bundle.
func fleettwinExecutable() throws -> URL {
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        Bundle.main.bundleURL,
        Bundle.main.bundleURL.deletingLastPathComponent(),
        repositoryRoot.appendingPathComponent(".build/debug"),
    ]
    for dir in candidates {
        let url = dir.appendingPathComponent("fleettwin")
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "fleettwin executable near \(candidates)"])
}

struct ProcessOutput {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `fleettwin` in a separate process, with SWIFT_DETERMINISTIC_HASHING removed so
/// that hashed collections really are seeded differently per process; `environment` adds
/// or replaces variables.
func runFleettwin(_ arguments: [String], in directory: URL? = nil, environment extra: [String: String] = [:]) throws -> ProcessOutput {
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: "SWIFT_DETERMINISTIC_HASHING")
    environment.merge(extra) { _, new in new }
    return try runProcess(try fleettwinExecutable(), arguments, in: directory, environment: environment)
}

/// Runs `executable` and waits for it; `environment` nil inherits the test process's.
func runProcess(_ executable: URL, _ arguments: [String], in directory: URL? = nil,
                environment: [String: String]? = nil) throws -> ProcessOutput {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let directory { process.currentDirectoryURL = directory }
    // Output goes to files, not pipes: Foundation's pipe reads trap on EINTR, which tests
    // running processes in parallel do get.
    let folder = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: folder) }
    let outPath = folder.appendingPathComponent("stdout").path, errPath = folder.appendingPathComponent("stderr").path
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath)), err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    process.standardOutput = out
    process.standardError = err
    try process.run()
    process.waitUntilExit()
    try out.close()
    try err.close()
    let stdout = try Data(contentsOf: URL(fileURLWithPath: outPath)), stderr = try Data(contentsOf: URL(fileURLWithPath: errPath))
    return ProcessOutput(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                         stderr: String(decoding: stderr, as: UTF8.self))
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("fleettwin-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A policy that never decides anything and holds `held` back; it says nothing about
/// adoption (the protocol's default: it does not adopt running jobs).
struct InertPolicy: SchedulingPolicy {
    let name = "idle"
    let placement = PlacementRule.any
    var held: [Reservation] = []
    mutating func jobArrived(_ job: PendingJob, at now: VirtualTime) {}
    mutating func jobCompleted(_ job: JobIndex, at now: VirtualTime) {}
    mutating func jobPreempted(_ job: PendingJob, at now: VirtualTime) {}
    mutating func nextDecision(at now: VirtualTime, fleet: FleetView) -> SchedulingDecision? { nil }
    var reservations: [Reservation] { held }
}

/// The JSON object a command printed, after checking that it exited 0.
func jsonObject(_ out: ProcessOutput) throws -> [String: Any] {
    #expect(out.status == 0, "\(out.stderr)")
    return try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
}

/// A scenario run and stored, exported as a trace, and the trace replayed on the scenario's
/// fleet under `policy`: both runs' `--json` and the exported jobs.
func exportRoundTrip(_ scenarioText: String, policy: String) throws -> (original: [String: Any], replayed: [String: Any], exported: [TraceJob]) {
    let dir = try temporaryDirectory()
    let scenario = dir.appendingPathComponent("s.yaml").path, db = dir.appendingPathComponent("r.sqlite").path
    let trace = dir.appendingPathComponent("t.jsonl").path
    try scenarioText.write(toFile: scenario, atomically: true, encoding: .utf8)
    let original = try jsonObject(try runFleettwin(["run", scenario, "--json", "--db", db, "--check"]))
    #expect(try runFleettwin(["export", "1", "--out", trace, "--db", db]).status == 0)
    let (_, jobs) = try TraceReader(path: trace).readAll()
    let replayed = try jsonObject(try runFleettwin(["replay", trace, "--fleet", scenario, "--policy", policy, "--json", "--db", db]))
    return (original, replayed, jobs)
}

/// Expects `parse` to refuse each input, with an error whose text contains the case's
/// expected part (a key, a line, the message).
func expectRefusals(_ cases: [(input: String, expected: String)], sourceLocation: SourceLocation = #_sourceLocation,
                    _ parse: (String) throws -> Void) {
    for (input, expected) in cases {
        do {
            try parse(input)
            Issue.record("accepted \(input)", sourceLocation: sourceLocation)
        } catch {
            #expect("\(error)".contains(expected), "\(error)", sourceLocation: sourceLocation)
        }
    }
}
