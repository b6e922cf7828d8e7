import Foundation

/// Adam (Kingma and Ba), with bias correction; its moments are part of a checkpoint.
public struct Adam: Equatable, Sendable {
    public var learningRate: Float
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public private(set) var step: Int = 0
    public private(set) var firstMoments: [Tensor] = []
    public private(set) var secondMoments: [Tensor] = []

    public init(learningRate: Float) {
        self.learningRate = learningRate
    }

    /// One update of `parameters` from their `gradients` (same order and shapes).
    public mutating func update(_ parameters: inout [Tensor], gradients: [Tensor]) {
        precondition(parameters.count == gradients.count, "\(gradients.count) gradients for \(parameters.count) parameters")
        if firstMoments.isEmpty {
            firstMoments = parameters.map { Tensor(zeros: $0.shape) }
            secondMoments = firstMoments
        }
        step += 1
        let correction1 = 1 - Float(Foundation.pow(Double(beta1), Double(step)))
        let correction2 = 1 - Float(Foundation.pow(Double(beta2), Double(step)))
        for p in parameters.indices {
            let g = gradients[p].scalars
            precondition(g.count == parameters[p].count, "gradient \(p) has \(g.count) entries for \(parameters[p].count)")
            for i in g.indices {
                let m = beta1 * firstMoments[p].scalars[i] + (1 - beta1) * g[i]
                let v = beta2 * secondMoments[p].scalars[i] + (1 - beta2) * g[i] * g[i]
                firstMoments[p].scalars[i] = m
                secondMoments[p].scalars[i] = v
                parameters[p].scalars[i] -= learningRate * (m / correction1) / ((v / correction2).squareRoot() + epsilon)
            }
        }
    }

    public func encode(to writer: inout ByteWriter) {
        writer.write(learningRate); writer.write(beta1); writer.write(beta2); writer.write(epsilon)
        writer.write(step)
        writer.write(firstMoments)
        writer.write(secondMoments)
    }

    public init(from reader: inout ByteReader) throws {
        learningRate = try reader.readFloat(); beta1 = try reader.readFloat()
        beta2 = try reader.readFloat(); epsilon = try reader.readFloat()
        step = try reader.readInt()
        firstMoments = try reader.readTensors()
        secondMoments = try reader.readTensors()
    }
}
