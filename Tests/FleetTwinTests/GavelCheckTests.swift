import FleetTwinCostModel
import Foundation
import Testing

/// The communication model against Gavel's measured throughputs (../shared/traces/
/// gavel-throughputs, MIT, stanford-futuredata/gavel at c4fa400; read as data, never copied
/// here). For every model and batch size measured on 1 and 8 V100s, consolidated on one
/// server and spread over eight: the predicted 1 -> 8 scaling efficiency and spread /
/// consolidated throughput ratio against the measured ones, with the measured one-GPU step
/// (1 / throughput) as the compute time. Gavel's multi-GPU throughputs add up the workers'
/// steps per second (ResNet-18 at batch 128 on K80s: 1.81 -> 13.66), so efficiency is
/// throughput(8) / (8 x throughput(1)).
struct GavelCheck {
    /// Parameters of Gavel's models (fp32 gradients: 4 bytes each): ResNet-18 is the
    /// CIFAR-10 variant (11.17 M), ResNet-50 torchvision's (25.56 M); Transformer (the
    /// 6+6-layer, 512-wide translation model on Multi30k, about 49 M with its two
    /// vocabularies of about 5 k) and LM (a 2-layer LSTM language model on Wikitext-2,
    /// 33,278 words, 200-wide embeddings and decoder, about 14 M) are estimates from the
    /// reference implementations' default configurations.
    static let parameters: [(model: String, count: Double)] = [
        ("ResNet-18", 11.17e6), ("ResNet-50", 25.56e6), ("Transformer", 49e6), ("LM", 14e6),
    ]

    /// Gavel's V100 testbed as assumed here: eight V100 SXM2 with NVLink in one server
    /// (AWS p3.16xlarge, DGX-1-like: `Interconnect.dgx1V100`'s NVLink) consolidated; one
    /// V100 per server over 10 Gb/s Ethernet (p3.2xlarge: "up to 10 Gigabit") spread, with
    /// 25 µs per hop for NCCL over TCP sockets (an assumption, not a measurement).
    static let consolidated = Interconnect.dgx1V100
    static let spread = Interconnect(nvlink: Interconnect.dgx1V100.nvlink, nodeNIC: LinkSpec(busBandwidth: 1.25e9, hopLatency: 25e-6))

    /// One model at one batch size: measured and predicted ratios.
    struct Row {
        var model: String
        var batch: Int
        var measuredScaling, predictedScaling: Double
        var measuredSpread, predictedSpread: Double
    }

    /// The throughputs of one accelerator kind: (job name, GPUs) -> steps per second alone.
    static func throughputs(_ json: Any, kind: String) throws -> [String: Double] {
        guard let root = json as? [String: Any], let entries = root[kind] as? [String: Any] else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSDebugDescriptionErrorKey: "no '\(kind)' object"])
        }
        var out: [String: Double] = [:]  // looked up only
        for (key, value) in entries {
            if let pairs = value as? [String: Any], let alone = pairs["null"] as? Double { out[key] = alone }
        }
        return out
    }

    /// Every model of `parameters` measured at 1 and 8 GPUs both ways, in (model, batch) order.
    static func rows(_ data: Data, model communication: CommunicationModel) throws -> [Row] {
        let json = try JSONSerialization.jsonObject(with: data)
        let together = try throughputs(json, kind: "v100"), apart = try throughputs(json, kind: "v100_unconsolidated")
        var rows: [Row] = []
        for (model, count) in parameters {
            let prefix = "('\(model) (batch size "
            let batches = together.keys.filter { $0.hasPrefix(prefix) && $0.hasSuffix(", 1)") }
                .compactMap { Int($0.dropFirst(prefix.count).prefix { $0.isNumber }) }.sorted()
            for batch in batches {
                let name = "\(prefix)\(batch))'"
                guard let one = together["\(name), 1)"], let eight = together["\(name), 8)"], let eightApart = apart["\(name), 8)"],
                      one > 0, eight > 0, eightApart > 0 else { continue }
                func step(nodes: Int, _ i: Interconnect) -> MultiAcceleratorStep {
                    MultiAcceleratorStep(gradientBytes: 4 * count, computeSeconds: 1 / one, accelerators: 8, nodes: nodes,
                                         acceleratorsPerNode: 8 / nodes, interconnect: i, model: communication)
                }
                let packed = step(nodes: 1, consolidated), spreadStep = step(nodes: 8, spread)
                rows.append(Row(model: model, batch: batch, measuredScaling: eight / (8 * one), predictedScaling: packed.scalingEfficiency,
                                measuredSpread: eightApart / eight, predictedSpread: packed.stepSeconds / spreadStep.stepSeconds))
            }
        }
        return rows
    }

    /// Per model: the geometric mean over batch sizes of predicted / measured, minus 1, for
    /// scaling and for the spread ratio.
    static func errors(_ rows: [Row]) -> [(model: String, batches: Int, scaling: Double, spread: Double)] {
        parameters.map(\.model).compactMap { model in
            let mine = rows.filter { $0.model == model }
            guard !mine.isEmpty else { return nil }
            func gm(_ f: (Row) -> Double) -> Double { exp(mine.reduce(0) { $0 + log(f($1)) } / Double(mine.count)) - 1 }
            return (model, mine.count, gm { $0.predictedScaling / $0.measuredScaling }, gm { $0.predictedSpread / $0.measuredSpread })
        }
    }

    static func table(_ rows: [Row], overlap: Double) -> String {
        var lines = ["overlap \(overlap): model, batch sizes, scaling 1->8 error, spread/consolidated error (geometric mean of predicted/measured - 1)"]
        for e in errors(rows) {
            lines.append(String(format: "  %-12@ %d  %+6.0f%%  %+6.0f%%", e.model, e.batches, e.scaling * 100, e.spread * 100))
        }
        return lines.joined(separator: "\n")
    }
}

@Suite struct GavelCheckTests {
    static let gavel = sharedTrace("gavel-throughputs/simulation_throughputs.json")

    /// The comparison's own arithmetic, on a small synthetic file in Gavel's format
    /// (Fixtures/gavel-format-throughputs.json, numbers made up for this test): jobs measured
    /// at 1 and 8 GPUs both ways become rows, the others (one GPU only, a zero throughput,
    /// another kind's pairs) are left out, and errors are per model.
    @Test func theComparisonReadsGavelsFormat() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("gavel-format-throughputs.json")))
        let rows = try GavelCheck.rows(data, model: .standard)
        #expect(rows.map(\.model) == ["ResNet-18", "ResNet-18", "ResNet-50"])
        #expect(rows.map(\.batch) == [32, 64, 16])
        let first = rows[0]
        #expect(first.measuredScaling == 72.0 / 80 && first.measuredSpread == 36.0 / 72)
        let errors = GavelCheck.errors(rows)
        #expect(errors.map(\.model) == ["ResNet-18", "ResNet-50"])
        let r50 = rows[2]
        #expect(abs(errors[1].scaling - (r50.predictedScaling / r50.measuredScaling - 1)) < 1e-12)
        // Spread is slower than consolidated in the prediction, as over a 10 Gb/s network it must be.
        #expect(rows.allSatisfy { $0.predictedSpread < 1 && $0.predictedScaling <= 1 })
    }

    /// Against the real measurements, with the default model: per model (geometric mean over
    /// batch sizes), predicted 1 -> 8 scaling within 40% and the spread / consolidated ratio
    /// within 80% of the measured ones: what this model honestly meets on Gavel's data,
    /// which is noisy (several measured efficiencies exceed 1). ResNet-50's scaling is left
    /// out of the bound: it measures 0.30-0.52 consolidated on NVLink, where its 102 MB of
    /// gradients take under 2 ms a step, and it runs faster spread than consolidated, so
    /// something other than communication (input loading, most likely) bounds it.
    /// Printed: the error table for overlap 0, 0.5 and 1 (README, Communication).
    @Test(.enabled(if: hasSharedTrace("gavel-throughputs/simulation_throughputs.json")))
    func predictedScalingAndSpreadSlowdownAgainstGavelsV100s() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.gavel))
        for overlap in [0.0, 0.5, 1.0] {
            print(GavelCheck.table(try GavelCheck.rows(data, model: CommunicationModel(overlap: overlap)), overlap: overlap))
        }
        let rows = try GavelCheck.rows(data, model: .standard)
        #expect(rows.count >= 18)
        let errors = GavelCheck.errors(rows)
        #expect(errors.map(\.model) == GavelCheck.parameters.map(\.model))
        for e in errors {
            if e.model != "ResNet-50" { #expect(abs(e.scaling) <= 0.4, "\(e.model): scaling error \(e.scaling)") }
            #expect(abs(e.spread) <= 0.8, "\(e.model): spread error \(e.spread)")
        }
    }
}
