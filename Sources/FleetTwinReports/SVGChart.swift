/// Hand-written SVG building blocks shared by the report's charts: plot geometry, linear and
/// log scales, axes with ticks and unit-bearing titles, legends, and a colour-blind-safe
/// palette. Every number is written with fixed decimals, so equal data gives equal bytes.
import Foundation

/// Okabe-Ito colours (yellow left out: too pale on white), in the order runs receive them;
/// after the seventh run the colours repeat with dashed lines.
enum Palette {
    static let colours = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000"]
    static func colour(_ index: Int) -> String { colours[index % colours.count] }
    static func dashed(_ index: Int) -> Bool { index >= colours.count }
    /// Fills for bar charts with more series than `colours` (bars cannot be dashed): then
    /// Okabe-Ito's yellow, grey, and Tol's wine, teal and indigo.
    static let barColours = colours + ["#F0E442", "#999999", "#882255", "#44AA99", "#332288"]
    static func bar(_ index: Int) -> String { barColours[index % barColours.count] }
}

/// A tick or landmark on an axis: a data value and what to print there.
struct Tick: Equatable {
    var value: Double
    var label: String
}

/// Maps data values onto [0, 1] along an axis.
enum AxisScale {
    case linear(lower: Double, upper: Double)
    /// Base-10 log between two powers of ten; values at or below the lower bound clamp to it.
    case log(lowerDecade: Int, upperDecade: Int)

    func fraction(_ value: Double) -> Double {
        switch self {
        case let .linear(lower, upper):
            return upper > lower ? (value - lower) / (upper - lower) : 0
        case let .log(lowerDecade, upperDecade):
            let clamped = max(value, pow(10, Double(lowerDecade)))
            return (log10(clamped) - Double(lowerDecade)) / Double(max(1, upperDecade - lowerDecade))
        }
    }
}

/// An axis: its scale, a title with the unit, labelled ticks, unlabelled minor ticks, and
/// landmarks (dashed reference lines with a label, such as `1 h` on a log time axis).
struct Axis {
    var scale: AxisScale
    var title: String
    var ticks: [Tick]
    var minorTicks: [Double] = []
    var landmarks: [Tick] = []
}

/// One entry of a legend: a line swatch, or the marker it names.
struct LegendEntry {
    var label: String
    var colour: String
    var dashed: Bool
    var marker: Marker.Shape? = nil
    var filled = true
}

/// Pixel geometry of one chart; the legend adds rows below the x-axis title.
struct ChartFrame {
    var width = 920.0
    let left = 78.0, right = 24.0, top = 34.0, plotHeight = 260.0
    let legendRowHeight = 20.0
    /// Full width, and half width for charts shown two to a row.
    static let full = ChartFrame(), half = ChartFrame(width: 456)

    var plotWidth: Double { width - left - right }
    var plotBottom: Double { top + plotHeight }

    /// Legend entries laid out in rows that fit the plot width (about 7 px per character).
    func legendRows(_ entries: [LegendEntry]) -> [[(entry: LegendEntry, x: Double)]] {
        var rows: [[(entry: LegendEntry, x: Double)]] = [[]]
        var x = left
        for entry in entries {
            let itemWidth = 34 + 7.2 * Double(entry.label.count) + 18
            if x + itemWidth > width - right, !rows[rows.count - 1].isEmpty {
                rows.append([])
                x = left
            }
            rows[rows.count - 1].append((entry, x))
            x += itemWidth
        }
        return rows
    }

    func height(legendEntries: [LegendEntry]) -> Double {
        plotBottom + 52 + Double(legendRows(legendEntries).count) * legendRowHeight
    }

    func x(_ fraction: Double) -> Double { left + min(1, max(0, fraction)) * plotWidth }
    func y(_ fraction: Double) -> Double { plotBottom - min(1, max(0, fraction)) * plotHeight }
}

/// Builds the SVG text of one chart around its plot-specific body.
struct SVGDocument {
    var frame: ChartFrame
    var label: String
    var x: Axis?
    var y: Axis
    var legend: [LegendEntry]

    func render(body: String, categories: (labels: [(label: String, x: Double)], title: String)? = nil) -> String {
        var out = Self.opening(label: label, width: frame.width, height: frame.height(legendEntries: legend))
        out += yAxis()
        if let x { out += xAxis(x) }
        if let categories { out += categoryLabels(categories.labels) + xTitle(categories.title) }
        out += frameLines()
        out += body
        out += legendMarkup()
        out += "</svg>\n"
        return out
    }

    /// The `<svg>` element's start, its title and a white background; the caller closes it.
    static func opening(label: String, width: Double, height: Double) -> String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="\(escaped(label))" \
        width="\(fixed(width, 0))" height="\(fixed(height, 0))" \
        viewBox="0 0 \(fixed(width, 0)) \(fixed(height, 0))" font-family="sans-serif" font-size="13">
        <title>\(escaped(label))</title>
        <rect x="0" y="0" width="\(fixed(width, 0))" height="\(fixed(height, 0))" fill="#ffffff"/>

        """
    }

    private func frameLines() -> String {
        let l = fixed(frame.left, 1), r = fixed(frame.width - frame.right, 1)
        let t = fixed(frame.top, 1), b = fixed(frame.plotBottom, 1)
        return """
            <polyline class="frame" points="\(l),\(t) \(l),\(b) \(r),\(b)" fill="none" stroke="#333333" stroke-width="1"/>

            """
    }

    private func yAxis() -> String {
        var out = ""
        for tick in y.ticks {
            let py = fixed(frame.y(y.scale.fraction(tick.value)), 1)
            out += """
                <line class="grid" x1="\(fixed(frame.left, 1))" y1="\(py)" x2="\(fixed(frame.width - frame.right, 1))" \
                y2="\(py)" stroke="#e3e3e3" stroke-width="1"/>
                <text x="\(fixed(frame.left - 8, 1))" y="\(py)" text-anchor="end" dominant-baseline="middle" \
                fill="#333333">\(escaped(tick.label))</text>

                """
        }
        let midY = fixed(frame.top + frame.plotHeight / 2, 1)
        out += """
            <text class="axis-title" x="18" y="\(midY)" text-anchor="middle" transform="rotate(-90 18 \(midY))" \
            fill="#111111">\(escaped(y.title))</text>

            """
        return out
    }

    private func xAxis(_ x: Axis) -> String {
        var out = ""
        let bottom = frame.plotBottom
        for value in x.minorTicks {
            let px = fixed(frame.x(x.scale.fraction(value)), 1)
            out += "<line class=\"minor-tick\" x1=\"\(px)\" y1=\"\(fixed(bottom, 1))\" x2=\"\(px)\" y2=\"\(fixed(bottom + 4, 1))\" stroke=\"#555555\" stroke-width=\"1\"/>\n"
        }
        for tick in x.ticks {
            let px = fixed(frame.x(x.scale.fraction(tick.value)), 1)
            out += """
                <line class="grid" x1="\(px)" y1="\(fixed(frame.top, 1))" x2="\(px)" y2="\(fixed(bottom, 1))" \
                stroke="#e3e3e3" stroke-width="1"/>
                <line class="tick" x1="\(px)" y1="\(fixed(bottom, 1))" x2="\(px)" y2="\(fixed(bottom + 7, 1))" \
                stroke="#333333" stroke-width="1"/>
                <text x="\(px)" y="\(fixed(bottom + 21, 1))" text-anchor="middle" fill="#333333">\(escaped(tick.label))</text>

                """
        }
        for landmark in x.landmarks {
            let px = fixed(frame.x(x.scale.fraction(landmark.value)), 1)
            out += """
                <line class="landmark" x1="\(px)" y1="\(fixed(frame.top, 1))" x2="\(px)" y2="\(fixed(bottom, 1))" \
                stroke="#888888" stroke-width="1" stroke-dasharray="3 3"/>
                <text x="\(px)" y="\(fixed(frame.top - 6, 1))" text-anchor="middle" fill="#555555">\(escaped(landmark.label))</text>

                """
        }
        out += xTitle(x.title)
        return out
    }

    private func categoryLabels(_ labels: [(label: String, x: Double)]) -> String {
        labels.map { label in
            "<text x=\"\(fixed(label.x, 1))\" y=\"\(fixed(frame.plotBottom + 21, 1))\" text-anchor=\"middle\" fill=\"#333333\">\(escaped(label.label))</text>\n"
        }.joined()
    }

    private func xTitle(_ title: String) -> String {
        """
        <text class="axis-title" x="\(fixed(frame.left + frame.plotWidth / 2, 1))" \
        y="\(fixed(frame.plotBottom + 42, 1))" text-anchor="middle" fill="#111111">\(escaped(title))</text>

        """
    }

    private func legendMarkup() -> String {
        var out = ""
        for (row, items) in frame.legendRows(legend).enumerated() {
            let y = frame.plotBottom + 52 + Double(row) * frame.legendRowHeight + 10
            for (entry, x) in items {
                if let shape = entry.marker {
                    out += Marker(kind: "legend-marker", x: 0, y: 0, colour: entry.colour, shape: shape, filled: entry.filled)
                        .svg(x + 13, y)
                    out += "<text class=\"legend\" x=\"\(fixed(x + 34, 1))\" y=\"\(fixed(y, 1))\" dominant-baseline=\"middle\" "
                        + "fill=\"#111111\">\(escaped(entry.label))</text>\n"
                    continue
                }
                let dash = entry.dashed ? " stroke-dasharray=\"6 3\"" : ""
                out += """
                    <line class="legend-swatch" x1="\(fixed(x, 1))" y1="\(fixed(y, 1))" x2="\(fixed(x + 26, 1))" y2="\(fixed(y, 1))" \
                    stroke="\(entry.colour)" stroke-width="3"\(dash)/>
                    <text class="legend" x="\(fixed(x + 34, 1))" y="\(fixed(y, 1))" dominant-baseline="middle" \
                    fill="#111111">\(escaped(entry.label))</text>

                    """
            }
        }
        return out
    }
}
