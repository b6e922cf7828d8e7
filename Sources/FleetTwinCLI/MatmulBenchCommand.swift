import ArgumentParser
import FleetTwinEngine
import FleetTwinTensor
import Foundation

/// The tensor core's matrix product against numpy (OpenBLAS) on one thread, in one run.
struct MatmulBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matmul",
        abstract: "Measure the Float32 matrix product in GFLOP/s beside numpy on one thread.",
        discussion: """
            Times square products of each --sizes on FleetTwin's kernel (best of repeated runs of at \
            least --seconds each), then the same sizes with numpy in a python3 child process restricted \
            to one thread (OPENBLAS_NUM_THREADS=1 and friends), and prints both with their ratio. \
            Without python3 or numpy it says so and prints FleetTwin's figures alone. Build with -c release.
            Example:
              swift run -c release fleettwin bench matmul --sizes 256,512,1024
            """)

    @Option(help: "Comma-separated square sizes.") var sizes = "128,256,512,1024"
    @Option(help: "Minimum seconds of timing per size and library.") var seconds = 0.5
    @Option(help: "The Python interpreter with numpy.") var python = "python3"
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let list = sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !list.isEmpty, list.allSatisfy({ $0 >= 1 && $0 <= 8192 }) else {
            throw ValidationError("--sizes must be comma-separated integers between 1 and 8192, got '\(sizes)'")
        }
        guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be above 0 and at most 600; got \(seconds)") }
        var swift: [Int: Double] = [:]
        for n in list {
            var g = SeededGenerator(seed: UInt64(n))
            let a = Tensor.randomNormal(shape: [n, n], std: 1, using: &g)
            let b = Tensor.randomNormal(shape: [n, n], std: 1, using: &g)
            swift[n] = Self.gflops(n: n, minimumSeconds: seconds) { _ = Matmul.product(a, b) }
        }
        let numpy = Self.numpy(list, seconds: seconds, python: python)
        if json {
            var rows: [[String: Any]] = []
            for n in list {
                var row: [String: Any] = ["size": n, "fleettwinGFLOPS": swift[n]!]
                if case .success(let np) = numpy, let v = np[n] { row["numpyGFLOPS"] = v; row["ratio"] = swift[n]! / v }
                rows.append(row)
            }
            var object: [String: Any] = ["results": rows, "threads": 1]
            if case .failure(let why) = numpy { object["numpy"] = "unavailable: \(why.message)" }
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
            return
        }
        print("size   FleetTwin GFLOP/s   numpy 1-thread GFLOP/s   ratio")
        for n in list {
            var line = String(format: "%-6d %17.1f", n, swift[n]!)
            if case .success(let np) = numpy, let v = np[n] {
                line += String(format: "   %22.1f   %5.2f", v, swift[n]! / v)
            }
            print(line)
        }
        if case .failure(let why) = numpy { print("numpy: unavailable (\(why.message)); FleetTwin's figures only") }
    }

    /// Best GFLOP/s of an n x n x n product over repeated batches lasting `minimumSeconds` in all.
    static func gflops(n: Int, minimumSeconds: Double, _ body: () -> Void) -> Double {
        let clock = ContinuousClock()
        body() // warm-up
        var best = Double.infinity, total = 0.0
        repeat {
            let start = clock.now
            body()
            let d = clock.now - start
            let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
            best = min(best, s)
            total += s
        } while total < minimumSeconds
        return 2 * Double(n) * Double(n) * Double(n) / best / 1e9
    }

    struct Unavailable: Error { var message: String }

    static func numpy(_ sizes: [Int], seconds: Double, python: String) -> Result<[Int: Double], Unavailable> {
        let script = """
            import json, sys, time
            import numpy as np
            out = {}
            for n in \(sizes):
                rng = np.random.default_rng(n)
                a = rng.standard_normal((n, n), dtype=np.float32); b = rng.standard_normal((n, n), dtype=np.float32)
                a @ b
                best, total = float('inf'), 0.0
                while total < \(seconds):
                    t = time.perf_counter(); a @ b; d = time.perf_counter() - t
                    best = min(best, d); total += d
                out[n] = 2 * n ** 3 / best / 1e9
            print(json.dumps(out))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "-c", script]
        var environment = ProcessInfo.processInfo.environment
        for key in ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"] { environment[key] = "1" }
        process.environment = environment
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch { return .failure(Unavailable(message: "cannot start \(python): \(error.localizedDescription)")) }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Double] else {
            let last = errorText.split(separator: "\n").last.map(String.init) ?? "exit \(process.terminationStatus)"
            return .failure(Unavailable(message: last))
        }
        var result: [Int: Double] = [:]
        for (k, v) in object { if let n = Int(k) { result[n] = v } }
        return .success(result)
    }
}
