/// Line charts (CDFs and step-shaped time series): one SVG polyline per series.
import Foundation

/// One line of a chart, in data coordinates. `kind` and `run` become the polyline's class and
/// data-run attribute, so tests and stylesheets can find a run's line.
struct LineSeries {
    var kind: String
    var run: Int64
    var colour: String
    var dashed: Bool
    var points: [(x: Double, y: Double)]
    var width = 2.0
}

/// A scenario goal drawn on a chart: a black dashed line at the target, labelled with the
/// goal, vertical for a goal on the x axis (a JCT), horizontal for one on the y axis.
struct GoalLine {
    enum Axis { case x, y }
    var axis: Axis
    var value: Double
    var label: String
}

struct LineChart {
    var frame = ChartFrame.full
    var label: String
    var x: Axis
    var y: Axis
    var series: [LineSeries]
    var legend: [LegendEntry]
    var goals: [GoalLine] = []

    func svg() -> String {
        var body = ""
        for line in series {
            let pixels = Self.thinned(columns: Int(frame.plotWidth), line.points.map {
                (frame.x(x.scale.fraction($0.x)), frame.y(y.scale.fraction($0.y)))
            })
            let points = pixels.map { "\(fixed($0.0, 1)),\(fixed($0.1, 1))" }.joined(separator: " ")
            let dash = line.dashed ? " stroke-dasharray=\"6 3\"" : ""
            body += """
                <polyline class="series \(line.kind)" data-run="\(line.run)" points="\(points)" fill="none" \
                stroke="\(line.colour)" stroke-width="\(fixed(line.width, 1))" stroke-linejoin="round"\(dash)/>

                """
        }
        // Several goals on one axis (jct.p50, jct.mean, jct.max) would print their labels on
        // top of each other: each label of an axis gets its own row.
        var rows = (x: 0, y: 0)
        for goal in goals {
            let path: String, textX: Double, textY: Double
            let row = goal.axis == .x ? rows.x : rows.y
            if goal.axis == .x { rows.x += 1 } else { rows.y += 1 }
            switch goal.axis {
            case .x:
                let px = frame.x(x.scale.fraction(goal.value))
                path = "M\(fixed(px, 1)),\(fixed(frame.plotBottom, 1)) V\(fixed(frame.top, 1))"
                (textX, textY) = (px + 4, frame.top + 12 + GoalLine.rowHeight * Double(row))
            case .y:
                let py = frame.y(y.scale.fraction(goal.value))
                path = "M\(fixed(frame.left, 1)),\(fixed(py, 1)) H\(fixed(frame.left + frame.plotWidth, 1))"
                // Alternate ends of the line, so labels of close lines do not overlap.
                (textX, textY) = (row % 2 == 0 ? frame.left + 4 : frame.left + frame.plotWidth - 4, py - 4)
            }
            // A label near the right edge goes to the left of its line, so it is not cut off.
            let flip = textX > frame.left + frame.plotWidth * 0.7
            body += GoalLine.svg(path: path, label: goal.label, x: flip ? textX - 8 : textX, y: textY, anchor: flip ? "end" : "start")
        }
        return SVGDocument(frame: frame, label: label, x: x, y: y, legend: legend).render(body: body)
    }

    /// Keeps at most four points per pixel column (the first, the lowest and highest in
    /// their order, the last), so a series of 100,000 steps draws the same shape in a few
    /// thousand points. Short series pass through unchanged.
    static func thinned(columns: Int, _ points: [(Double, Double)]) -> [(Double, Double)] {
        guard points.count > 4 * columns else { return points }
        var out: [(Double, Double)] = []
        var start = 0
        while start < points.count {
            let column = floor(points[start].0)
            var end = start
            while end < points.count, floor(points[end].0) == column { end += 1 }
            let group = points[start..<end]
            if group.count <= 4 {
                out += group
            } else {
                // SVG y grows downwards: the smallest y is the highest value.
                let high = group.indices.min { group[$0].1 < group[$1].1 }!
                let low = group.indices.max { group[$0].1 < group[$1].1 }!
                let keep = [start, min(high, low), max(high, low), end - 1]
                for (i, index) in keep.enumerated() where i == 0 || index != keep[i - 1] { out.append(points[index]) }
            }
            start = end
        }
        return out
    }
}

extension GoalLine {
    /// Pixels between stacked labels (11 px text).
    static let rowHeight = 13.0

    /// The line and its label, in pixels. The label has a white halo, so it stays legible
    /// over bars, their value labels and series.
    static func svg(path: String, label: String, x: Double, y: Double, anchor: String = "start") -> String {
        """
        <path class="goal" d="\(path)" fill="none" stroke="#000000" stroke-width="1.5" stroke-dasharray="4 3"/>
        <text class="goal-label" x="\(fixed(x, 1))" y="\(fixed(y, 1))" font-size="11" fill="#000000" stroke="#ffffff" stroke-width="3" paint-order="stroke" text-anchor="\(anchor)">goal: \(escaped(label))</text>

        """
    }
}
