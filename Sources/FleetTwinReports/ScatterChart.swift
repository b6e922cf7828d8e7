/// Points with labels and curves through them, in data coordinates: the science section's
/// scaling curves (measured points, the fitted law, its forecasts) and its ECI scatters.
import Foundation

/// A point drawn as a small shape, with an optional label beside it and a hover text.
struct Marker {
    enum Shape: Equatable { case circle, square, diamond }

    /// The element's class (`measured`, `forecast`, ...), so tests and stylesheets can find it.
    var kind: String
    var x: Double
    var y: Double
    var colour: String
    var shape: Shape = .circle
    /// Hollow markers are outlined in their colour on white.
    var filled = true
    /// Printed beside the point (nil: none).
    var label: String? = nil
    /// Shown on hover (an SVG `<title>`).
    var tooltip: String? = nil

    /// The marker centred at pixel (px, py).
    func svg(_ px: Double, _ py: Double) -> String {
        let fill = filled ? colour : "#ffffff"
        let paint = "fill=\"\(fill)\" stroke=\"\(colour)\" stroke-width=\"2\""
        let close = tooltip.map { "><title>\(escaped($0))</title></\(element)>" } ?? "/>"
        switch shape {
        case .circle:
            return "<circle class=\"\(kind)\" cx=\"\(fixed(px, 1))\" cy=\"\(fixed(py, 1))\" r=\"5\" \(paint)\(close)\n"
        case .square:
            return "<rect class=\"\(kind)\" x=\"\(fixed(px - 4.5, 1))\" y=\"\(fixed(py - 4.5, 1))\" width=\"9\" height=\"9\" \(paint)\(close)\n"
        case .diamond:
            let d = "M\(fixed(px, 1)),\(fixed(py - 6, 1)) L\(fixed(px + 6, 1)),\(fixed(py, 1)) L\(fixed(px, 1)),\(fixed(py + 6, 1)) "
                + "L\(fixed(px - 6, 1)),\(fixed(py, 1)) Z"
            return "<path class=\"\(kind)\" d=\"\(d)\" \(paint)\(close)\n"
        }
    }

    private var element: String {
        switch shape {
        case .circle: "circle"
        case .square: "rect"
        case .diamond: "path"
        }
    }
}

/// A line through data points; `key` becomes its data-key attribute (a loss, a set).
struct Curve {
    var kind: String
    var key: String
    var colour: String
    var dashed = false
    var width = 2.0
    var points: [(x: Double, y: Double)]
}

/// An x-y chart of curves and markers, with labels placed beside their points so that they
/// do not cover each other (each tries right, below, above, then left of its point).
struct ScatterChart {
    var frame = ChartFrame.half
    var label: String
    var x: Axis
    var y: Axis
    var curves: [Curve]
    var markers: [Marker]
    var legend: [LegendEntry]
    /// Printed above the plot's top-left corner (a correlation, say).
    var note: String? = nil

    func pixel(_ point: (x: Double, y: Double)) -> (Double, Double) {
        (frame.x(x.scale.fraction(point.x)), frame.y(y.scale.fraction(point.y)))
    }

    func svg() -> String {
        var body = ""
        for curve in curves where curve.points.count >= 2 {
            let points = curve.points.map(pixel).map { "\(fixed($0.0, 1)),\(fixed($0.1, 1))" }.joined(separator: " ")
            let dash = curve.dashed ? " stroke-dasharray=\"6 3\"" : ""
            body += """
                <polyline class="\(curve.kind)" data-key="\(escaped(curve.key))" points="\(points)" fill="none" \
                stroke="\(curve.colour)" stroke-width="\(fixed(curve.width, 1))" stroke-linejoin="round"\(dash)/>

                """
        }
        var placed: [(x0: Double, y0: Double, x1: Double, y1: Double)] = markers.map { m in
            let (px, py) = pixel((m.x, m.y))
            return (px - 6, py - 6, px + 6, py + 6)
        }
        for marker in markers {
            let (px, py) = pixel((marker.x, marker.y))
            body += marker.svg(px, py)
            guard let text = marker.label else { continue }
            let width = 6.6 * Double(text.count), height = 13.0
            // Candidate anchors: right, below, above, left of the point (text start, baseline).
            let candidates: [(x: Double, y: Double, anchor: String)] = [
                (px + 8, py + 4, "start"), (px - width / 2, py + 19, "start"), (px - width / 2, py - 10, "start"),
                (px - 8 - width, py + 4, "start"),
            ]
            func box(_ c: (x: Double, y: Double, anchor: String)) -> (x0: Double, y0: Double, x1: Double, y1: Double) {
                (c.x, c.y - height + 3, c.x + width, c.y + 3)
            }
            func overlaps(_ b: (x0: Double, y0: Double, x1: Double, y1: Double)) -> Bool {
                placed.contains { $0.x0 < b.x1 && b.x0 < $0.x1 && $0.y0 < b.y1 && b.y0 < $0.y1 }
            }
            func inside(_ b: (x0: Double, y0: Double, x1: Double, y1: Double)) -> Bool {
                b.x0 >= frame.left && b.x1 <= frame.width - frame.right && b.y0 >= frame.top && b.y1 <= frame.plotBottom
            }
            let chosen = candidates.first { !overlaps(box($0)) && inside(box($0)) }
                ?? candidates.first { inside(box($0)) } ?? candidates[0]
            placed.append(box(chosen))
            body += "<text class=\"point-label\" x=\"\(fixed(chosen.x, 1))\" y=\"\(fixed(chosen.y, 1))\" font-size=\"11\" "
                + "fill=\"#222222\">\(escaped(text))</text>\n"
        }
        if let note {
            body += "<text class=\"note\" x=\"\(fixed(frame.left + 8, 1))\" y=\"\(fixed(frame.top - 12, 1))\" "
                + "fill=\"#111111\">\(escaped(note))</text>\n"
        }
        return SVGDocument(frame: frame, label: label, x: x, y: y, legend: legend).render(body: body)
    }
}
