import FleetTwinEngine
import FleetTwinTensor
import Foundation

/// A small decoder-only transformer: token and learned position embeddings, pre-LayerNorm
/// blocks (causal multi-head self-attention, then a GELU MLP of width 4d), a final LayerNorm
/// and an unembedding read at the last position of each sequence.
struct RAGModel {
    var layers: Int, width: Int, heads: Int, vocabulary: Int, maxLength: Int

    static let perLayer = 12
    // Parameter order: token embedding, position embedding, then per layer
    // [ln1.gamma, ln1.beta, Wq, Wk, Wv, Wo, ln2.gamma, ln2.beta, W1, b1, W2, b2],
    // then final LayerNorm gamma, beta and the unembedding [d x V].
    var parameterCount: Int { 2 + Self.perLayer * layers + 3 }
    func layerBase(_ l: Int) -> Int { 2 + Self.perLayer * l }

    var shapes: [[Int]] {
        let d = width
        var s: [[Int]] = [[vocabulary, d], [maxLength, d]]
        for _ in 0..<layers {
            s += [[d], [d], [d, d], [d, d], [d, d], [d, d], [d], [d], [d, 4 * d], [4 * d], [4 * d, d], [d]]
        }
        s += [[d], [d], [d, vocabulary]]
        return s
    }

    func initialParameters(_ g: inout SeededGenerator) -> [Tensor] {
        let d = width
        let residualStd = 1 / Float(d).squareRoot() / Float(2 * layers).squareRoot()
        var p: [Tensor] = [Tensor.randomNormal(shape: [vocabulary, d], std: 0.3, using: &g),
                           Tensor.randomNormal(shape: [maxLength, d], std: 0.3, using: &g)]
        for _ in 0..<layers {
            p.append(Tensor(shape: [d], repeating: 1)); p.append(Tensor(zeros: [d]))
            for _ in 0..<3 { p.append(Tensor.randomNormal(shape: [d, d], std: 1 / Float(d).squareRoot(), using: &g)) }
            p.append(Tensor.randomNormal(shape: [d, d], std: residualStd, using: &g))
            p.append(Tensor(shape: [d], repeating: 1)); p.append(Tensor(zeros: [d]))
            p.append(Tensor.randomNormal(shape: [d, 4 * d], std: 1 / Float(d).squareRoot(), using: &g))
            p.append(Tensor(zeros: [4 * d]))
            p.append(Tensor.randomNormal(shape: [4 * d, d], std: residualStd, using: &g))
            p.append(Tensor(zeros: [d]))
        }
        p.append(Tensor(shape: [d], repeating: 1)); p.append(Tensor(zeros: [d]))
        p.append(Tensor.randomNormal(shape: [d, vocabulary], std: 1 / Float(d).squareRoot(), using: &g))
        return p
    }

    /// Interventions for the probes, applied to one sequence.
    struct Hooks {
        /// Added to the embedding output (token + position) at `positions`: noise [T x d].
        var noise: Tensor? = nil
        var noisePositions: [Int] = []
        /// Replace the residual stream after block `layer` (0 = embedding output) at `positions`
        /// with rows of `clean` (the clean run's state there).
        var restoreHidden: (layer: Int, positions: [Int], clean: Tensor)? = nil
        /// Replace block `layer`'s (1-based) MLP output at `positions` with rows of `clean`.
        var restoreMLP: (layer: Int, positions: [Int], clean: Tensor)? = nil
        /// Replace block `layer`'s (1-based) attention output (after the output projection,
        /// before the residual add) at `positions` with rows of `clean`.
        var restoreAttention: (layer: Int, positions: [Int], clean: Tensor)? = nil
        var knockout: Set<AttentionEdge> = []
        /// Keep the residual states and MLP outputs for later restoring.
        var record = false
    }

    struct Output {
        var logits: Variable
        /// hidden[l]: residual stream after block l (0 = embeddings), [T x d] (when recorded).
        var hidden: [Tensor] = []
        /// mlp[l - 1]: block l's MLP output, [T x d] (when recorded).
        var mlp: [Tensor] = []
        /// attention[l - 1]: block l's attention output, [T x d] (when recorded).
        var attention: [Tensor] = []
    }

    static func replacingRows(_ x: Tensor, _ positions: [Int], from source: Tensor) -> Tensor {
        var out = x
        let n = x.columns
        for p in positions { for j in 0..<n { out.scalars[p * n + j] = source.scalars[p * n + j] } }
        return out
    }

    /// Forward over `sequences` stacked row-wise (attention stays within each sequence);
    /// logits [sequences x V] at each sequence's last position. Hooks apply only to a single
    /// sequence, and replace values with new leaves (probes never differentiate through them).
    func forward(_ tape: Tape, _ p: [Variable], _ sequences: [[Int]], hooks: Hooks = Hooks()) -> Output {
        var tokens: [Int] = [], positions: [Int] = [], starts: [Int] = [], lasts: [Int] = []
        for s in sequences {
            starts.append(tokens.count)
            tokens += s
            positions += Array(0..<s.count)
            lasts.append(tokens.count - 1)
        }
        var out = Output(logits: p[0])
        var h = tape.add(tape.embedding(p[0], tokens), tape.gatherRows(p[1], positions))
        if let noise = hooks.noise {
            var x = tape.value(h)
            let n = x.columns
            for q in hooks.noisePositions { for j in 0..<n { x.scalars[q * n + j] += noise.scalars[q * n + j] } }
            h = tape.leaf(x)
        }
        func restore(_ layer: Int) {
            if let r = hooks.restoreHidden, r.layer == layer {
                h = tape.leaf(Self.replacingRows(tape.value(h), r.positions, from: r.clean))
            }
            if hooks.record { out.hidden.append(tape.value(h)) }
        }
        restore(0)
        for l in 0..<layers {
            let b = layerBase(l)
            let a = tape.layerNorm(h, gamma: p[b], beta: p[b + 1])
            let weights = AttentionWeights(query: p[b + 2], key: p[b + 3], value: p[b + 4], output: p[b + 5])
            var attention: Variable
            if sequences.count == 1 {
                attention = tape.causalSelfAttention(a, weights, heads: heads, knockout: hooks.knockout)
            } else {
                var parts: [Variable] = []
                for (k, s) in sequences.enumerated() {
                    let rows = tape.gatherRows(a, Array(starts[k]..<(starts[k] + s.count)))
                    parts.append(tape.causalSelfAttention(rows, weights, heads: heads))
                }
                attention = tape.concatenateRows(parts)
            }
            if let r = hooks.restoreAttention, r.layer == l + 1 {
                attention = tape.leaf(Self.replacingRows(tape.value(attention), r.positions, from: r.clean))
            }
            if hooks.record { out.attention.append(tape.value(attention)) }
            h = tape.add(h, attention)
            let m = tape.layerNorm(h, gamma: p[b + 6], beta: p[b + 7])
            var mlp = tape.linear(tape.gelu(tape.linear(m, p[b + 8], p[b + 9])), p[b + 10], p[b + 11])
            if let r = hooks.restoreMLP, r.layer == l + 1 {
                mlp = tape.leaf(Self.replacingRows(tape.value(mlp), r.positions, from: r.clean))
            }
            if hooks.record { out.mlp.append(tape.value(mlp)) }
            h = tape.add(h, mlp)
            restore(l + 1)
        }
        let f = 2 + Self.perLayer * layers
        let last = tape.layerNorm(tape.gatherRows(h, lasts), gamma: p[f], beta: p[f + 1])
        out.logits = tape.matmul(last, p[f + 2])
        return out
    }

    /// Matrix-product FLOPs of one forward over a sequence of `t` tokens (logits at one row).
    func forwardFlops(tokens t: Int) -> Int {
        let d = width
        return layers * (24 * t * d * d + 4 * t * t * d) + 2 * d * vocabulary
    }
}

/// Softmax probability of `token` in row `row` of `logits`, in Double.
func softmaxProbability(_ logits: Tensor, row: Int, token: Int) -> Double {
    let n = logits.columns
    var m = -Float.infinity
    for j in 0..<n { m = max(m, logits.scalars[row * n + j]) }
    var total = 0.0
    for j in 0..<n { total += Foundation.exp(Double(logits.scalars[row * n + j] - m)) }
    return Foundation.exp(Double(logits.scalars[row * n + token] - m)) / total
}

func argmax(_ logits: Tensor, row: Int) -> Int {
    let n = logits.columns
    var best = 0
    for j in 1..<n where logits.scalars[row * n + j] > logits.scalars[row * n + best] { best = j }
    return best
}
