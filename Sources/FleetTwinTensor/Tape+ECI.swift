// Bag-of-words operations for the ECI workload's retrievers.
extension Tape {
    /// The mean of `table`'s rows [vocabulary x d] over each bag of token ids: [bags x d].
    /// An empty bag gives a zero row. Sums run over each bag's tokens in order, so the result
    /// is fixed; the backward pass scatters each bag's gradient / length back to its rows.
    /// (An embedding-bag lookup: the same as gathering every token and averaging per bag,
    /// without materialising the [tokens x d] matrix.)
    public func bagMeans(_ table: Variable, bags: [[Int]]) -> Variable {
        let x = value(table)
        let n = x.columns, vocabulary = x.rows
        var out = [Float](repeating: 0, count: bags.count * n)
        for (b, bag) in bags.enumerated() where !bag.isEmpty {
            let inverse = 1 / Float(bag.count)
            for token in bag {
                precondition(token >= 0 && token < vocabulary, "token \(token) of a \(vocabulary)-row table")
                for j in 0..<n { out[b * n + j] += x.scalars[token * n + j] }
            }
            for j in 0..<n { out[b * n + j] *= inverse }
        }
        return record(Tensor(shape: [bags.count, n], scalars: out)) { tape, g in
            var ga = Tensor(zeros: x.shape)
            for (b, bag) in bags.enumerated() where !bag.isEmpty {
                let inverse = 1 / Float(bag.count)
                for token in bag {
                    for j in 0..<n { ga.scalars[token * n + j] += g.scalars[b * n + j] * inverse }
                }
            }
            tape.accumulate(ga, into: table)
        }
    }
}
