import Foundation

/// Device memory of one replica.
///
/// Training holds fp32 weights, gradients and two AdamW moments (16 bytes per parameter),
/// a fixed workspace, and per layer the activations kept for the backward pass, some bytes
/// per token x hidden unit. Both constants are fitted to the measured peak memory of the
/// training steps. Every measured step has sequence length 256, where attention scores
/// (tokens x heads x sequence) grow exactly like tokens x hidden, so the data cannot tell
/// them apart: memory is modelled as linear in sequence length, which understates long
/// sequences without fused attention.
/// Inference holds the weights plus one layer's activations (and Llama's logits); it was
/// not measured, so it uses the training constant for a single layer.
public struct MemoryModel: Sendable, Codable, Equatable {
    public var workspaceBytes: Double
    public var bytesPerTokenHidden: Double

    public func bytes(_ shape: ModelShape) -> Int64 {
        let t = Double(shape.tokens), h = Double(shape.hidden)
        let perLayer = bytesPerTokenHidden * t * h
        switch shape.mode {
        case .train:
            return Int64((16 * Double(shape.parameters) + workspaceBytes + Double(shape.layers) * perLayer).rounded())
        case .infer:
            let logits = shape.architecture == .llama ? 4 * t * Double(shape.vocabulary) : 0
            return Int64((Double(shape.weightBytes) + workspaceBytes + perLayer + logits).rounded())
        }
    }

    /// Relative least squares over the measured training steps: minimises
    /// sum((predicted - measured) / measured)^2, a 2x2 linear system.
    public static func fit(_ steps: [MeasuredStep]) -> MemoryModel {
        var rows: [[Double]] = [], targets: [Double] = []
        for step in steps where step.shape.mode == .train {
            guard let measured = step.peakMemoryBytes.map(Double.init) else { continue }
            let s = step.shape, t = Double(s.tokens), l = Double(s.layers)
            rows.append([1 / measured, l * t * Double(s.hidden) / measured])
            targets.append(1 - 16 * Double(s.parameters) / measured)
        }
        let x = leastSquares(rows, targets)
        return MemoryModel(workspaceBytes: x[0], bytesPerTokenHidden: x[1])
    }
}

/// Solves min |A x - y|^2 through the normal equations, columns scaled to unit norm first
/// (the columns here differ by ten orders of magnitude).
func leastSquares(_ unscaled: [[Double]], _ y: [Double]) -> [Double] {
    let n = unscaled.first?.count ?? 0
    let norms = (0..<n).map { j in max(1e-300, unscaled.reduce(0) { $0 + $1[j] * $1[j] }.squareRoot()) }
    let a = unscaled.map { row in (0..<n).map { row[$0] / norms[$0] } }
    var m = Array(repeating: Array(repeating: 0.0, count: n + 1), count: n)
    for (row, target) in zip(a, y) {
        for i in 0..<n {
            for j in 0..<n { m[i][j] += row[i] * row[j] }
            m[i][n] += row[i] * target
        }
    }
    // Gaussian elimination with partial pivoting.
    for col in 0..<n {
        let pivot = (col..<n).max { abs(m[$0][col]) < abs(m[$1][col]) }!
        m.swapAt(col, pivot)
        guard abs(m[col][col]) > 1e-300 else { continue }
        for r in 0..<n where r != col {
            let f = m[r][col] / m[col][col]
            for c in col...n { m[r][c] -= f * m[col][c] }
        }
    }
    return (0..<n).map { abs(m[$0][$0]) > 1e-300 ? m[$0][n] / m[$0][$0] / norms[$0] : 0 }
}
