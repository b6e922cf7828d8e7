/// Grouped bar charts (SLA attainment per tier, overhead per mechanism, energy and power; the
/// science section's knockout bars and conditions per language), with optional
/// confidence-interval whiskers. Bars rise from zero, or fall from it for negative values.

/// One bar: its value, an optional interval (low, high) and the text printed above it,
/// one line each (a share over its counts, say), so neighbouring labels do not collide.
struct Bar {
    var value: Double
    var interval: (low: Double, high: Double)?
    var text: [String]
    /// Shown on hover (an SVG `<title>`): for bars too narrow for their text.
    var tooltip: String? = nil
}

/// Bars side by side under one category label; `bars[i]` belongs to series i (nil: no value).
struct BarGroup {
    var label: String
    var bars: [Bar?]
}

struct BarChart {
    var frame = ChartFrame.full
    var label: String
    /// What the groups are (the x-axis title), such as "SLA tier".
    var groupTitle: String
    var y: Axis
    var groups: [BarGroup]
    /// One per series, in series order; colours the bars too.
    var legend: [LegendEntry]
    /// Each series' key, written into its bars' `seriesAttribute` (run ids: `data-run`).
    var seriesKeys: [String]
    var seriesAttribute = "data-run"
    /// Goal targets, each across the group it names (nil: the whole chart); `GoalLine.axis` is y.
    var goals: [(group: Int?, line: GoalLine)] = []

    func svg() -> String {
        let groupWidth = frame.plotWidth / Double(max(1, groups.count))
        let barWidth = min(56, groupWidth * 0.78 / Double(max(1, legend.count)))
        var body = ""
        var labels: [(label: String, x: Double)] = []
        if case let .linear(lower, _) = y.scale, lower < 0 {
            // Bars of either sign: a baseline at zero.
            let zero = fixed(frame.y(y.scale.fraction(0)), 1)
            body += "<line class=\"zero\" x1=\"\(fixed(frame.left, 1))\" y1=\"\(zero)\" x2=\"\(fixed(frame.width - frame.right, 1))\" "
                + "y2=\"\(zero)\" stroke=\"#333333\" stroke-width=\"1\"/>\n"
        }
        for (g, group) in groups.enumerated() {
            let centre = frame.left + groupWidth * (Double(g) + 0.5)
            labels.append((group.label, centre))
            let first = centre - barWidth * Double(legend.count) / 2
            for (s, bar) in group.bars.enumerated() {
                guard let bar else { continue }
                let x = first + barWidth * Double(s) + 2
                let end = frame.y(y.scale.fraction(bar.value)), zero = frame.y(y.scale.fraction(0))
                let top = min(end, zero)
                let key = "\(seriesAttribute)=\"\(escaped(seriesKeys[s]))\""
                let close = bar.tooltip.map { "><title>\(escaped($0))</title></rect>" } ?? "/>"
                body += """
                    <rect class="bar" \(key) data-group="\(escaped(group.label))" x="\(fixed(x, 1))" \
                    y="\(fixed(top, 1))" width="\(fixed(barWidth - 4, 1))" height="\(fixed(abs(zero - end), 1))" \
                    fill="\(legend[s].colour)"\(close)

                    """
                var textY = top
                if let interval = bar.interval {
                    let mid = x + (barWidth - 4) / 2
                    let low = frame.y(y.scale.fraction(interval.low)), high = frame.y(y.scale.fraction(interval.high))
                    textY = high
                    body += """
                        <path class="interval" \(key) d="M\(fixed(mid, 1)),\(fixed(low, 1)) V\(fixed(high, 1)) \
                        M\(fixed(mid - 5, 1)),\(fixed(low, 1)) H\(fixed(mid + 5, 1)) M\(fixed(mid - 5, 1)),\(fixed(high, 1)) \
                        H\(fixed(mid + 5, 1))" fill="none" stroke="#222222" stroke-width="1.5"/>

                        """
                }
                body += valueText(bar.text, x: x + (barWidth - 4) / 2, above: textY)
            }
        }
        for goal in goals {
            let py = frame.y(y.scale.fraction(goal.line.value))
            let from = goal.group.map { frame.left + groupWidth * Double($0) } ?? frame.left
            let to = goal.group.map { frame.left + groupWidth * Double($0 + 1) } ?? frame.left + frame.plotWidth
            // Below its line: above it sit the bars' value labels when a bar reaches the target.
            body += GoalLine.svg(path: "M\(fixed(from, 1)),\(fixed(py, 1)) H\(fixed(to, 1))", label: goal.line.label, x: from + 4, y: py + GoalLine.rowHeight)
        }
        return SVGDocument(frame: frame, label: label, x: nil, y: y, legend: legend).render(body: body, categories: (labels, groupTitle))
    }

    /// Lines of text stacked upwards from just above `above`, the last line lowest.
    private func valueText(_ lines: [String], x: Double, above: Double) -> String {
        lines.reversed().enumerated().map { i, line in
            """
            <text class="bar-value" x="\(fixed(x, 1))" y="\(fixed(above - 5 - 13 * Double(i), 1))" text-anchor="middle" \
            font-size="11" fill="#222222">\(escaped(line))</text>

            """
        }.joined()
    }
}
