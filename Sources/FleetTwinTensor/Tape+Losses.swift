import Foundation

// Losses, each reduced to a one-element mean in a fixed order.
extension Tape {
    /// Mean cross-entropy of row-wise softmax(logits [m x C]) against class `targets`.
    /// InfoNCE is this loss over a similarity matrix whose target is the positive's column.
    public func crossEntropy(_ logits: Variable, targets: [Int]) -> Variable {
        let x = value(logits)
        let m = x.rows, n = x.columns
        precondition(targets.count == m, "\(targets.count) targets for \(m) rows")
        var probabilities = [Float](repeating: 0, count: m * n)
        var loss: Float = 0
        for i in 0..<m {
            var rowMax = -Float.infinity
            for j in 0..<n { rowMax = max(rowMax, x.scalars[i * n + j]) }
            var total: Float = 0
            for j in 0..<n { let e = Foundation.exp(x.scalars[i * n + j] - rowMax); probabilities[i * n + j] = e; total += e }
            for j in 0..<n { probabilities[i * n + j] /= total }
            loss += -(x.scalars[i * n + targets[i]] - rowMax - Foundation.log(total))
        }
        let p = probabilities
        return record(Tensor(loss / Float(m))) { tape, g in
            var ga = p
            for i in 0..<m { ga[i * n + targets[i]] -= 1 }
            let s = g.scalar / Float(m)
            for i in ga.indices { ga[i] *= s }
            tape.accumulate(Tensor(shape: x.shape, scalars: ga), into: logits)
        }
    }

    /// Mean binary cross-entropy of sigmoid(logits) against `targets` in [0, 1], computed
    /// stably from the logits.
    public func binaryCrossEntropy(logits: Variable, targets: [Float]) -> Variable {
        let x = value(logits)
        precondition(targets.count == x.count, "\(targets.count) targets for \(x.count) logits")
        var loss: Float = 0
        for (z, t) in zip(x.scalars, targets) {
            loss += max(z, 0) - z * t + Foundation.log1p(Foundation.exp(-abs(z)))
        }
        let count = Float(x.count)
        return record(Tensor(loss / count)) { tape, g in
            var ga = x
            for i in ga.scalars.indices {
                ga.scalars[i] = (1 / (1 + Foundation.exp(-x.scalars[i])) - targets[i]) * g.scalar / count
            }
            tape.accumulate(ga, into: logits)
        }
    }

    /// RankNet: mean over ordered pairs (i, j) of one list with label_i > label_j of
    /// log(1 + exp(-(s_i - s_j))). `scores` and `labels` are [lists x K], row by row.
    public func rankNet(scores: Variable, labels: [Float], listLength: Int) -> Variable {
        let s = value(scores).scalars
        precondition(labels.count == s.count && s.count % listLength == 0, "rankNet: labels and scores must be lists of \(listLength)")
        var pairs: [(Int, Int)] = []
        for start in stride(from: 0, to: s.count, by: listLength) {
            for i in start..<(start + listLength) { for j in start..<(start + listLength) where labels[i] > labels[j] {
                pairs.append((i, j))
            } }
        }
        guard !pairs.isEmpty else { return record(Tensor(0)) { _, _ in } }
        var loss: Float = 0
        for (i, j) in pairs {
            let d = s[i] - s[j]
            loss += max(-d, 0) + Foundation.log1p(Foundation.exp(-abs(d)))
        }
        let count = Float(pairs.count)
        let shape = value(scores).shape
        return record(Tensor(loss / count)) { tape, g in
            var ga = [Float](repeating: 0, count: s.count)
            for (i, j) in pairs {
                let d = s[i] - s[j]
                let w = -1 / (1 + Foundation.exp(d)) * g.scalar / count  // d/dd log(1+e^-d)
                ga[i] += w
                ga[j] -= w
            }
            tape.accumulate(Tensor(shape: shape, scalars: ga), into: scores)
        }
    }

    /// ListNet (top-one): mean over lists of the cross-entropy between softmax(labels) and
    /// softmax(scores). `scores` and `labels` are [lists x K].
    public func listNet(scores: Variable, labels: [Float], listLength: Int) -> Variable {
        let x = value(scores)
        let lists = x.count / listLength
        var target = [Float](repeating: 0, count: x.count)
        var probabilities = [Float](repeating: 0, count: x.count)
        var loss: Float = 0
        for l in 0..<lists {
            let base = l * listLength
            var labelMax = -Float.infinity, scoreMax = -Float.infinity
            for j in 0..<listLength { labelMax = max(labelMax, labels[base + j]); scoreMax = max(scoreMax, x.scalars[base + j]) }
            var labelTotal: Float = 0, scoreTotal: Float = 0
            for j in 0..<listLength {
                target[base + j] = Foundation.exp(labels[base + j] - labelMax); labelTotal += target[base + j]
                probabilities[base + j] = Foundation.exp(x.scalars[base + j] - scoreMax); scoreTotal += probabilities[base + j]
            }
            let logTotal = Foundation.log(scoreTotal)
            for j in 0..<listLength {
                target[base + j] /= labelTotal
                probabilities[base + j] /= scoreTotal
                loss -= target[base + j] * (x.scalars[base + j] - scoreMax - logTotal)
            }
        }
        let t = target, p = probabilities
        return record(Tensor(loss / Float(lists))) { tape, g in
            var ga = [Float](repeating: 0, count: p.count)
            let s = g.scalar / Float(lists)
            for i in ga.indices { ga[i] = (p[i] - t[i]) * s }
            tape.accumulate(Tensor(shape: x.shape, scalars: ga), into: scores)
        }
    }
}
