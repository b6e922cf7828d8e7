/// The reranker's scaling curves: per metric, each loss's mean at each model size against
/// parameters, the fitted law y = a + b·N^c through the fitted sizes, and its forecasts of the
/// held-back sizes against what they measured.
import Foundation

extension ScienceCharts {
    /// Reads the analysis values `LOSS.METRIC.sizeK` (the mean of the loss's jobs of size K),
    /// `LOSS.METRIC.a|b|c` (the law fitted on the smallest sizes), `LOSS.METRIC.forecast.sizeK`
    /// (its forecast of a held-back size) and `forecasts`, `forecasts.conservative`; and each
    /// job's `size` and `parameters` metrics, for the x axis.
    static let reranker = ScienceDrawing(kind: "reranker", title: "Reranker scaling laws", figures: rerankerFigures)

    static let rerankerMetrics = [("ndcg@10", "nDCG@10"), ("map", "MAP"), ("mrr", "MRR"), ("contrastive_entropy", "contrastive entropy")]
    static let rerankerLosses = ["bce", "ranknet", "listnet"]

    /// One loss's points for one metric.
    struct ScalingSeries {
        var measured: [Int: Double] = [:]
        var law: [String: Double] = [:]
        var forecast: [Int: Double] = [:]

        /// (a, b, c) when all three were stored.
        var fitted: (a: Double, b: Double, c: Double)? {
            guard let a = law["a"], let b = law["b"], let c = law["c"] else { return nil }
            return (a, b, c)
        }
    }

    static func rerankerFigures(_ jobs: [WorkloadResults.Job], _ analysis: WorkloadResults.Analysis?) -> [ScienceFigure] {
        var parameters: [Int: Double] = [:]
        for job in jobs {
            if let size = job.metrics["size"], let count = job.metrics["parameters"], count > 0 { parameters[Int(size)] = count }
        }
        var series: [String: [String: ScalingSeries]] = [:]  // metric, then loss
        for (parts, value) in values(analysis, parts: 3) {
            let (loss, metric, last) = (parts[0], parts[1], parts[2])
            if let size = index(last, after: "size") {
                series[metric, default: [:]][loss, default: ScalingSeries()].measured[size] = value
            } else if ["a", "b", "c"].contains(last) {
                series[metric, default: [:]][loss, default: ScalingSeries()].law[last] = value
            }
        }
        for (parts, value) in values(analysis, parts: 4) where parts[2] == "forecast" {
            if let size = index(parts[3], after: "size") {
                series[parts[1], default: [:]][parts[0], default: ScalingSeries()].forecast[size] = value
            }
        }
        let known = rerankerMetrics.map(\.0)
        let charts = ordered(series.keys, known: known).compactMap { metric -> String? in
            let label = rerankerMetrics.first { $0.0 == metric }?.1 ?? metric
            return scalingChart(metric: label, series: series[metric]!, parameters: parameters)
        }
        guard !charts.isEmpty else { return [] }
        var caption = "Each loss's mean over its jobs at each model size, against the model's parameters (log scale). "
            + "Lines: y = a + b·N^c fitted by least squares on the filled sizes, dashed where it extrapolates; "
            + "diamonds: its forecasts of the held-back sizes (hollow: what they measured), joined by a thin line."
        if let total = analysis?.values["forecasts"], let conservative = analysis?.values["forecasts.conservative"], total > 0 {
            caption += " Forecasts of held-back sizes that were conservative (below the measured value; above it for "
                + "contrastive entropy): \(Int(conservative)) of \(Int(total))."
        }
        return [ScienceFigure(title: "Metrics against model size, per loss", caption: caption, charts: charts)]
    }

    /// One metric's chart; nil when fewer than two sizes of any loss have both a value and a
    /// parameter count.
    static func scalingChart(metric: String, series: [String: ScalingSeries], parameters: [Int: Double]) -> String? {
        let losses = ordered(series.keys, known: rerankerLosses).filter { loss in
            series[loss]!.measured.keys.filter { parameters[$0] != nil }.count >= 2
        }
        guard !losses.isEmpty else { return nil }
        var curves: [Curve] = [], markers: [Marker] = [], legend: [LegendEntry] = []
        var xs: [Double] = [], ys: [Double] = []
        for (i, loss) in losses.enumerated() {
            let data = series[loss]!, colour = Palette.colour(i)
            let sizes = data.measured.keys.filter { parameters[$0] != nil }.sorted()
            let law = data.fitted
            let held = Set(law == nil ? [] : data.forecast.keys.filter { parameters[$0] != nil })
            let fitted = sizes.filter { !held.contains($0) }
            for size in sizes {
                let n = parameters[size]!, y = data.measured[size]!
                xs.append(n); ys.append(y)
                let name = "\(loss), size \(size) (\(Int(n)) parameters)"
                if held.contains(size), let forecast = data.forecast[size] {
                    ys.append(forecast)
                    markers.append(Marker(kind: "held-back", x: n, y: y, colour: colour, filled: false,
                                          tooltip: "\(name): measured \(fixed(y, 4))"))
                    markers.append(Marker(kind: "forecast", x: n, y: forecast, colour: colour, shape: .diamond,
                                          tooltip: "\(name): forecast \(fixed(forecast, 4)), measured \(fixed(y, 4)), "
                                              + "error \(signed(forecast - y, 4))"))
                    curves.append(Curve(kind: "forecast-error", key: loss, colour: colour, dashed: true, width: 1,
                                        points: [(n, forecast), (n, y)]))
                } else {
                    markers.append(Marker(kind: "measured", x: n, y: y, colour: colour, tooltip: "\(name): \(fixed(y, 4))"))
                }
            }
            if let law, let first = fitted.first.flatMap({ parameters[$0] }), let last = fitted.last.flatMap({ parameters[$0] }) {
                let end = held.compactMap { parameters[$0] }.max() ?? last
                func curve(_ from: Double, _ to: Double) -> [(x: Double, y: Double)] {
                    logSpaced(from, to).map { (x: $0, y: law.a + law.b * pow($0, law.c)) }.filter(\.y.isFinite)
                }
                let solid = curve(first, last), dashed = end > last ? curve(last, end) : []
                ys += (solid + dashed).map(\.y)
                curves.append(Curve(kind: "law", key: loss, colour: colour, points: solid))
                if !dashed.isEmpty { curves.append(Curve(kind: "law-extrapolated", key: loss, colour: colour, dashed: true, points: dashed)) }
                legend.append(LegendEntry(label: "\(loss): a=\(fixed(law.a, 4)) b=\(String(format: "%.4g", law.b)) c=\(fixed(law.c, 3))",
                                          colour: colour, dashed: false))
            } else {
                curves.append(Curve(kind: "measured-line", key: loss, colour: colour, width: 1.5,
                                    points: sizes.map { (parameters[$0]!, data.measured[$0]!) }))
                legend.append(LegendEntry(label: "\(loss) (no law fitted)", colour: colour, dashed: false))
            }
        }
        if markers.contains(where: { $0.kind == "forecast" }) {
            legend += [LegendEntry(label: "fitted", colour: "#333333", dashed: false, marker: .circle),
                       LegendEntry(label: "held back", colour: "#333333", dashed: false, marker: .circle, filled: false),
                       LegendEntry(label: "forecast", colour: "#333333", dashed: false, marker: .diamond)]
        }
        let finite = ys.filter(\.isFinite)
        return ScatterChart(
            label: "\(metric) against model size per loss, with the fitted scaling law",
            x: Axes.logDecades(from: xs.min()!, to: xs.max()!, title: "model size (parameters, log scale)", label: Axes.countLabel),
            y: Axes.span(finite.min() ?? 0, finite.max() ?? 1, title: metric),
            curves: curves, markers: markers, legend: legend).svg()
    }

    /// 48 points from `low` to `high`, evenly spaced on a log scale.
    static func logSpaced(_ low: Double, _ high: Double) -> [Double] {
        (0...47).map { low * pow(high / low, Double($0) / 47) }
    }

    /// `+0.0123` or `-0.0123`.
    static func signed(_ value: Double, _ decimals: Int) -> String {
        (value >= 0 ? "+" : "") + fixed(value, decimals)
    }
}
