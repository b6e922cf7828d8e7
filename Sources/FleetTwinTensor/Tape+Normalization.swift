import Foundation

// Softmax and layer normalisation over the last axis of a matrix.
extension Tape {
    /// Row-wise softmax. Entries where `blocked[i * n + j]` is true get probability zero
    /// (causal and knockout masks); a row must keep at least one entry.
    public func softmax(_ a: Variable, blocked: [Bool]? = nil) -> Variable {
        let x = value(a)
        let m = x.rows, n = x.columns
        var out = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            var rowMax = -Float.infinity
            for j in 0..<n where !(blocked?[i * n + j] ?? false) { rowMax = max(rowMax, x.scalars[i * n + j]) }
            precondition(rowMax > -Float.infinity, "softmax row \(i) has every entry blocked")
            var total: Float = 0
            for j in 0..<n where !(blocked?[i * n + j] ?? false) {
                let e = Foundation.exp(x.scalars[i * n + j] - rowMax)
                out[i * n + j] = e
                total += e
            }
            for j in 0..<n { out[i * n + j] /= total }
        }
        let y = out
        return record(Tensor(shape: x.shape, scalars: out)) { tape, g in
            var ga = [Float](repeating: 0, count: m * n)
            for i in 0..<m {
                var dot: Float = 0
                for j in 0..<n { dot += g.scalars[i * n + j] * y[i * n + j] }
                for j in 0..<n { ga[i * n + j] = y[i * n + j] * (g.scalars[i * n + j] - dot) }
            }
            tape.accumulate(Tensor(shape: x.shape, scalars: ga), into: a)
        }
    }

    /// Layer normalisation of each row, then `gamma * x̂ + beta`.
    public func layerNorm(_ a: Variable, gamma: Variable, beta: Variable, epsilon: Float = 1e-5) -> Variable {
        let x = value(a), gm = value(gamma), bt = value(beta)
        let m = x.rows, n = x.columns
        var normalized = [Float](repeating: 0, count: m * n)
        var inverseStd = [Float](repeating: 0, count: m)
        var out = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            var mean: Float = 0
            for j in 0..<n { mean += x.scalars[i * n + j] }
            mean /= Float(n)
            var variance: Float = 0
            for j in 0..<n { let d = x.scalars[i * n + j] - mean; variance += d * d }
            variance /= Float(n)
            let inv = 1 / (variance + epsilon).squareRoot()
            inverseStd[i] = inv
            for j in 0..<n {
                let h = (x.scalars[i * n + j] - mean) * inv
                normalized[i * n + j] = h
                out[i * n + j] = gm.scalars[j] * h + bt.scalars[j]
            }
        }
        let xhat = normalized, invs = inverseStd
        return record(Tensor(shape: x.shape, scalars: out)) { tape, g in
            var gGamma = Tensor(zeros: gm.shape), gBeta = Tensor(zeros: bt.shape)
            var gx = [Float](repeating: 0, count: m * n)
            for i in 0..<m {
                var sumD: Float = 0, sumDH: Float = 0
                for j in 0..<n {
                    let gij = g.scalars[i * n + j]
                    gGamma.scalars[j] += gij * xhat[i * n + j]
                    gBeta.scalars[j] += gij
                    let d = gij * gm.scalars[j]
                    sumD += d
                    sumDH += d * xhat[i * n + j]
                }
                for j in 0..<n {
                    let d = g.scalars[i * n + j] * gm.scalars[j]
                    gx[i * n + j] = invs[i] / Float(n) * (Float(n) * d - sumD - xhat[i * n + j] * sumDH)
                }
            }
            tape.accumulate(Tensor(shape: x.shape, scalars: gx), into: a)
            tape.accumulate(gGamma, into: gamma)
            tape.accumulate(gBeta, into: beta)
        }
    }
}
