import Foundation

extension RerankerWorkload {
    /// True for metrics where higher is better (all but contrastive entropy).
    static func rises(_ metric: String) -> Bool { metric != "contrastive_entropy" }

    /// Jobs of one (loss, size), their metrics averaged by name (jobs in name order, the first
    /// job's metric order): several seeds of one cell become one point.
    struct Cell {
        var size: Int
        var parameters: Double
        var metrics: [(name: String, value: Double)]
        var jobs: Int
        func value(_ name: String) -> Double? { metrics.first { $0.name == name }?.value }
    }

    static func cells(_ jobs: [FinishedWorkload]) -> [Cell] {
        let sorted = jobs.sorted { $0.name < $1.name }
        var sizes: [Int] = []
        for job in sorted { if let s = job.result["size"].map({ Int($0) }), !sizes.contains(s) { sizes.append(s) } }
        return sizes.sorted().map { size in
            let members = sorted.filter { $0.result["size"].map { Int($0) } == size }
            let names = members[0].result.metrics.map(\.name)
            let metrics = names.map { name -> (name: String, value: Double) in
                var total = 0.0, count = 0
                for job in members { if let v = job.result[name] { total += v; count += 1 } }
                return (name, total / Double(count))
            }
            return Cell(size: size, parameters: members[0].result["parameters"] ?? 0, metrics: metrics, jobs: members.count)
        }
    }

    static func format(_ v: Double) -> String { String(format: "%.4f", v) }
    static func formatLaw(_ law: ScalingLaw) -> String {
        "a=\(String(format: "%.4f", law.a)) b=\(String(format: "%.4g", law.b)) c=\(String(format: "%.3f", law.c))"
    }

    /// Scaling-law report: for each loss and metric, y = a + b*N^c fitted (least squares) on the
    /// four smallest sizes of the loss, forecasts of every larger size with error
    /// (forecast - actual) and bias (conservative: below actual for rising metrics, above for
    /// entropy); and per (loss, size) the same law over training steps, fitted on the
    /// checkpoints in the first half of training and forecasting the last checkpoint.
    public static func analyse(_ jobs: [FinishedWorkload]) -> WorkloadReport {
        var lines: [String] = []
        var values: [(name: String, value: Double)] = []
        var conservative = 0, forecasts = 0
        lines.append("Reranker scaling laws: y = a + b*x^c, x = parameters (fit on the 4 smallest sizes) or steps (fit on the first half)")
        for loss in losses {
            let group = jobs.filter { $0.spec.options["loss"] ?? "ranknet" == loss }
            guard !group.isEmpty else { continue }
            let cells = cells(group)
            let table = cells.map { "size\($0.size) N=\(Int($0.parameters)) nDCG@10=\(format($0.value("ndcg@10") ?? .nan))" }
            lines.append("[\(loss)] \(cells.count) sizes, \(group.count) jobs: " + table.joined(separator: ", "))
            for cell in cells {
                for metric in RerankerCheckpointMetrics.metricNames {
                    if let v = cell.value(metric) { values.append(("\(loss).\(metric).size\(cell.size)", v)) }
                }
            }
            if let first = cells.first, let last = cells.last, cells.count >= 2,
               let low = first.value("ndcg@10"), let high = last.value("ndcg@10") {
                values.append(("\(loss).ndcg@10.gain", high - low))
                lines.append("  largest minus smallest nDCG@10: \(format(high - low)) (\(high > low ? "larger models rank better" : "NO gain from size"))")
            }
            if cells.count < 4 {
                lines.append("  only \(cells.count) sizes of \(loss): a size law needs at least 4, not fitted")
            } else {
                let fitCells = Array(cells.prefix(4)), held = Array(cells.dropFirst(4))
                for metric in RerankerCheckpointMetrics.metricNames {
                    let xs = fitCells.map(\.parameters), ys = fitCells.compactMap { $0.value(metric) }
                    guard ys.count == 4, let law = ScalingLaw.fit(x: xs, y: ys) else {
                        lines.append("  \(metric): no fit (points do not determine the law)")
                        continue
                    }
                    values.append(("\(loss).\(metric).a", law.a))
                    values.append(("\(loss).\(metric).b", law.b))
                    values.append(("\(loss).\(metric).c", law.c))
                    var text = "  \(metric): \(formatLaw(law))"
                    for cell in held {
                        guard let actual = cell.value(metric) else { continue }
                        let forecast = law.predict(cell.parameters)
                        let error = forecast - actual
                        let isConservative = rises(metric) ? forecast < actual : forecast > actual
                        forecasts += 1; if isConservative { conservative += 1 }
                        let key = "\(loss).\(metric)"
                        values.append(("\(key).forecast.size\(cell.size)", forecast))
                        values.append(("\(key).actual.size\(cell.size)", actual))
                        values.append(("\(key).error.size\(cell.size)", error))
                        values.append(("\(key).conservative.size\(cell.size)", isConservative ? 1 : 0))
                        text += " | size\(cell.size): forecast \(format(forecast)) actual \(format(actual)) error \(String(format: "%+.4f", error))"
                            + " (\(error == 0 ? "exact" : isConservative ? "conservative" : "optimistic"))"
                    }
                    lines.append(text)
                }
            }
            // Over steps, per size.
            for cell in cells {
                var parts: [String] = []
                for metric in RerankerCheckpointMetrics.metricNames {
                    let prefix = "\(metric)@step="
                    let points = cell.metrics.compactMap { m -> (Double, Double)? in
                        guard m.name.hasPrefix(prefix), let s = Double(m.name.dropFirst(prefix.count)) else { return nil }
                        return (s, m.value)
                    }
                    guard let final = points.last else { continue }
                    let early = points.filter { $0.0 <= final.0 / 2 }
                    let key = "\(loss).size\(cell.size).steps.\(metric)"
                    guard early.count >= 4, let law = ScalingLaw.fit(x: early.map(\.0), y: early.map(\.1)) else {
                        parts.append("\(metric) not fitted (\(early.count) checkpoints in the first half, need 4)")
                        continue
                    }
                    let forecast = law.predict(final.0)
                    let isConservative = rises(metric) ? forecast < final.1 : forecast > final.1
                    values.append(("\(key).c", law.c))
                    values.append(("\(key).forecast", forecast))
                    values.append(("\(key).actual", final.1))
                    values.append(("\(key).error", forecast - final.1))
                    parts.append("\(metric) c=\(String(format: "%.3f", law.c)) step \(Int(final.0)) forecast \(format(forecast)) actual \(format(final.1)) (\(isConservative ? "conservative" : "optimistic"))")
                }
                lines.append("  size\(cell.size) over steps: " + parts.joined(separator: "; "))
            }
        }
        values.append(("forecasts", Double(forecasts)))
        values.append(("forecasts.conservative", Double(conservative)))
        lines.append("size forecasts conservative: \(conservative) of \(forecasts)")
        return WorkloadReport(title: "Reranker scaling laws", lines: lines, values: values)
    }
}
