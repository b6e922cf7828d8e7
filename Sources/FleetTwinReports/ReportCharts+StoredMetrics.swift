/// Charts of metrics that appear in the store only once the simulator computes them (SLA
/// tiers, mechanism overheads, energy and power): drawn when some run has them, else nil.
import Foundation

extension ReportCharts {
    /// Names after `prefix` among every run's metrics: the tiers of `sla_jobs_premium`, say.
    func suffixes(after prefixes: [String]) -> Set<String> {
        var found = Set<String>()
        for run in runs {
            for name in run.info.metrics.keys {
                for prefix in prefixes where name.hasPrefix(prefix) && name.count > prefix.count {
                    found.insert(String(name.dropFirst(prefix.count)))
                }
            }
        }
        return found
    }

    /// SLA attainment per tier, highest tier first. With `sla_jobs_<tier>` and
    /// `sla_met_<tier>` stored, the bar is met/jobs with a 95% Wilson score interval; with
    /// only `sla_attainment_<tier>`, the bar has no interval.
    func slaAttainment() -> String? {
        let found = suffixes(after: ["sla_attainment_", "sla_jobs_", "sla_met_"])
        guard !found.isEmpty else { return nil }
        let known = ["premium", "standard", "basic"].filter(found.contains)
        let tiers = known + found.subtracting(known).sorted()
        let groups = tiers.map { tier in
            BarGroup(label: tier, bars: runs.map { run -> Bar? in
                let m = run.info.metrics
                if let jobs = m["sla_jobs_\(tier)"], let met = m["sla_met_\(tier)"], jobs > 0 {
                    let share = met / jobs
                    return Bar(value: share, interval: WilsonInterval(successes: met, trials: jobs).map { ($0.low, $0.high) },
                               text: ["\(fixed(share * 100, 1))%", "\(Int64(met))/\(Int64(jobs))"])
                }
                return m["sla_attainment_\(tier)"].map { Bar(value: $0, interval: nil, text: ["\(fixed($0 * 100, 1))%"]) }
            })
        }
        let lines = goals.compactMap { goal -> (group: Int?, line: GoalLine)? in
            guard case .sla(let tier) = goal.metric, let group = tiers.firstIndex(of: tier.rawValue) else { return nil }
            return (group, GoalLine(axis: .y, value: goal.target, label: goal.text))
        }
        return BarChart(label: "SLA attainment per tier with 95% Wilson score intervals", groupTitle: "SLA tier",
                        y: Axes.percent(title: "jobs meeting their SLA (%)"), groups: groups, legend: legend,
                        seriesKeys: runKeys, goals: lines).svg()
    }

    /// Time spent in each mechanism (checkpoint, restore, ...), from `overhead_seconds_<mechanism>`.
    func overheadByMechanism() -> String? {
        let mechanisms = suffixes(after: ["overhead_seconds_"]).sorted()
        guard !mechanisms.isEmpty else { return nil }
        let values = mechanisms.map { mechanism in runs.map { $0.info.metrics["overhead_seconds_\(mechanism)"] } }
        let highest = values.joined().compactMap { $0 }.max() ?? 0
        let unit = TimeUnit.suiting(highest)
        let groups = zip(mechanisms, values).map { mechanism, perRun in
            BarGroup(label: mechanism, bars: perRun.map { $0.map { Bar(value: $0, interval: nil, text: [duration($0)]) } })
        }
        return BarChart(label: "Overhead by mechanism per run", groupTitle: "mechanism",
                        y: Axes.linear(upTo: max(highest, unit.seconds), title: "overhead (\(unit.name))", divisor: unit.seconds),
                        groups: groups, legend: legend, seriesKeys: runKeys).svg()
    }

    /// Energy and power figures, one chart per stored metric (their units differ).
    func energyAndPower() -> [String] {
        let figures = [("energy_kwh", "energy", "kWh"), ("peak_power_kw", "peak power", "kW"), ("mean_power_kw", "mean power", "kW")]
        return figures.compactMap { name, label, unit in
            let values = runs.map { $0.info.metrics[name] }
            guard let highest = values.compactMap({ $0 }).max() else { return nil }
            let bars = values.map { $0.map { Bar(value: $0, interval: nil, text: ["\(fixed($0, 1)) \(unit)"]) } }
            let lines = goals.filter { $0.metric.name == name }.map { (group: Int?.none, line: GoalLine(axis: .y, value: $0.target, label: $0.text)) }
            let top = max(highest, lines.map(\.line.value).max() ?? 0, 1e-9)
            return BarChart(frame: .half, label: "\(label) per run", groupTitle: "", y: Axes.linear(upTo: top, title: "\(label) (\(unit))"),
                            groups: [BarGroup(label: label, bars: bars)], legend: legend, seriesKeys: runKeys, goals: lines).svg()
        }
    }
}
