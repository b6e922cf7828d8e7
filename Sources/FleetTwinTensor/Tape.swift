/// Reverse-mode differentiation on a tape.
///
/// Each operation appends its output value and a backward step; `backward(from:)` seeds the
/// loss gradient with 1 and runs the steps in reverse order of recording, so gradients
/// accumulate in one fixed order. A tape is used for one forward/backward pass and dropped.
public struct Variable: Hashable, Sendable {
    public let index: Int
}

public final class Tape {
    var values: [Tensor] = []
    var gradients: [Tensor?] = []
    var backwardSteps: [(output: Int, step: (Tape, Tensor) -> Void)] = []
    /// Floating-point operations of the matrix products recorded so far, forward and
    /// backward (2mkn each, the products dominate every workload here): what `record` reports.
    public internal(set) var matmulFlops: Int = 0
    /// Bytes of every value the tape holds: the activations a backward pass keeps alive.
    public var retainedBytes: Int { values.reduce(0) { $0 + $1.count * 4 } }

    public init() {}

    /// A leaf: an input or a parameter whose gradient you read after `backward`.
    public func leaf(_ value: Tensor) -> Variable {
        values.append(value)
        gradients.append(nil)
        return Variable(index: values.count - 1)
    }

    public func value(_ v: Variable) -> Tensor { values[v.index] }

    /// The gradient of the last `backward` loss with respect to `v` (zeros if it did not flow).
    public func gradient(_ v: Variable) -> Tensor {
        gradients[v.index] ?? Tensor(zeros: values[v.index].shape)
    }

    /// Records an operation: its value, and how to push its output gradient to its inputs.
    func record(_ value: Tensor, backward: @escaping (Tape, Tensor) -> Void) -> Variable {
        let v = leaf(value)
        backwardSteps.append((v.index, backward))
        return v
    }

    /// Adds `g` into the gradient of `v`.
    func accumulate(_ g: Tensor, into v: Variable) {
        if var existing = gradients[v.index] {
            gradients[v.index] = nil
            existing.scalars.withUnsafeMutableBufferPointer { e in
                g.scalars.withUnsafeBufferPointer { gb in
                    for i in 0..<e.count { e[i] += gb[i] }
                }
            }
            gradients[v.index] = existing
        } else {
            gradients[v.index] = g
        }
    }

    /// Back-propagates from a one-element `loss`.
    public func backward(from loss: Variable) {
        precondition(values[loss.index].count == 1, "backward needs a one-element loss, got \(values[loss.index].shape)")
        for i in gradients.indices { gradients[i] = nil }
        gradients[loss.index] = Tensor(shape: values[loss.index].shape, repeating: 1)
        for (output, step) in backwardSteps.reversed() where output <= loss.index {
            guard let g = gradients[output] else { continue }
            step(self, g)
        }
    }
}
