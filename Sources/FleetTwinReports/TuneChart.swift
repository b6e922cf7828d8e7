/// The chart of a `fleettwin tune`: every evaluated setting as a point (accelerators against
/// mean utilization), coloured by verdict, with the Pareto front of the settings that meet
/// every goal drawn as a line through its points. One self-contained SVG file.
import Foundation

public enum TuneChart {
    /// One evaluated setting.
    public struct Point: Sendable {
        public var accelerators: Int
        /// Mean utilization over its seeds (0-1); nil when none ran.
        public var utilization: Double?
        /// `met`, `missed`, `uncertain` or `pruned`.
        public var status: String
        public var label: String

        public init(accelerators: Int, utilization: Double?, status: String, label: String) {
            self.accelerators = accelerators
            self.utilization = utilization
            self.status = status
            self.label = label
        }
    }

    static let colours = ["met": "#009E73", "missed": "#D55E00", "uncertain": "#E69F00"]

    /// `front` are indices into `points`, by accelerators; `chosen` is marked with a ring.
    public static func svg(title: String, points: [Point], front: [Int], chosen: Int?) -> String {
        let frame = ChartFrame.full
        let x = Axes.linear(upTo: Double(max(1, points.map(\.accelerators).max() ?? 1)), title: "accelerators (count)")
        let y = Axes.percent(title: "mean utilization over the seeds (%)")
        func px(_ p: Point) -> (Double, Double)? {
            p.utilization.map { (frame.x(x.scale.fraction(Double(p.accelerators))), frame.y(y.scale.fraction($0))) }
        }
        var body = ""
        let line = front.compactMap { px(points[$0]) }.map { "\(fixed($0.0, 1)),\(fixed($0.1, 1))" }.joined(separator: " ")
        if front.count > 1 {
            body += "<polyline class=\"front\" points=\"\(line)\" fill=\"none\" stroke=\"#009E73\" stroke-width=\"2\"/>\n"
        }
        for (i, point) in points.enumerated() {
            guard let (cx, cy) = px(point), let colour = colours[point.status] else { continue }
            body += "<circle class=\"setting \(point.status)\" cx=\"\(fixed(cx, 1))\" cy=\"\(fixed(cy, 1))\" r=\"5\" fill=\"\(colour)\">"
                + "<title>\(escaped(point.label))</title></circle>\n"
            if i == chosen {
                body += "<circle class=\"chosen\" cx=\"\(fixed(cx, 1))\" cy=\"\(fixed(cy, 1))\" r=\"10\" fill=\"none\" stroke=\"#000000\" stroke-width=\"2\"/>\n"
            }
        }
        let legend = [LegendEntry(label: "meets every goal (front: line)", colour: colours["met"]!, dashed: false),
                      LegendEntry(label: "misses a goal", colour: colours["missed"]!, dashed: false),
                      LegendEntry(label: "uncertain at the most seeds", colour: colours["uncertain"]!, dashed: false),
                      LegendEntry(label: "chosen (ring)", colour: "#000000", dashed: false)]
        return SVGDocument(frame: frame, label: title, x: x, y: y, legend: legend).render(body: body)
    }
}
