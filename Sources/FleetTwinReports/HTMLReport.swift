/// The self-contained HTML report: inline CSS and SVG, no scripts, no network, so it opens
/// offline. It is also well-formed XML (tests parse it). The same runs always give the same
/// bytes: nothing iterates a dictionary unsorted and nothing prints a clock.
import FleetTwinMetrics
import Foundation

public enum HTMLReport {
    public static func render(_ data: ReportData) -> String {
        let charts = ReportCharts(runs: data.runs)
        let ids = data.runs.map { String($0.info.id) }.joined(separator: ", ")
        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8"/>
            <title>FleetTwin report: run\(data.runs.count == 1 ? "" : "s") \(ids)</title>
            <style>\(stylesheet)</style>
            </head>
            <body>
            <h1>FleetTwin report</h1>

            """
        html += runsTable(data.runs)
        html += section("Job completion time", caption: """
            Share of completed jobs whose completion time (submit to end) is at most the time on the x axis. \
            Further left is better; decades on a log scale, dashed lines mark a minute, an hour and a day.
            """, charts.jctCDF(), otherwise: "No run completed a job.")
        let hasGoodput = data.runs.contains { $0.info.metrics["goodput_utilization"] != nil }
        html += section(hasGoodput ? "Utilization and goodput over time" : "Utilization over time", caption: """
            Share of the fleet's accelerators allocated to jobs in each interval of simulated time\
            \(hasGoodput ? "; dashed: the run's goodput utilization (useful work), its mean over the run" : "").
            """, charts.utilization(), otherwise: "No utilization series is stored.")
        html += section("Queue length over time", caption: """
            Jobs submitted (or preempted) and not yet (re)started, after \
            all events of each instant.
            """, charts.queueLength(), otherwise: nil)
        html += missingEventLogNote(data.runs)
        if let chart = charts.slaAttainment() {
            html += section("SLA attainment per tier", caption: """
                Share of each tier's jobs that met their SLA; whiskers: 95% Wilson score interval on the job counts.
                """, chart, otherwise: nil)
        }
        if let chart = charts.overheadByMechanism() {
            html += section("Overhead by mechanism", caption: "Time spent in each mechanism over the whole run.",
                            chart, otherwise: nil)
        }
        let energy = charts.energyAndPower()
        if !energy.isEmpty {
            html += section("Energy and power", caption: "Accelerator energy over the run and power drawn.",
                            "<div class=\"pair\">\n" + energy.joined() + "</div>\n", otherwise: nil)
        }
        html += ScienceCharts.section(data.runs)
        html += goalsTable(data.runs)
        html += metricsTable(data.runs)
        html += scenarios(data.runs)
        html += "</body>\n</html>\n"
        return html
    }

    static let stylesheet = """

        body { font-family: sans-serif; color: #111111; max-width: 960px; margin: 24px auto; padding: 0 12px; }
        h1 { font-size: 26px; margin-bottom: 8px; }
        h2 { font-size: 20px; margin-top: 32px; border-bottom: 1px solid #cccccc; padding-bottom: 4px; }
        h3 { font-size: 16px; margin: 20px 0 4px; }
        summary { font-size: 14px; color: #333333; cursor: pointer; }
        p.caption, p.note { color: #333333; font-size: 14px; }
        p.note { background: #fff4e0; border-left: 4px solid #E69F00; padding: 6px 10px; }
        table { border-collapse: collapse; font-size: 14px; margin: 8px 0; }
        th, td { border: 1px solid #d0d0d0; padding: 4px 8px; text-align: right; }
        th:first-child, td:first-child, th.text, td.text { text-align: left; }
        thead th { background: #f2f2f2; }
        pre { background: #f7f7f7; border: 1px solid #dddddd; padding: 10px; font-size: 12px; overflow-x: auto; }
        svg.chart { display: block; margin: 8px 0; }
        div.pair { display: flex; flex-wrap: wrap; gap: 8px; }
        .swatch { display: inline-block; width: 14px; height: 14px; vertical-align: middle; margin-right: 6px; }

        """

    static func section(_ title: String, caption: String, _ content: String?, otherwise: String?) -> String {
        guard content != nil || otherwise != nil else { return "" }
        var out = "<h2>\(escaped(title))</h2>\n<p class=\"caption\">\(escaped(caption))</p>\n"
        out += content ?? "<p class=\"note\">\(escaped(otherwise!))</p>\n"
        return out
    }

    static func missingEventLogNote(_ runs: [ReportRun]) -> String {
        let without = runs.filter { $0.queueLength == nil }.map { "run \($0.info.id)" }
        guard !without.isEmpty else { return "" }
        let heading = without.count == runs.count ? "<h2>Queue length over time</h2>\n" : ""
        return heading + "<p class=\"note\">\(escaped(without.joined(separator: ", "))) "
            + "\(without.count == 1 ? "was" : "were") stored without an event log (outputs.event_log: false): "
            + "no queue length to draw. Rerun with event_log: true to see it.</p>\n"
    }

    static func runsTable(_ runs: [ReportRun]) -> String {
        var out = """
            <table class="runs">
            <thead><tr><th>run</th><th class="text">scenario</th><th class="text">policy</th><th>seed</th>\
            <th class="text">status</th><th>jobs completed</th><th>accelerators</th><th class="text">FleetTwin</th>\
            <th class="text">event log hash</th></tr></thead>
            <tbody>

            """
        for (index, run) in runs.enumerated() {
            let info = run.info
            let completed = info.metrics["jobs_completed"].map { String(Int64($0)) } ?? "–"
            let submitted = info.metrics["jobs_submitted"].map { String(Int64($0)) } ?? "–"
            out += """
                <tr><td><span class="swatch" style="background: \(Palette.colour(index))"></span>\(info.id)</td>\
                <td class="text">\(escaped(info.scenario))</td><td class="text">\(escaped(info.policy))</td><td>\(info.seed)</td>\
                <td class="text">\(escaped(info.status))</td><td>\(completed) of \(submitted)</td><td>\(info.capacity)</td>\
                <td class="text">\(escaped(info.version))</td><td class="text">\(escaped(info.eventLogHash))</td></tr>

                """
        }
        return out + "</tbody>\n</table>\n"
    }

    /// Each goal of the runs' scenarios, one column per run: the run's verdict and value.
    /// Dashed black lines on the charts mark the targets.
    static func goalsTable(_ runs: [ReportRun]) -> String {
        let goals = ReportCharts(runs: runs).goals
        guard !goals.isEmpty else { return "" }
        var out = "<h2>Goals</h2>\n<p class=\"caption\">Each run against the goals its scenario states; the charts mark "
            + "the targets with dashed black lines. Over several seeds, `fleettwin compare` judges with 95% intervals.</p>\n"
        out += "<table class=\"goals\">\n<thead><tr><th>goal</th>" + runs.map { "<th>run \($0.info.id)</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for goal in goals {
            out += "<tr><td>\(escaped(goal.text))</td>"
            out += runs.map { run in
                guard let stored = run.goals.first(where: { $0.goal.text == goal.text }) else { return "<td>–</td>" }
                let verdict = GoalVerdict(goal, values: [stored.value])
                let value = stored.value.map { goal.metric.unit.format($0) } ?? "no value"
                return "<td class=\"\(verdict.verdict.rawValue)\">\(verdict.verdict.rawValue) (\(escaped(value)))</td>"
            }.joined()
            out += "</tr>\n"
        }
        return out + "</tbody>\n</table>\n"
    }

    static func metricsTable(_ runs: [ReportRun]) -> String {
        let names = MetricFormat.ordered(runs.flatMap { $0.info.metrics.keys })
        var out = "<h2>Headline metrics</h2>\n<table class=\"metrics\">\n<thead><tr><th>metric</th>"
        out += runs.map { "<th>run \($0.info.id)</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for name in names {
            out += "<tr><td>\(escaped(MetricFormat.label(name)))</td>"
            out += runs.map { run in "<td>\(run.info.metrics[name].map { escaped(MetricFormat.format(name, $0)) } ?? "–")</td>" }
                .joined()
            out += "</tr>\n"
        }
        return out + "</tbody>\n</table>\n"
    }

    /// Each distinct scenario once (by content hash), with the runs that used it.
    static func scenarios(_ runs: [ReportRun]) -> String {
        var out = "<h2>Scenario\(Set(runs.map(\.info.scenarioHash)).count == 1 ? "" : "s")</h2>\n"
        var shown: [String] = []
        for run in runs where !shown.contains(run.info.scenarioHash) {
            shown.append(run.info.scenarioHash)
            // The file's seed may have been overridden (`run --seed`): name each run's own.
            let users = runs.filter { $0.info.scenarioHash == run.info.scenarioHash }.map { "\($0.info.id) (seed \($0.info.seed))" }
            out += "<p class=\"caption\"><strong>\(escaped(run.info.scenario))</strong> from \(escaped(run.info.scenarioFile)) "
                + "(content hash \(escaped(run.info.scenarioHash))), used by run\(users.count == 1 ? "" : "s") "
                + "\(users.joined(separator: ", ")):</p>\n"
            out += "<pre>\(escaped(run.scenarioText))</pre>\n"
        }
        return out
    }
}
