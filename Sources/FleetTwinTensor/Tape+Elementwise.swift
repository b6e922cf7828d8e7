import Foundation

// Elementwise operations, broadcasts, reshapes and slices.
extension Tape {
    public func add(_ a: Variable, _ b: Variable) -> Variable {
        let x = value(a), y = value(b)
        precondition(x.shape == y.shape, "add shapes \(x.shape) and \(y.shape) differ")
        var out = x
        for i in out.scalars.indices { out.scalars[i] += y.scalars[i] }
        return record(out) { tape, g in
            tape.accumulate(g, into: a)
            tape.accumulate(g, into: b)
        }
    }

    public func subtract(_ a: Variable, _ b: Variable) -> Variable {
        add(a, scale(b, -1))
    }

    public func multiply(_ a: Variable, _ b: Variable) -> Variable {
        let x = value(a), y = value(b)
        precondition(x.shape == y.shape, "multiply shapes \(x.shape) and \(y.shape) differ")
        var out = x
        for i in out.scalars.indices { out.scalars[i] *= y.scalars[i] }
        return record(out) { tape, g in
            var ga = g, gb = g
            for i in g.scalars.indices {
                ga.scalars[i] *= y.scalars[i]
                gb.scalars[i] *= x.scalars[i]
            }
            tape.accumulate(ga, into: a)
            tape.accumulate(gb, into: b)
        }
    }

    public func scale(_ a: Variable, _ factor: Float) -> Variable {
        var out = value(a)
        for i in out.scalars.indices { out.scalars[i] *= factor }
        return record(out) { tape, g in
            var ga = g
            for i in ga.scalars.indices { ga.scalars[i] *= factor }
            tape.accumulate(ga, into: a)
        }
    }

    /// x[m x n] + bias[n], the bias broadcast over rows.
    public func addBias(_ x: Variable, _ bias: Variable) -> Variable {
        var out = value(x)
        let b = value(bias)
        let n = out.columns
        precondition(b.count == n, "bias of \(b.count) for \(n) columns")
        for i in 0..<out.rows { for j in 0..<n { out.scalars[i * n + j] += b.scalars[j] } }
        return record(out) { tape, g in
            tape.accumulate(g, into: x)
            var gb = Tensor(zeros: b.shape)
            for i in 0..<g.rows { for j in 0..<n { gb.scalars[j] += g.scalars[i * n + j] } }
            tape.accumulate(gb, into: bias)
        }
    }

    func map(_ a: Variable, _ f: (Float) -> Float, derivative: @escaping (_ x: Float, _ y: Float) -> Float) -> Variable {
        let x = value(a)
        var out = x
        for i in out.scalars.indices { out.scalars[i] = f(x.scalars[i]) }
        let y = out
        return record(out) { tape, g in
            var ga = g
            for i in ga.scalars.indices { ga.scalars[i] *= derivative(x.scalars[i], y.scalars[i]) }
            tape.accumulate(ga, into: a)
        }
    }

    public func relu(_ a: Variable) -> Variable {
        map(a, { max($0, 0) }, derivative: { x, _ in x > 0 ? 1 : 0 })
    }

    public func tanh(_ a: Variable) -> Variable {
        map(a, { Foundation.tanh($0) }, derivative: { _, y in 1 - y * y })
    }

    public func sigmoid(_ a: Variable) -> Variable {
        map(a, { 1 / (1 + Foundation.exp(-$0)) }, derivative: { _, y in y * (1 - y) })
    }

    /// GELU, tanh approximation (as in GPT-2 and BERT implementations). The tanh of each
    /// entry is kept for the backward pass: it is most of the cost.
    public func gelu(_ a: Variable) -> Variable {
        let c: Float = 0.797_884_56 // sqrt(2 / pi)
        let x = value(a)
        var out = x
        var tanhs = x.scalars
        for i in out.scalars.indices {
            let v = x.scalars[i]
            let t = Foundation.tanh(c * (v + 0.044715 * v * v * v))
            tanhs[i] = t
            out.scalars[i] = 0.5 * v * (1 + t)
        }
        let cached = tanhs
        return record(out) { tape, g in
            var ga = g
            for i in ga.scalars.indices {
                let v = x.scalars[i], t = cached[i]
                ga.scalars[i] *= 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * c * (1 + 3 * 0.044715 * v * v)
            }
            tape.accumulate(ga, into: a)
        }
    }

    public func reshape(_ a: Variable, _ shape: [Int]) -> Variable {
        let original = value(a).shape
        return record(value(a).reshaped(shape)) { tape, g in
            tape.accumulate(g.reshaped(original), into: a)
        }
    }

    /// Columns `range` of a matrix.
    public func columns(_ a: Variable, _ range: Range<Int>) -> Variable {
        let x = value(a)
        let m = x.rows, n = x.columns, w = range.count
        var out = [Float](repeating: 0, count: m * w)
        for i in 0..<m { for j in 0..<w { out[i * w + j] = x.scalars[i * n + range.lowerBound + j] } }
        return record(Tensor(shape: [m, w], scalars: out)) { tape, g in
            var ga = Tensor(zeros: x.shape)
            for i in 0..<m { for j in 0..<w { ga.scalars[i * n + range.lowerBound + j] = g.scalars[i * w + j] } }
            tape.accumulate(ga, into: a)
        }
    }

    /// Matrices side by side: [m x n1], [m x n2], ... -> [m x (n1 + n2 + ...)].
    public func concatenateColumns(_ parts: [Variable]) -> Variable {
        let xs = parts.map(value)
        let m = xs[0].rows
        let widths = xs.map(\.columns)
        let total = widths.reduce(0, +)
        var out = [Float](repeating: 0, count: m * total)
        var offset = 0
        for (x, w) in zip(xs, widths) {
            precondition(x.rows == m, "concatenating \(x.rows) rows to \(m)")
            for i in 0..<m { for j in 0..<w { out[i * total + offset + j] = x.scalars[i * w + j] } }
            offset += w
        }
        return record(Tensor(shape: [m, total], scalars: out)) { tape, g in
            var offset = 0
            for (part, w) in zip(parts, widths) {
                var gp = [Float](repeating: 0, count: m * w)
                for i in 0..<m { for j in 0..<w { gp[i * w + j] = g.scalars[i * total + offset + j] } }
                tape.accumulate(Tensor(shape: [m, w], scalars: gp), into: part)
                offset += w
            }
        }
    }

    /// Rows of `a` picked by `indices` (repeats allowed): embedding lookup and gathers.
    public func gatherRows(_ a: Variable, _ indices: [Int]) -> Variable {
        let x = value(a)
        let n = x.columns
        var out = [Float](repeating: 0, count: indices.count * n)
        for (r, index) in indices.enumerated() {
            precondition(index >= 0 && index < x.rows, "row \(index) of \(x.rows)")
            for j in 0..<n { out[r * n + j] = x.scalars[index * n + j] }
        }
        return record(Tensor(shape: [indices.count, n], scalars: out)) { tape, g in
            var ga = Tensor(zeros: x.shape)
            for (r, index) in indices.enumerated() {
                for j in 0..<n { ga.scalars[index * n + j] += g.scalars[r * n + j] }
            }
            tape.accumulate(ga, into: a)
        }
    }

    /// Token embeddings: rows of `table` [vocabulary x d] for `tokens`.
    public func embedding(_ table: Variable, _ tokens: [Int]) -> Variable {
        gatherRows(table, tokens)
    }

    /// Rows of a matrix concatenated top to bottom.
    public func concatenateRows(_ parts: [Variable]) -> Variable {
        let xs = parts.map(value)
        let n = xs[0].columns
        var out = [Float]()
        for x in xs {
            precondition(x.columns == n, "concatenating rows of \(x.columns) columns to \(n)")
            out.append(contentsOf: x.scalars)
        }
        let counts = xs.map(\.rows)
        return record(Tensor(shape: [counts.reduce(0, +), n], scalars: out)) { tape, g in
            var start = 0
            for (part, rows) in zip(parts, counts) {
                tape.accumulate(Tensor(shape: [rows, n], scalars: Array(g.scalars[(start * n)..<((start + rows) * n)])), into: part)
                start += rows
            }
        }
    }

    public func sum(_ a: Variable) -> Variable {
        let x = value(a)
        return record(Tensor(x.sum())) { tape, g in
            tape.accumulate(Tensor(shape: x.shape, repeating: g.scalar), into: a)
        }
    }

    public func mean(_ a: Variable) -> Variable {
        scale(sum(a), 1 / Float(value(a).count))
    }

    /// Sum of each row: [m x n] -> [m x 1].
    public func rowSums(_ a: Variable) -> Variable {
        let x = value(a)
        let m = x.rows, n = x.columns
        var out = [Float](repeating: 0, count: m)
        for i in 0..<m { for j in 0..<n { out[i] += x.scalars[i * n + j] } }
        return record(Tensor(shape: [m, 1], scalars: out)) { tape, g in
            var ga = Tensor(zeros: x.shape)
            for i in 0..<m { for j in 0..<n { ga.scalars[i * n + j] = g.scalars[i] } }
            tape.accumulate(ga, into: a)
        }
    }
}
