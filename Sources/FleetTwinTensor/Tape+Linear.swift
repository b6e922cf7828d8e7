// Matrix products on the tape.
extension Tape {
    /// a[m x k] · b[k x n]; with `transposingB`, b is given as [n x k].
    public func matmul(_ a: Variable, _ b: Variable, transposingB: Bool = false) -> Variable {
        let x = value(a), y = value(b)
        let m = x.rows, k = x.columns, n = transposingB ? y.rows : y.columns
        matmulFlops += 2 * m * k * n
        let out = transposingB ? Matmul.productTransposingB(x, y) : Matmul.product(x, y)
        return record(out) { tape, g in
            tape.matmulFlops += 4 * m * k * n
            if transposingB {
                // out = x yᵀ: dx = g y, dy = gᵀ x
                tape.accumulate(Matmul.product(g, y), into: a)
                tape.accumulate(Matmul.productTransposingA(g, x), into: b)
            } else {
                // out = x y: dx = g yᵀ, dy = xᵀ g
                tape.accumulate(Matmul.productTransposingB(g, y), into: a)
                tape.accumulate(Matmul.productTransposingA(x, g), into: b)
            }
        }
    }

    /// x · w + bias: a fully connected layer.
    public func linear(_ x: Variable, _ weight: Variable, _ bias: Variable) -> Variable {
        addBias(matmul(x, weight), bias)
    }
}
