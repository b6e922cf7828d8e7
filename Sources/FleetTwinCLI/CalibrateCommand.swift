import ArgumentParser
import FleetTwinCostModel
import Foundation

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Show the cost model's fit to the H100 calibration and its leave-one-out errors.",
        discussion: """
            For every measured step: the fitted prediction with that point left out of the fit, the error \
            against each of the two calibration runs, and how far the runs themselves differ.
            Example:
              fleettwin calibrate --report
            """)

    @Flag(help: "Print the fit and its leave-one-out errors.") var report = false
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard report || json else { throw ValidationError("say what to print: --report (a table) or --json") }
    }

    struct Row: Encodable {
        var step: String
        var measuredSeconds: [Double]
        var predictedSeconds: Double
        var errors: [Double]
        var runSpread: Double
    }

    func run() throws {
        let model = CostModel.calibrated, h100 = AcceleratorCatalog.h100
        let steps = MeasuredStep.all(Calibration.h100Runs)
        var rows: [Row] = []
        for mode in Mode.allCases {
            for check in StepTimeModel.leaveOneOut(steps.filter { $0.shape.mode == mode }, mode: mode, on: h100) {
                rows.append(Row(step: check.step.label, measuredSeconds: check.step.seconds, predictedSeconds: check.predicted,
                                errors: check.errors, runSpread: check.runSpread))
            }
        }
        if json {
            struct Report: Encodable { var train: StepTimeModel; var infer: StepTimeModel; var memory: MemoryModel; var leaveOneOut: [Row] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(Report(train: model.train, infer: model.infer, memory: model.memory, leaveOneOut: rows)), as: UTF8.self))
            return
        }
        print("Step time = max(fixed + per-layer x layers, FLOPs / (peak x matmul efficiency(size) x fraction))")
        print("peak (H100, best measured matmul): bf16 \(String(format: "%.0f", h100.bf16PeakFLOPS / 1e12)) TFLOP/s, tf32 \(String(format: "%.0f", h100.tf32PeakFLOPS / 1e12)) TFLOP/s")
        for m in [model.train, model.infer] {
            print(String(format: "%@: fixed %.2f ms, per layer %.2f ms, compute fraction %.2f",
                         m.mode.rawValue, m.fixedSeconds * 1000, m.secondsPerLayer * 1000, m.computeFraction))
        }
        print(String(format: "memory (train): 16 B/parameter + %.0f MiB + per layer %.2f B x tokens x hidden\n",
                     model.memory.workspaceBytes / 1_048_576, model.memory.bytesPerTokenHidden))
        let header = "step".padding(toLength: 44, withPad: " ", startingAt: 0) + "measured ms      predicted  error (run 1, run 2)  run spread"
        print(header)
        for r in rows {
            let measured = r.measuredSeconds.map { String(format: "%.2f", $0 * 1000) }.joined(separator: ", ")
            let errors = r.errors.map { String(format: "%+.0f%%", $0 * 100) }.joined(separator: ", ")
            print(r.step.padding(toLength: 44, withPad: " ", startingAt: 0)
                  + measured.padding(toLength: 17, withPad: " ", startingAt: 0)
                  + String(format: "%.2f", r.predictedSeconds * 1000).padding(toLength: 11, withPad: " ", startingAt: 0)
                  + errors.padding(toLength: 22, withPad: " ", startingAt: 0)
                  + String(format: "%.0f%%", r.runSpread * 100))
        }
    }
}
