/// A heatmap: a grid of categories (rows by columns) whose cells are coloured by their value on
/// a diverging scale (blue below zero, white at zero, vermillion above) and print it. The
/// science section draws causal tracing with it: sites by layer, without and with context.
import Foundation

struct Heatmap {
    var label: String
    /// Heading printed above the grid (`without context`).
    var title: String
    var rows: [String]
    var columns: [String]
    /// Values by row, then column; nil cells are drawn grey with a dash.
    var cells: [[Double?]]
    /// The magnitude drawn in the full colour; larger ones are clamped to it. Panels that are
    /// compared share it.
    var scale: Double
    var columnTitle: String
    /// What the colour means, with its unit, under the colour bar.
    var valueTitle: String
    /// Decimals of the printed values.
    var decimals = 3
    var width = 456.0

    static let positive = (r: 213.0, g: 94.0, b: 0.0), negative = (r: 0.0, g: 114.0, b: 178.0)
    let left = 128.0, right = 12.0, top = 34.0, rowHeight = 34.0

    /// The cell colour of `value`: white blended toward vermillion (positive) or blue (negative).
    static func colour(_ value: Double, scale: Double) -> String {
        let t = scale > 0 ? min(1, abs(value) / scale) : 0
        let target = value < 0 ? negative : positive
        func channel(_ c: Double) -> String {
            let hex = String(Int((255 + (c - 255) * t).rounded()), radix: 16, uppercase: true)
            return hex.count == 1 ? "0" + hex : hex
        }
        return "#" + channel(target.r) + channel(target.g) + channel(target.b)
    }

    /// Dark cells print their value in white.
    static func textColour(_ value: Double, scale: Double) -> String {
        scale > 0 && abs(value) / scale > 0.6 ? "#ffffff" : "#111111"
    }

    func svg() -> String {
        let cellWidth = (width - left - right) / Double(max(1, columns.count))
        let gridBottom = top + rowHeight * Double(rows.count)
        let height = gridBottom + 104
        var out = SVGDocument.opening(label: label, width: width, height: height)
        out += "<text class=\"panel-title\" x=\"\(fixed(left, 1))\" y=\"\(fixed(top - 12, 1))\" font-weight=\"bold\" "
            + "fill=\"#111111\">\(escaped(title))</text>\n"
        for (r, row) in rows.enumerated() {
            let y = top + rowHeight * Double(r)
            out += "<text x=\"\(fixed(left - 8, 1))\" y=\"\(fixed(y + rowHeight / 2, 1))\" text-anchor=\"end\" "
                + "dominant-baseline=\"middle\" fill=\"#333333\">\(escaped(row))</text>\n"
            for c in columns.indices {
                let x = left + cellWidth * Double(c)
                let value = c < cells[r].count ? cells[r][c] : nil
                let fill = value.map { Self.colour($0, scale: scale) } ?? "#f2f2f2"
                let text = value.map { fixed($0, decimals) } ?? "–"
                let ink = value.map { Self.textColour($0, scale: scale) } ?? "#888888"
                out += """
                    <rect class="cell" data-row="\(escaped(row))" data-column="\(escaped(columns[c]))" x="\(fixed(x, 1))" \
                    y="\(fixed(y, 1))" width="\(fixed(cellWidth, 1))" height="\(fixed(rowHeight, 1))" fill="\(fill)" \
                    stroke="#ffffff" stroke-width="1"/>
                    <text class="cell-value" x="\(fixed(x + cellWidth / 2, 1))" y="\(fixed(y + rowHeight / 2, 1))" \
                    text-anchor="middle" dominant-baseline="middle" font-size="11" fill="\(ink)">\(text)</text>

                    """
            }
        }
        for (c, column) in columns.enumerated() {
            out += "<text x=\"\(fixed(left + cellWidth * (Double(c) + 0.5), 1))\" y=\"\(fixed(gridBottom + 16, 1))\" "
                + "text-anchor=\"middle\" fill=\"#333333\">\(escaped(column))</text>\n"
        }
        out += "<text class=\"axis-title\" x=\"\(fixed(left + (width - left - right) / 2, 1))\" y=\"\(fixed(gridBottom + 34, 1))\" "
            + "text-anchor=\"middle\" fill=\"#111111\">\(escaped(columnTitle))</text>\n"
        out += colourBar(top: gridBottom + 46)
        return out + "</svg>\n"
    }

    /// Eleven swatches from -scale to +scale, labelled at both ends and zero, over the value's title.
    private func colourBar(top: Double) -> String {
        let swatch = 18.0, count = 11
        let start = left
        var out = ""
        for i in 0..<count {
            let value = scale * (Double(i) / Double(count - 1) * 2 - 1)
            out += "<rect class=\"scale\" x=\"\(fixed(start + swatch * Double(i), 1))\" y=\"\(fixed(top, 1))\" width=\"\(fixed(swatch, 1))\" "
                + "height=\"10\" fill=\"\(Self.colour(value, scale: scale))\" stroke=\"#cccccc\" stroke-width=\"0.5\"/>\n"
        }
        let labels = [(0, "−" + fixed(scale, decimals)), (count / 2, "0"), (count - 1, "+" + fixed(scale, decimals))]
        for (i, text) in labels {
            out += "<text x=\"\(fixed(start + swatch * (Double(i) + 0.5), 1))\" y=\"\(fixed(top + 24, 1))\" text-anchor=\"middle\" "
                + "font-size=\"11\" fill=\"#333333\">\(text)</text>\n"
        }
        out += "<text x=\"\(fixed(start, 1))\" y=\"\(fixed(top + 42, 1))\" font-size=\"12\" "
            + "fill=\"#333333\">\(escaped(valueTitle))</text>\n"
        return out
    }
}
