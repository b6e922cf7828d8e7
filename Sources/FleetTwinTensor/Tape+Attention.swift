// Multi-head causal self-attention, composed from recorded operations.
public struct AttentionWeights {
    public var query, key, value, output: Variable
    public init(query: Variable, key: Variable, value: Variable, output: Variable) {
        self.query = query; self.key = key; self.value = value; self.output = output
    }
}

extension Tape {
    /// Self-attention over one sequence `x` [T x d] with `heads` heads. Position i attends to
    /// positions j <= i (causal), minus the pairs `knockout` blocks (query row, key column):
    /// the attention-knockout probe. Returns [T x d].
    public func causalSelfAttention(_ x: Variable, _ weights: AttentionWeights, heads: Int,
                                    knockout: Set<AttentionEdge> = []) -> Variable {
        let length = value(x).rows
        let width = value(x).columns
        precondition(width % heads == 0, "width \(width) does not split into \(heads) heads")
        let headWidth = width / heads
        let q = matmul(x, weights.query), k = matmul(x, weights.key), v = matmul(x, weights.value)
        var blocked = [Bool](repeating: false, count: length * length)
        for i in 0..<length { for j in 0..<length where j > i { blocked[i * length + j] = true } }
        // A Set is only queried here, never iterated, so its per-process ordering is harmless.
        for i in 0..<length { for j in 0...i where knockout.contains(AttentionEdge(query: i, key: j)) {
            blocked[i * length + j] = true
        } }
        let scaleFactor = 1 / Float(headWidth).squareRoot()
        var headOutputs: [Variable] = []
        for h in 0..<heads {
            let range = (h * headWidth)..<((h + 1) * headWidth)
            let scores = scale(matmul(columns(q, range), columns(k, range), transposingB: true), scaleFactor)
            headOutputs.append(matmul(softmax(scores, blocked: blocked), columns(v, range)))
        }
        return matmul(heads == 1 ? headOutputs[0] : concatenateColumns(headOutputs), weights.output)
    }
}

/// Query position `query` may not attend to key position `key`.
public struct AttentionEdge: Hashable, Sendable {
    public let query: Int, key: Int
    public init(query: Int, key: Int) { self.query = query; self.key = key }
}
