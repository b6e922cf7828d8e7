/// The report's science section: for each run with real workloads, each kind's figures drawn
/// from what the run stored (`WorkloadResults`: every job's metrics and each kind's analysis
/// values), never recomputed. A figure whose data is absent is left out, never drawn empty;
/// value names a drawing does not know are ignored, so analyses can add values freely.
///
/// Extension point: a kind is drawn by one `ScienceDrawing` in `ScienceCharts.drawings`. To
/// draw a new kind, write `static let <kind>: ScienceDrawing` in an extension (see
/// ScienceCharts+Reranker.swift and its neighbours), add it to `drawings`, and build its
/// figures from `ScatterChart` (points, labels, curves), `Heatmap` (a grid of values) or
/// `BarChart` (grouped bars; `ScienceCharts.groupedBars` makes one from values by group and
/// series, as the `vlm-meme` drawing does).
import Foundation

/// One figure of a workload's science: a heading, a caption, and its charts (one, or several
/// shown side by side).
struct ScienceFigure {
    var title: String
    var caption: String
    var charts: [String]
}

/// How one workload kind's stored results become figures.
struct ScienceDrawing: Sendable {
    /// The workload kind, as in `WorkloadResults.Job.kind` and `WorkloadResults.Analysis.kind`.
    var kind: String
    /// The section's heading (`Reranker scaling laws`).
    var title: String
    /// The kind's figures from its jobs (in scenario order) and its analysis (nil: none
    /// stored); empty when nothing can be drawn, and then the kind gets no section.
    var figures: @Sendable (_ jobs: [WorkloadResults.Job], _ analysis: WorkloadResults.Analysis?) -> [ScienceFigure]
}

enum ScienceCharts {
    /// Every kind the report can draw, in the order their sections appear.
    static let drawings: [ScienceDrawing] = [reranker, eci, rag, vlmMeme]

    /// The science of every run that stored real workloads, in one `div.science`: per run and
    /// kind, a heading, the figures, and the analysis as text; "" when no run has any.
    static func section(_ runs: [ReportRun]) -> String {
        let body = runs.map(section).joined()
        return body.isEmpty ? "" : "<div class=\"science\" id=\"science\">\n" + body + "</div>\n"
    }

    /// One run's science: "" when it stored no real workloads, or none that can be drawn.
    static func section(_ run: ReportRun) -> String {
        var out = ""
        if let workloads = run.workloads {
            for drawing in drawings {
                let jobs = workloads.jobs.filter { $0.kind == drawing.kind }
                let analysis = workloads.analyses.first { $0.kind == drawing.kind }
                guard !jobs.isEmpty || analysis != nil else { continue }
                let figures = drawing.figures(jobs, analysis)
                guard !figures.isEmpty else { continue }
                out += "<h2>\(escaped(drawing.title)) (run \(run.info.id))</h2>\n"
                let stored = "number below was computed by the run and stored with it."
                let caption = jobs.isEmpty ? "Every " + stored
                    : "\(jobs.count) real job\(jobs.count == 1 ? "" : "s") of kind \(escaped(drawing.kind)), "
                        + "\(jobs.filter(\.identical).count) of them identical to an uninterrupted run; every " + stored
                out += "<p class=\"caption\">\(caption)</p>\n"
                for figure in figures {
                    out += "<h3>\(escaped(figure.title))</h3>\n<p class=\"caption\">\(escaped(figure.caption))</p>\n"
                    out += figure.charts.count == 1 ? figure.charts[0] : "<div class=\"pair\">\n" + figure.charts.joined() + "</div>\n"
                }
                if let analysis, !analysis.lines.isEmpty {
                    out += "<details><summary>\(escaped(analysis.title)): the analysis as text</summary>\n"
                        + "<pre>\(escaped(analysis.lines.joined(separator: "\n")))</pre></details>\n"
                }
            }
        }
        return out
    }

    /// A grouped bar chart from values by group and series (`values[group][series]`, nil: no
    /// bar), each bar labelled with its value when it is wide enough for the text and with a
    /// hover text always. Groups and series appear in the order given; nil when no value exists.
    static func groupedBars(label: String, groupTitle: String, valueTitle: String, groups: [String], series: [String],
                            values: [[Double?]], decimals: Int = 3, percent: Bool = false,
                            frame: ChartFrame = .full) -> String? {
        let all = values.joined().compactMap { $0 }
        guard let low = all.min(), let high = all.max() else { return nil }
        let scale = percent ? 100.0 : 1
        func text(_ v: Double) -> String { fixed(v * scale, decimals) + (percent ? "%" : "") }
        let groupWidth = frame.plotWidth / Double(max(1, groups.count))
        let roomy = groupWidth * 0.78 / Double(max(1, series.count)) >= 7 * Double(decimals + 3)
        let bars = zip(groups, values).map { group, row in
            BarGroup(label: group, bars: series.indices.map { s in
                (s < row.count ? row[s] : nil).map { Bar(value: $0, interval: nil, text: roomy ? [text($0)] : [],
                                                         tooltip: "\(group), \(series[s]): \(text($0))") }
            })
        }
        let legend = series.indices.map { LegendEntry(label: series[$0], colour: Palette.bar($0), dashed: false, marker: .square) }
        let y = Axes.span(low, high, title: valueTitle, includeZero: true, divisor: 1 / scale, suffix: percent ? "%" : "")
        return BarChart(frame: frame, label: label, groupTitle: groupTitle, y: y, groups: bars, legend: legend,
                        seriesKeys: series, seriesAttribute: "data-series").svg()
    }

    /// Analysis values whose names split at dots into exactly `parts` parts, as (parts, value),
    /// in name order.
    static func values(_ analysis: WorkloadResults.Analysis?, parts: Int) -> [(parts: [String], value: Double)] {
        guard let analysis else { return [] }
        return analysis.values.keys.sorted().compactMap { name in
            let split = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            return split.count == parts ? (split, analysis.values[name]!) : nil
        }
    }

    /// `known` names that occur, in that order, then the others found, sorted.
    static func ordered(_ found: some Sequence<String>, known: [String]) -> [String] {
        let set = Set(found)
        return known.filter(set.contains) + set.subtracting(known).sorted()
    }

    /// `size3` as 3; nil for anything else.
    static func index(_ part: String, after prefix: String) -> Int? {
        part.hasPrefix(prefix) ? Int(part.dropFirst(prefix.count)) : nil
    }
}
