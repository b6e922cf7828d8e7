import FleetTwinEngine
import FleetTwinTensor
import Foundation

/// The synthetic relevance data of the reranker workload.
///
/// A query and each of its K candidate documents are `featureCount`-dimensional standard
/// normal vectors. A pair's input is x = [q, d, q*d] (3 * featureCount numbers). The hidden
/// teacher, drawn from the seed's "teacher" stream (so identical for every size and loss of one
/// seed), is a sum of `components` tanh features with power-law amplitudes:
///     t(x) = sum over m = 1...M of m^(-alpha) * tanh(v_m . x + beta_m),
/// v_m ~ N(0, gain^2 / (3F)), beta_m ~ N(0, 0.5^2), M = 64, alpha = 1, gain = 2; then scaled to
/// unit spread over random pairs. A student of width w can capture roughly its top w
/// components, so the error left shrinks as a power of width: the data where size matters.
/// The score plus Gaussian noise ranks a query's K candidates and the rank gives labels 0-3.
public struct RerankerTeacher: Sendable {
    public static let featureCount = 16
    public static let components = 64
    public static let amplitudeExponent = 1.0
    public static let gain: Float = 2
    /// Standard deviation of the label noise, in units of the teacher score's spread.
    public static let labelNoise: Float = 0.3

    public static var inputWidth: Int { 3 * featureCount }

    let w1: Tensor, b1: Tensor, w3: Tensor
    /// Multiplies raw scores so that they have unit spread over random pairs.
    let outputScale: Float

    public init(generator: SeededGenerator) {
        var g = generator
        let n = Self.inputWidth, h = Self.components
        w1 = Tensor.randomNormal(shape: [n, h], std: Self.gain / Float(n).squareRoot(), using: &g)
        b1 = Tensor.randomNormal(shape: [h], std: 0.5, using: &g)
        // Amplitude m^-alpha with a random sign per component.
        w3 = Tensor(shape: [h, 1], scalars: (1...h).map { m in
            Float(Foundation.pow(Double(m), -Self.amplitudeExponent)) * (g.next() & 1 == 0 ? 1 : -1)
        })
        // Calibrate the score spread on 256 random pairs drawn after the weights.
        let probe = RerankerTeacher.pairFeatures(query: Tensor.randomNormal(shape: [Self.featureCount], std: 1, using: &g),
                                                 documents: Tensor.randomNormal(shape: [256, Self.featureCount], std: 1, using: &g))
        let unscaled = Self.rawScores(probe, w1, b1, w3)
        var mean = 0.0, square = 0.0
        for s in unscaled { mean += Double(s) }
        mean /= Double(unscaled.count)
        for s in unscaled { square += (Double(s) - mean) * (Double(s) - mean) }
        let std = (square / Double(unscaled.count)).squareRoot()
        outputScale = std > 0 ? Float(1 / std) : 1
    }

    /// [q, d, q*d] for each document row: [K x 3F].
    public static func pairFeatures(query: Tensor, documents: Tensor) -> Tensor {
        let f = featureCount, k = documents.rows
        var out = [Float](repeating: 0, count: k * 3 * f)
        for j in 0..<k {
            for i in 0..<f {
                let q = query.scalars[i], d = documents.scalars[j * f + i]
                out[j * 3 * f + i] = q
                out[j * 3 * f + f + i] = d
                out[j * 3 * f + 2 * f + i] = q * d
            }
        }
        return Tensor(shape: [k, 3 * f], scalars: out)
    }

    static func rawScores(_ x: Tensor, _ w1: Tensor, _ b1: Tensor, _ w3: Tensor) -> [Float] {
        var h = Matmul.product(x, w1)
        let n = h.columns
        for i in 0..<h.rows { for j in 0..<n { h.scalars[i * n + j] = Foundation.tanh(h.scalars[i * n + j] + b1.scalars[j]) } }
        return Matmul.product(h, w3).scalars
    }

    /// Teacher scores of the rows of `features` ([rows x 3F]).
    public func scores(_ features: Tensor) -> [Float] {
        Self.rawScores(features, w1, b1, w3).map { $0 * outputScale }
    }
}

/// One query with its K candidates: pair features [K x 3F] and graded labels 0-3.
public struct RerankerList: Sendable {
    public var features: Tensor
    public var labels: [Float]
}

extension RerankerTeacher {
    /// Label counts for K candidates: K/16 (at least 1) get 3, K/8 (at least 1) get 2,
    /// K/4 get 1, the rest 0. Labels 2 and 3 are "relevant" for MAP, MRR and entropy.
    public static func labelCounts(candidates k: Int) -> (three: Int, two: Int, one: Int) {
        (max(1, k / 16), max(1, k / 8), k / 4)
    }

    /// Graded labels from noisy scores: the candidates ranked by score (ties by index), then
    /// the top `three` get 3, the next `two` get 2, the next `one` get 1.
    public static func gradedLabels(noisyScores z: [Float]) -> [Float] {
        let order = z.indices.sorted { z[$0] > z[$1] || (z[$0] == z[$1] && $0 < $1) }
        let counts = labelCounts(candidates: z.count)
        var labels = [Float](repeating: 0, count: z.count)
        for (rank, index) in order.enumerated() {
            if rank < counts.three { labels[index] = 3 }
            else if rank < counts.three + counts.two { labels[index] = 2 }
            else if rank < counts.three + counts.two + counts.one { labels[index] = 1 }
        }
        return labels
    }

    /// The next query and its K candidates from `generator`: query, documents, then noise.
    public func makeList(candidates k: Int, using generator: inout SeededGenerator) -> RerankerList {
        let query = Tensor.randomNormal(shape: [Self.featureCount], std: 1, using: &generator)
        let documents = Tensor.randomNormal(shape: [k, Self.featureCount], std: 1, using: &generator)
        let noise = Tensor.randomNormal(shape: [k], std: Self.labelNoise, using: &generator)
        let features = Self.pairFeatures(query: query, documents: documents)
        let s = scores(features)
        let z = zip(s, noise.scalars).map { $0 + $1 }
        return RerankerList(features: features, labels: Self.gradedLabels(noisyScores: z))
    }
}
