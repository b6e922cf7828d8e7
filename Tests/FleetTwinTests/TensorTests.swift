import FleetTwinEngine
import FleetTwinTensor
import Foundation
import Testing

/// Central finite differences of `loss` with respect to every entry of every input, compared
/// with the tape's gradients. Float32 limits the agreement to about 1e-2 relative.
func expectGradientsMatch(_ inputs: [Tensor], tolerance: Float = 2e-2,
                          _ loss: (Tape, [Variable]) -> Variable,
                          sourceLocation: SourceLocation = #_sourceLocation) {
    let tape = Tape()
    let leaves = inputs.map(tape.leaf)
    tape.backward(from: loss(tape, leaves))
    let analytic = leaves.map(tape.gradient)
    let h: Float = 1e-2
    for (n, input) in inputs.enumerated() {
        for i in input.scalars.indices {
            func evaluate(_ delta: Float) -> Float {
                var shifted = inputs
                shifted[n].scalars[i] += delta
                let t = Tape()
                return t.value(loss(t, shifted.map(t.leaf))).scalar
            }
            let numeric = (evaluate(h) - evaluate(-h)) / (2 * h)
            let a = analytic[n].scalars[i]
            let scale = max(1, abs(numeric), abs(a))
            #expect(abs(numeric - a) <= tolerance * scale,
                    "input \(n) entry \(i): analytic \(a), finite difference \(numeric)", sourceLocation: sourceLocation)
        }
    }
}

func randomTensor(_ shape: [Int], seed: UInt64, std: Float = 1) -> Tensor {
    var g = SeededGenerator(seed: seed)
    return Tensor.randomNormal(shape: shape, std: std, using: &g)
}

@Suite("Tensor core: gradients match finite differences")
struct GradientCheckTests {
    @Test func matmulAndBias() {
        expectGradientsMatch([randomTensor([3, 4], seed: 1), randomTensor([4, 5], seed: 2), randomTensor([5], seed: 3)]) { t, v in
            t.sum(t.multiply(t.linear(v[0], v[1], v[2]), t.linear(v[0], v[1], v[2])))
        }
        expectGradientsMatch([randomTensor([3, 4], seed: 4), randomTensor([5, 4], seed: 5)]) { t, v in
            t.mean(t.tanh(t.matmul(v[0], v[1], transposingB: true)))
        }
    }

    @Test func activations() {
        let x = randomTensor([2, 7], seed: 6)
        expectGradientsMatch([x]) { t, v in t.sum(t.gelu(v[0])) }
        expectGradientsMatch([x]) { t, v in t.sum(t.sigmoid(v[0])) }
        // ReLU's kink: finite differences are wrong within h of zero, so keep entries away from it.
        let away = Tensor(shape: x.shape, scalars: x.scalars.map { $0 + ($0 >= 0 ? 0.1 : -0.1) })
        expectGradientsMatch([away, randomTensor([2, 7], seed: 7)]) { t, v in t.sum(t.multiply(t.relu(v[0]), v[1])) }
    }

    @Test func layerNormAndSoftmax() {
        expectGradientsMatch([randomTensor([3, 6], seed: 8), randomTensor([6], seed: 9), randomTensor([6], seed: 10),
                              randomTensor([3, 6], seed: 11)]) { t, v in
            t.sum(t.multiply(t.layerNorm(v[0], gamma: v[1], beta: v[2]), v[3]))
        }
        var blocked = [Bool](repeating: false, count: 12)
        blocked[1] = true; blocked[6] = true
        expectGradientsMatch([randomTensor([3, 4], seed: 12), randomTensor([3, 4], seed: 13)]) { t, v in
            t.sum(t.multiply(t.softmax(v[0], blocked: blocked), v[1]))
        }
    }

    @Test func embeddingSlicesAndConcatenation() {
        expectGradientsMatch([randomTensor([5, 3], seed: 14), randomTensor([3, 5], seed: 15)]) { t, v in
            let e = t.embedding(v[0], [4, 0, 4, 2])
            let joined = t.concatenateColumns([t.columns(e, 0..<1), e, t.columns(e, 1..<3)])
            return t.sum(t.tanh(t.matmul(t.concatenateRows([joined, joined]), t.concatenateRows([v[1], v[1]]))))
        }
    }

    @Test func causalSelfAttentionWithKnockout() {
        let d = 4
        let inputs = [randomTensor([5, d], seed: 16)] + (17..<21).map { randomTensor([d, d], seed: UInt64($0), std: 0.5) }
        for knockout in [Set<AttentionEdge>(), [AttentionEdge(query: 4, key: 1), AttentionEdge(query: 4, key: 2)]] {
            expectGradientsMatch(inputs) { t, v in
                let w = AttentionWeights(query: v[1], key: v[2], value: v[3], output: v[4])
                return t.sum(t.tanh(t.causalSelfAttention(v[0], w, heads: 2, knockout: knockout)))
            }
        }
    }

    @Test func losses() {
        expectGradientsMatch([randomTensor([4, 5], seed: 21)]) { t, v in t.crossEntropy(v[0], targets: [0, 4, 2, 2]) }
        expectGradientsMatch([randomTensor([6], seed: 22)]) { t, v in
            t.binaryCrossEntropy(logits: v[0], targets: [1, 0, 0.5, 1, 0, 0.25])
        }
        let labels: [Float] = [3, 1, 0, 2, 0, 1, 2, 2]
        expectGradientsMatch([randomTensor([2, 4], seed: 23)]) { t, v in t.rankNet(scores: v[0], labels: labels, listLength: 4) }
        expectGradientsMatch([randomTensor([2, 4], seed: 24)]) { t, v in t.listNet(scores: v[0], labels: labels, listLength: 4) }
    }

    @Test func scaleBackPropagatesItsFactorExactly() {
        let tape = Tape()
        let x = tape.leaf(randomTensor([3], seed: 25))
        tape.backward(from: tape.sum(tape.scale(x, 2)))
        #expect(tape.gradient(x).scalars == [2, 2, 2])
    }
}

@Suite("Tensor core: determinism, Adam and byte encoding")
struct TensorCoreTests {
    @Test func matmulIsAFixedFusedChainWhateverTheBlocking() {
        for (m, k, n) in [(9, 13, 37), (4, 64, 16), (1, 5, 3), (17, 33, 48), (13, 20, 70), (12, 7, 64), (3, 0, 32)] {
            let a = randomTensor([m, k], seed: UInt64(m)), b = randomTensor([k, n], seed: UInt64(n))
            let c = Matmul.product(a, b)
            for i in 0..<m { for j in 0..<n {
                var acc: Float = 0
                for p in 0..<k { acc.addProduct(a[i, p], b[p, j]) }
                #expect(c[i, j].bitPattern == acc.bitPattern, "(\(m)x\(k)x\(n)) entry \(i),\(j)")
            } }
            // A row computed alone equals the same row inside the batch.
            let row = Matmul.product(a.rows((m - 1)..<m), b)
            #expect(row.scalars == Array(c.scalars[((m - 1) * n)...]))
        }
    }

    @Test func adamMinimisesAQuadratic() {
        var parameters = [Tensor(shape: [2], scalars: [3, -2])]
        var adam = Adam(learningRate: 0.1)
        for _ in 0..<300 {
            let tape = Tape()
            let p = tape.leaf(parameters[0])
            let target = tape.leaf(Tensor(shape: [2], scalars: [1, 1]))
            let d = tape.subtract(p, target)
            tape.backward(from: tape.sum(tape.multiply(d, d)))
            adam.update(&parameters, gradients: [tape.gradient(p)])
        }
        #expect(abs(parameters[0].scalars[0] - 1) < 0.05 && abs(parameters[0].scalars[1] - 1) < 0.05, "\(parameters[0].scalars)")
        #expect(adam.step == 300)
    }

    @Test func byteEncodingRoundTripsAndRejectsDamage() throws {
        var adam = Adam(learningRate: 0.01)
        var parameters = [randomTensor([3, 2], seed: 26)]
        adam.update(&parameters, gradients: [randomTensor([3, 2], seed: 27)])
        var writer = ByteWriter()
        writer.write(parameters)
        adam.encode(to: &writer)
        writer.write("done")
        var reader = ByteReader(writer.bytes)
        #expect(try reader.readTensors() == parameters)
        #expect(try Adam(from: &reader) == adam)
        #expect(try reader.readString() == "done")
        try reader.expectEnd()

        var truncated = ByteReader(Array(writer.bytes.dropLast(3)))
        _ = try truncated.readTensors()
        _ = try Adam(from: &truncated)
        #expect(throws: ByteDecodingError.self) { try truncated.readString() }
        var corrupt = writer.bytes
        corrupt[0] = 0xFF // an absurd tensor count
        var bad = ByteReader(corrupt)
        #expect(throws: ByteDecodingError.self) { try bad.readTensors() }
    }

    @Test func randomNormalIsSeededAndScaled() {
        let a = randomTensor([1000], seed: 5, std: 2), b = randomTensor([1000], seed: 5, std: 2)
        #expect(a == b)
        let mean = a.sum() / 1000
        let variance = a.scalars.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 1000
        #expect(abs(mean) < 0.2 && abs(variance.squareRoot() - 2) < 0.2)
        #expect(a != randomTensor([1000], seed: 6, std: 2))
    }
}
