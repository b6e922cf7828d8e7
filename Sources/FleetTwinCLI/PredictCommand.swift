import ArgumentParser
import FleetTwinCostModel
import Foundation

extension Architecture: ExpressibleByArgument {}
extension Mode: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict what one replica of a transformer costs on an accelerator.",
        discussion: """
            Parameters, FLOPs per step and checkpoint bytes are computed from the shape; step time from the \
            roofline fitted to the H100 calibration (see `fleettwin calibrate --report`); memory from the fitted \
            memory model; checkpoint and restore times from the measured checkpoint path. Accelerators other \
            than h100-80gb are estimates from datasheet ratios and are marked as such.
            Example:
              fleettwin predict --arch bert --layers 24 --hidden 1024 --seq 256 --batch 32 --mode train --accelerator a100-80gb
            """)

    @Option(help: "Architecture.") var arch: Architecture
    @Option(help: "Transformer layers.") var layers: Int
    @Option(help: "Hidden size.") var hidden: Int
    @Option(help: "Sequence length.") var seq: Int
    @Option(help: "Batch size per replica.") var batch: Int
    @Option(help: "train or infer.") var mode: Mode
    @Option(help: "Compute precision.") var precision: Precision = .bf16
    @Option(help: "Accelerator type: \(AcceleratorCatalog.all.map(\.name).joined(separator: ", ")).")
    var accelerator = "h100-80gb"
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        for (name, value) in [("--layers", layers), ("--hidden", hidden), ("--seq", seq), ("--batch", batch)] where value < 1 {
            throw ValidationError("\(name) must be at least 1")
        }
        if AcceleratorCatalog.named(accelerator) == nil {
            throw ValidationError("unknown accelerator '\(accelerator)'; expected one of: \(AcceleratorCatalog.all.map(\.name).joined(separator: ", "))")
        }
    }

    func run() throws {
        let spec = AcceleratorCatalog.named(accelerator)!
        let shape = ModelShape(architecture: arch, layers: layers, hidden: hidden, sequence: seq, batch: batch,
                               mode: mode, precision: precision)
        let e = CostModel.calibrated.estimate(shape, on: spec)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(e), as: UTF8.self))
            return
        }
        let rows: [(String, String)] = [
            ("accelerator", "\(spec.name), \(spec.provenance)"),
            ("parameters", grouped(e.params)),
            ("FLOPs per step", String(format: "%.3g", e.flopsPerStep)),
            ("step time", String(format: "%.2f ms (%@)", e.stepSeconds * 1000, e.launchBound ? "launch-bound" : "compute-bound")),
            ("memory per replica", bytes(e.memoryBytes) + (e.fitsInMemory ? "" : " - does not fit in \(bytes(spec.memoryBytes))")),
            ("checkpoint", bytes(e.checkpointBytes)),
            ("checkpoint time", String(format: "%.2f s", e.checkpointSeconds)),
            ("restore time", String(format: "%.2f s", e.restoreSeconds)),
        ]
        printTable(rows)
    }
}

func grouped(_ n: Int) -> String {
    let digits = Array(String(n))
    var out = ""
    for (i, d) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(d)
    }
    return out
}

func bytes(_ b: Int64) -> String {
    let gib = Double(b) / 1_073_741_824
    return gib >= 1 ? String(format: "%.2f GiB", gib) : String(format: "%.1f MiB", Double(b) / 1_048_576)
}

func printTable(_ rows: [(String, String)]) {
    let width = rows.map(\.0.count).max() ?? 0
    for (k, v) in rows { print(k.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + v) }
}
