import FleetTwinEngine
import FleetTwinScenario
import FleetTwinTraces
import Foundation
import Testing

/// Mutated scenario and trace files must give a located error or parse: never crash.
/// A fixed seed makes the corpus the same on every run; `FLEETTWIN_FUZZ_ROUNDS` makes it
/// longer (see the README).
@Suite struct FuzzTests {
    static let rounds = Int(ProcessInfo.processInfo.environment["FLEETTWIN_FUZZ_ROUNDS"] ?? "") ?? 300
    static let tokens = [":", "-", "[", "]", "{", "}", ",", "'", "\"", "#", "&a", "*a", "!!int", "-1", "0", "1e400", "nan",
                         "99999999999999999999", "1.5", "true", "null", "~", "2h", "0s", "-5m", "GiB", "\t", "\n", "  ", "é"]

    static func mutate(_ text: String, _ g: inout SeededGenerator) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for _ in 0..<(1 + Int(g.next() % 3)) {
            guard !lines.isEmpty else { break }
            let i = Int(g.next() % UInt64(lines.count))
            switch g.next() % 6 {
            case 0: lines.remove(at: i)
            case 1: lines.insert(lines[i], at: i)
            case 2: lines.swapAt(i, Int(g.next() % UInt64(lines.count)))
            case 3:
                var chars = Array(lines[i])
                if !chars.isEmpty { chars.remove(at: Int(g.next() % UInt64(chars.count))) }
                lines[i] = String(chars)
            case 4:
                var chars = Array(lines[i])
                let token = tokens[Int(g.next() % UInt64(tokens.count))]
                chars.insert(contentsOf: token, at: chars.isEmpty ? 0 : Int(g.next() % UInt64(chars.count + 1)))
                lines[i] = String(chars)
            default:
                // Replace a value after a colon with a token.
                if let colon = lines[i].firstIndex(of: ":") {
                    lines[i] = String(lines[i][...colon]) + " " + tokens[Int(g.next() % UInt64(tokens.count))]
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    @Test func mutatedScenariosGiveLocatedErrorsOrParse() async throws {
        let folder = repositoryRoot.appendingPathComponent("Scenarios")
        let seeds = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }.sorted()
            .map { try String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8) }
            + [try String(contentsOfFile: fixture("fifo-hand.yaml"), encoding: .utf8)]
        var g = SeededGenerator(seed: 2026, stream: "fuzz-scenarios")
        var parsed = 0, rejected = 0
        for round in 0..<Self.rounds {
            let text = Self.mutate(seeds[round % seeds.count], &g)
            let scenario: Scenario
            do { scenario = try Scenario.parse(text, file: "fuzz.yaml") } catch {
                #expect(error.line >= 0 && error.description.hasPrefix("fuzz.yaml:"), "\(error)")
                rejected += 1
                continue
            }
            // Generating the jobs must not crash either (bounded: skip huge workloads); every
            // tenth scenario that parses also runs, invariants checked, when small and
            // simulated only (real workloads at their shipped sizes take a minute each; the
            // real-workload tests run them small). A run that throws is a simulator bug.
            if case .generator(let generator) = scenario.workload, (generator.count ?? 0) > 5_000 { parsed += 1; continue }
            let jobs = scenario.jobs(seed: 1)
            if parsed % 10 == 0, jobs.count <= 400, scenario.fleet.totalAccelerators <= 512, scenario.realWorkloads.isEmpty {
                _ = try await runScenario(scenario, check: true)
            }
            parsed += 1
        }
        #expect(parsed + rejected == Self.rounds)
        #expect(rejected > 0)
    }

    @Test func mutatedTracesGiveLocatedErrorsOrRead() throws {
        let original = try String(contentsOfFile: fixture("traces/small.jsonl"), encoding: .utf8)
        let dir = try temporaryDirectory()
        var g = SeededGenerator(seed: 2026, stream: "fuzz-traces")
        for round in 0..<Self.rounds {
            let path = dir.appendingPathComponent("t\(round % 8).jsonl").path
            try Self.mutate(original, &g).write(toFile: path, atomically: true, encoding: .utf8)
            do { _ = try TraceReader(path: path).readAll() } catch let error as TraceError {
                #expect(error.file == path && error.line >= 0)
            }
        }
    }
}
