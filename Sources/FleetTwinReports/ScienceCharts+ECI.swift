/// ECI against the student's nDCG@10, one point per negative set, one chart per ECI variant.
import Foundation

extension ScienceCharts {
    /// Reads the analysis values `SET.ndcg@10` (which names the sets), `SET.eci` and any
    /// variant `SET.eci_NAME` or `SET.eci.NAME`, `SET.false_negative_share`,
    /// `spearman.VARIANT.ndcg@10` and `claim.eci_predicts_quality`. Set names may hold dots
    /// (`llm(fnr=0.3)`): they are found by the `.ndcg@10` suffix.
    static let eci = ScienceDrawing(kind: "eci", title: "ECI and the student's retrieval quality", figures: eciFigures)

    /// Last name parts that mark a statistic of a value rather than a variant of ECI.
    static let statisticSuffixes: Set<String> = ["low", "high", "lower", "upper", "ci", "ci_low", "ci_high", "sd", "stderr", "n"]

    static func eciFigures(_ jobs: [WorkloadResults.Job], _ analysis: WorkloadResults.Analysis?) -> [ScienceFigure] {
        guard let values = analysis?.values else { return [] }
        let quality = ".ndcg@10"
        let sets = values.keys.filter { $0.hasSuffix(quality) && !$0.hasPrefix("spearman.") && !$0.hasPrefix("claim.") }
            .map { String($0.dropLast(quality.count)) }.sorted()
        var variants = Set<String>()
        for set in sets {
            for name in values.keys where name.hasPrefix(set + ".eci") {
                let variant = String(name.dropFirst(set.count + 1))
                let last = variant.split(separator: ".").last.map(String.init) ?? variant
                if variant == "eci" || ((variant.hasPrefix("eci_") || variant.hasPrefix("eci.")) && !statisticSuffixes.contains(last)) {
                    variants.insert(variant)
                }
            }
        }
        let ordered = ordered(variants, known: ["eci"])
        let charts = ordered.compactMap { variant -> String? in
            let points = sets.enumerated().compactMap { i, set -> Marker? in
                guard let x = values["\(set).\(variant)"], let y = values[set + quality], x.isFinite, y.isFinite else { return nil }
                let share = values["\(set).false_negative_share"].map { ", false-negative share \(fixed($0, 3))" } ?? ""
                return Marker(kind: "negative-set", x: x, y: y, colour: Palette.colour(i), label: set,
                              tooltip: "\(set): \(variant) \(fixed(x, 3)), nDCG@10 \(fixed(y, 3))\(share)")
            }
            guard points.count >= 2 else { return nil }
            let name = variant == "eci" ? "ECI" : "ECI (\(variant.dropFirst(4)))"
            let rho = values["spearman.\(variant).ndcg@10"].map { "Spearman ρ(\(name), nDCG@10) = \(fixed($0, 3)) over \(points.count) sets" }
            return ScatterChart(
                frame: ordered.count == 1 ? .full : .half, label: "\(name) against the student's nDCG@10, per negative set",
                x: Axes.span(points.map(\.x).min()!, points.map(\.x).max()!, title: name),
                y: Axes.span(points.map(\.y).min()!, points.map(\.y).max()!, title: "student nDCG@10"),
                curves: [], markers: points, legend: [], note: rho).svg()
        }
        guard !charts.isEmpty else { return [] }
        var caption = "Each point is one negative set: its ECI (x) and the nDCG@10 on held-out queries of the dense student "
            + "fine-tuned on it (y)\(charts.count > 1 ? "; one chart per variant of ECI" : ""). If ECI predicts quality, "
            + "the points rise to the right."
        if let claim = values["claim.eci_predicts_quality"] {
            caption += " Claim 'ECI predicts downstream quality' (Spearman ρ at least 0.5): "
                + (claim >= 0.5 ? "supported" : "not supported") + " on this run."
        }
        return [ScienceFigure(title: "ECI against nDCG@10, per negative set", caption: caption, charts: charts)]
    }
}
