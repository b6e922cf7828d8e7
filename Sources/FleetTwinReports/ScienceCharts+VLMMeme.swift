/// The meme evaluation's conditions per language: grouped bars, one group per language, one bar
/// per evaluation condition (shot, prompt language, caption).
import Foundation

extension ScienceCharts {
    /// Reads analysis values named `METRIC.LANGUAGE.SHOT.PROMPT.CAPTION` (five parts, such as
    /// `macro_f1.xx.zero.native.original`): one chart per METRIC, `macro_f1` first. Names with
    /// more or fewer parts (verdicts), and the half-widths `METRIC_ci95.…`, are not charted.
    static let vlmMeme = ScienceDrawing(kind: "vlm-meme", title: "Cross-cultural meme detection", figures: vlmMemeFigures)

    static let vlmMetrics = [("macro_f1", "macro-F1"), ("accuracy", "accuracy"), ("dominant_error_share", "dominant-norm share of errors")]

    static func vlmMemeFigures(_ jobs: [WorkloadResults.Job], _ analysis: WorkloadResults.Analysis?) -> [ScienceFigure] {
        var byMetric: [String: [String: [String: Double]]] = [:]  // metric, language, condition
        // A metric's 95% half-widths (`METRIC_ci95.…`) are not a chart of their own: the
        // analysis text below the charts gives them.
        for (parts, value) in values(analysis, parts: 5) where value.isFinite && !parts[0].hasSuffix("_ci95") {
            byMetric[parts[0], default: [:]][parts[1], default: [:]][parts[2...].joined(separator: " · ")] = value
        }
        return ordered(byMetric.keys, known: vlmMetrics.map(\.0)).compactMap { metric -> ScienceFigure? in
            let languages = byMetric[metric]!.keys.sorted()
            let conditions = Set(byMetric[metric]!.values.flatMap(\.keys)).sorted()
            let name = vlmMetrics.first { $0.0 == metric }?.1 ?? metric
            guard let chart = groupedBars(label: "\(name) per language and evaluation condition", groupTitle: "language",
                                          valueTitle: name, groups: languages, series: conditions,
                                          values: languages.map { l in conditions.map { byMetric[metric]![l]![$0] } }) else { return nil }
            return ScienceFigure(title: "\(name) per language and condition", caption: """
                One group per language, one bar per evaluation condition (shot · prompt language · caption), from the \
                analysis values \(metric).LANGUAGE.SHOT.PROMPT.CAPTION.
                """, charts: [chart])
        }
    }
}
