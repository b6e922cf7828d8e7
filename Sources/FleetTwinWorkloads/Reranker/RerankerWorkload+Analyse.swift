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
                    let quality = FitQuality(actual: ys, predicted: xs.map(law.predict))
                    values.append(("\(loss).\(metric).r2", quality.rSquared ?? .nan))
                    values.append(("\(loss).\(metric).rmse_log", quality.logRMSE ?? .nan))
                    var text = "  \(metric): \(formatLaw(law)) R²=\(quality.rSquared.map { String(format: "%.3f", $0) } ?? "-")"
                        + " logRMSE=\(quality.logRMSE.map { String(format: "%.4f", $0) } ?? "-")"
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
        for loss in losses {
            let group = jobs.filter { $0.spec.options["loss"] ?? "ranknet" == loss }
            guard !group.isEmpty else { continue }
            let joint = jointLaws(loss: loss, cells: cells(group))
            lines += joint.lines; values += joint.values
            let seeds = seedAnalysis(loss: loss, group)
            lines += seeds.lines; values += seeds.values
        }
        return WorkloadReport(title: "Reranker scaling laws", lines: lines, values: values)
    }

    /// The checkpoints of a cell for one metric: (step, value), steps > 0, in step order.
    static func curve(_ cell: Cell, _ metric: String) -> [(step: Double, value: Double)] {
        let prefix = "\(metric)@step="
        return cell.metrics.compactMap { m in
            guard m.name.hasPrefix(prefix), let s = Double(m.name.dropFirst(prefix.count)), s > 0 else { return nil }
            return (s, m.value)
        }
    }

    /// The joint law y = a + b N^alpha + d S^beta per metric, fitted on every checkpoint of
    /// the four smallest sizes and forecasting every checkpoint of the larger ones.
    ///
    /// Values (LOSS.joint.METRIC.): `a`, `b`, `alpha`, `d`, `beta`, `r2`, `rmse_log` (on the
    /// fitted points), `forecast.size<s>` / `error.size<s>` (final checkpoint, forecast minus
    /// actual), `heldout.rmse` and `heldout.rmse_log` (every checkpoint of the held-out sizes).
    static func jointLaws(loss: String, cells: [Cell]) -> (lines: [String], values: [(name: String, value: Double)]) {
        var lines: [String] = [], values: [(name: String, value: Double)] = []
        guard cells.count >= 4 else { return (["  [\(loss)] joint law: needs 4 sizes, have \(cells.count)"], []) }
        let fitCells = Array(cells.prefix(4)), held = Array(cells.dropFirst(4))
        for metric in RerankerCheckpointMetrics.metricNames {
            var ns: [Double] = [], ss: [Double] = [], ys: [Double] = []
            for cell in fitCells { for point in curve(cell, metric) { ns.append(cell.parameters); ss.append(point.step); ys.append(point.value) } }
            let key = "\(loss).joint.\(metric)"
            guard let law = JointScalingLaw.fit(parameters: ns, steps: ss, y: ys) else {
                lines.append("  [\(loss)] joint \(metric): no fit (\(ys.count) checkpoints)")
                continue
            }
            let quality = FitQuality(actual: ys, predicted: zip(ns, ss).map { law.predict(parameters: $0, steps: $1) })
            values += [("\(key).a", law.a), ("\(key).b", law.b), ("\(key).alpha", law.alpha), ("\(key).d", law.d),
                       ("\(key).beta", law.beta), ("\(key).r2", quality.rSquared ?? .nan), ("\(key).rmse_log", quality.logRMSE ?? .nan)]
            var text = "  [\(loss)] joint \(metric): y = \(format(law.a)) + \(String(format: "%.4g", law.b))*N^\(String(format: "%.3f", law.alpha))"
                + " + \(String(format: "%.4g", law.d))*S^\(String(format: "%.3f", law.beta)); fit R²=\(quality.rSquared.map { String(format: "%.3f", $0) } ?? "-")"
                + " logRMSE=\(quality.logRMSE.map { String(format: "%.4f", $0) } ?? "-")"
            var heldActual: [Double] = [], heldForecast: [Double] = []
            for cell in held {
                let points = curve(cell, metric)
                guard let final = points.last else { continue }
                for p in points { heldActual.append(p.value); heldForecast.append(law.predict(parameters: cell.parameters, steps: p.step)) }
                let forecast = law.predict(parameters: cell.parameters, steps: final.step)
                values.append(("\(key).forecast.size\(cell.size)", forecast))
                values.append(("\(key).error.size\(cell.size)", forecast - final.value))
                text += " | size\(cell.size) final: forecast \(format(forecast)) actual \(format(final.value)) error \(String(format: "%+.4f", forecast - final.value))"
            }
            if !heldActual.isEmpty {
                let heldQuality = FitQuality(actual: heldActual, predicted: heldForecast)
                var squares = 0.0
                for (a, f) in zip(heldActual, heldForecast) { squares += (f - a) * (f - a) }
                let rmse = (squares / Double(heldActual.count)).squareRoot()
                values.append(("\(key).heldout.rmse", rmse))
                values.append(("\(key).heldout.rmse_log", heldQuality.logRMSE ?? .nan))
                text += " | held-out checkpoints RMSE \(format(rmse))"
            }
            lines.append(text)
        }
        return (lines, values)
    }

    /// The claims over seeds for one loss (a seed's jobs are those with that seed): per seed,
    /// the size law on the seed's four smallest sizes and its nDCG@10 forecast errors, the
    /// size gain (largest minus smallest nDCG@10), and the joint law's nDCG@10 held-out RMSE;
    /// then mean ± 95% interval over seeds and verdicts: "larger models rank better" needs the
    /// gain's interval above 0; "size forecasts are conservative" (the paper: forecasts fall
    /// below the actual) needs every held-out size's error interval below 0. Needs 2+ seeds
    /// with every size.
    ///
    /// Values: `seeds.LOSS.ndcg@10.gain.{mean,ci95,seeds}`, `seeds.LOSS.ndcg@10.error.size<s>.{mean,ci95,seeds}`,
    /// `seeds.LOSS.ndcg@10.r2.{...}`, `seeds.LOSS.joint.ndcg@10.error.size<s>.{...}`,
    /// `seeds.LOSS.joint.ndcg@10.heldout.rmse.{...}`, `seeds.LOSS.claim.larger_ranks_better`,
    /// `seeds.LOSS.claim.forecasts_conservative`, `seeds.LOSS.claim.joint_forecasts_conservative` (1 or 0).
    static func seedAnalysis(loss: String, _ group: [FinishedWorkload]) -> (lines: [String], values: [(name: String, value: Double)]) {
        var seeds: [UInt64] = []
        for job in group where !seeds.contains(job.spec.seed) { seeds.append(job.spec.seed) }
        seeds.sort()
        let perSeed = seeds.map { seed in cells(group.filter { $0.spec.seed == seed }) }
        let sizeCount = perSeed.map(\.count).max() ?? 0
        let complete = perSeed.filter { $0.count == sizeCount }
        guard complete.count >= 2, sizeCount >= 5 else {
            return (["  [\(loss)] over seeds: not analysed (needs 2+ seeds with 5+ sizes each; have \(complete.count) seeds, \(sizeCount) sizes)"], [])
        }
        let metric = "ndcg@10", key = "seeds.\(loss).\(metric)"
        var gains: [Double] = [], r2s: [Double] = [], jointRMSE: [Double] = []
        var errors: [Int: [Double]] = [:], jointErrors: [Int: [Double]] = [:]
        let heldSizes = complete[0].dropFirst(4).map(\.size)
        for cells in complete {
            gains.append((cells.last?.value(metric) ?? 0) - (cells.first?.value(metric) ?? 0))
            let fitCells = Array(cells.prefix(4))
            let xs = fitCells.map(\.parameters), ys = fitCells.map { $0.value(metric) ?? 0 }
            if let law = ScalingLaw.fit(x: xs, y: ys) {
                r2s.append(FitQuality(actual: ys, predicted: xs.map(law.predict)).rSquared ?? 0)
                for cell in cells.dropFirst(4) { errors[cell.size, default: []].append(law.predict(cell.parameters) - (cell.value(metric) ?? 0)) }
            }
        }
        // The joint law's nDCG@10 errors per seed.
        for cells in complete {
            let fitCells = Array(cells.prefix(4))
            var ns: [Double] = [], ss: [Double] = [], ys: [Double] = []
            for cell in fitCells { for p in curve(cell, metric) { ns.append(cell.parameters); ss.append(p.step); ys.append(p.value) } }
            guard let law = JointScalingLaw.fit(parameters: ns, steps: ss, y: ys) else { continue }
            var squares = 0.0, count = 0
            for cell in cells.dropFirst(4) {
                let points = curve(cell, metric)
                for p in points { let e = law.predict(parameters: cell.parameters, steps: p.step) - p.value; squares += e * e; count += 1 }
                if let final = points.last { jointErrors[cell.size, default: []].append(law.predict(parameters: cell.parameters, steps: final.step) - final.value) }
            }
            if count > 0 { jointRMSE.append((squares / Double(count)).squareRoot()) }
        }
        var values: [(name: String, value: Double)] = []
        let gain = SeedInterval(gains), fitR2 = SeedInterval(r2s), rmse = SeedInterval(jointRMSE)
        values += gain.namedValues("\(key).gain")
        values += fitR2.namedValues("\(key).r2")
        values += rmse.namedValues("seeds.\(loss).joint.\(metric).heldout.rmse")
        var lines = ["  [\(loss)] over \(complete.count) seeds (mean ± 95% CI): nDCG@10 gain smallest -> largest \(gain.text(4)); size-law fit R² \(fitR2.text())"
            + "; joint-law held-out RMSE \(rmse.text(4))"]
        var conservative = true, jointConservative = true
        for size in heldSizes {
            let e = SeedInterval(errors[size] ?? []), j = SeedInterval(jointErrors[size] ?? [])
            values += e.namedValues("\(key).error.size\(size)")
            values += j.namedValues("seeds.\(loss).joint.\(metric).error.size\(size)")
            conservative = conservative && e.below(0)
            jointConservative = jointConservative && j.below(0)
            lines.append("    size\(size) nDCG@10 forecast error: size law \(e.text(4)), joint law \(j.text(4))")
        }
        let larger = gain.above(0)
        values.append(("seeds.\(loss).claim.larger_ranks_better", larger ? 1 : 0))
        values.append(("seeds.\(loss).claim.forecasts_conservative", conservative ? 1 : 0))
        values.append(("seeds.\(loss).claim.joint_forecasts_conservative", jointConservative ? 1 : 0))
        lines.append("    claims: larger models rank better \(larger ? "HOLDS" : "does not hold"); size-law forecasts conservative \(conservative ? "HOLD" : "do not hold")"
            + "; joint-law forecasts conservative \(jointConservative ? "HOLD" : "do not hold")")
        return (lines, values)
    }
}
