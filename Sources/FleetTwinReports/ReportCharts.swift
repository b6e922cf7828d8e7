/// The report's charts, each built from `ReportData` alone. Charts of metrics that only some
/// versions store (SLA attainment, overhead, energy, goodput) return nil when no run has them.
import FleetTwinMetrics
import Foundation

struct ReportCharts {
    var runs: [ReportRun]

    var legend: [LegendEntry] {
        runs.indices.map { LegendEntry(label: runs[$0].info.label, colour: Palette.colour($0), dashed: Palette.dashed($0)) }
    }

    /// Run ids as series keys (the `data-run` attributes of bars).
    var runKeys: [String] { runs.map { String($0.info.id) } }

    func line(_ kind: String, _ index: Int, _ points: [(x: Double, y: Double)], width: Double = 2) -> LineSeries {
        LineSeries(kind: kind, run: runs[index].info.id, colour: Palette.colour(index), dashed: Palette.dashed(index),
                   points: points, width: width)
    }

    /// Empirical CDF of job completion time, one step line per run: two points per distinct
    /// completion time (the fraction just below it and at it).
    static func cdfPoints(_ completionTimes: [Double]) -> [(x: Double, y: Double)] {
        let sorted = completionTimes.sorted()
        let n = Double(sorted.count)
        var points: [(x: Double, y: Double)] = []
        var below = 0.0
        var i = 0
        while i < sorted.count {
            var j = i
            while j < sorted.count, sorted[j] == sorted[i] { j += 1 }
            points.append((sorted[i], below / n))
            below = Double(j)
            points.append((sorted[i], below / n))
            i = j
        }
        return points
    }

    /// Each distinct goal of the runs (by text), in the order they first appear.
    var goals: [Goal] {
        var seen: [String] = [], out: [Goal] = []
        for run in runs {
            for stored in run.goals where !seen.contains(stored.goal.text) {
                seen.append(stored.goal.text)
                out.append(stored.goal)
            }
        }
        return out
    }

    func goalLines(_ axis: GoalLine.Axis, where include: (GoalMetric) -> Bool) -> [GoalLine] {
        goals.filter { include($0.metric) }.map { GoalLine(axis: axis, value: $0.target, label: $0.text) }
    }

    func jctCDF() -> String? {
        let all = runs.flatMap(\.completionTimes)
        let lines = goalLines(.x) { if case .jct = $0 { true } else { false } }
        // The axis reaches every JCT goal's target, so its line is drawn where it belongs.
        guard let low = (all + lines.map(\.value).filter { $0 > 0 }).min(), let high = (all + lines.map(\.value)).max(),
              !all.isEmpty else { return nil }
        return LineChart(
            label: "Cumulative distribution of job completion time per run",
            x: Axes.logTime(from: low, to: high, title: "job completion time, submit to end (seconds, log scale)"),
            y: Axes.percent(title: "completed jobs at or below (%)"),
            series: runs.indices.map { line("cdf", $0, Self.cdfPoints(runs[$0].completionTimes)) },
            legend: legend, goals: lines).svg()
    }

    /// The latest instant any time series reaches, for a shared time axis.
    var timeEnd: Double {
        runs.map { max($0.utilizationEnd, $0.queueLength?.last?.time ?? 0) }.max() ?? 0
    }

    /// Allocated fraction per bucket as steps; a dashed line at the run's goodput
    /// utilization when that metric is stored.
    func utilization() -> String? {
        guard runs.contains(where: { !$0.utilization.isEmpty }) else { return nil }
        var series: [LineSeries] = []
        var entries = legend
        for (index, run) in runs.enumerated() where !run.utilization.isEmpty {
            var points: [(x: Double, y: Double)] = []
            for (b, bucket) in run.utilization.enumerated() {
                let end = b + 1 < run.utilization.count ? run.utilization[b + 1].time : run.utilizationEnd
                points += [(bucket.time, bucket.value), (end, bucket.value)]
            }
            series.append(line("utilization", index, points))
            if let goodput = run.info.metrics["goodput_utilization"] {
                var mean = line("goodput", index, [(run.utilization[0].time, goodput), (run.utilizationEnd, goodput)], width: 1.5)
                mean.dashed = true
                series.append(mean)
                entries.append(LegendEntry(label: "run \(run.info.id) goodput (run mean)", colour: Palette.colour(index), dashed: true))
            }
        }
        return LineChart(label: "Utilization over simulated time per run", x: Axes.time(upTo: timeEnd, title: "simulated time"),
                         y: Axes.percent(title: "accelerators allocated (%)"), series: series, legend: entries,
                         goals: goalLines(.y) { $0 == .utilization || $0 == .goodputUtilization }).svg()
    }

    /// Jobs waiting over time, as steps; nil when no run has its event log stored.
    func queueLength() -> String? {
        let withEvents = runs.indices.filter { runs[$0].queueLength?.isEmpty == false }
        guard !withEvents.isEmpty else { return nil }
        let highest = withEvents.flatMap { runs[$0].queueLength!.map(\.length) }.max() ?? 0
        let series = withEvents.map { index in
            let queue = runs[index].queueLength!
            var points: [(x: Double, y: Double)] = []
            for (i, point) in queue.enumerated() {
                points.append((point.time, Double(point.length)))
                if i + 1 < queue.count { points.append((queue[i + 1].time, Double(point.length))) }
            }
            return line("queue", index, points)
        }
        return LineChart(label: "Jobs waiting over simulated time per run", x: Axes.time(upTo: timeEnd, title: "simulated time"),
                         y: Axes.linear(upTo: max(1, Double(highest)), title: "jobs waiting (count)"),
                         series: series, legend: withEvents.map { legend[$0] }).svg()
    }
}
