/// FleetTwinTensor owns the numeric core that FleetTwin's real workloads run on: Float32
/// tensors with contiguous row-major storage, matrix products with a fixed reduction order,
/// reverse-mode differentiation on a tape (`Tape`), the Adam optimizer, and the stable byte
/// encoding that checkpoints use.
///
/// Determinism is the point, not an accident: every reduction runs in one fixed order and
/// every multiply-add that feeds a reduction is a fused multiply-add (`addingProduct`,
/// correctly rounded by IEEE 754), so a result does not depend on blocking, vector width,
/// thread count or machine. Elementwise transcendental functions (`exp`, `tanh`, `log`) come
/// from the platform's libm: identical across runs and processes on one system.
import FleetTwinEngine
import Foundation

/// A dense Float32 tensor, row-major. Rank 1 and 2 are what the workloads use; higher ranks
/// are carried as shapes over the same flat storage.
public struct Tensor: Equatable, Sendable {
    public var shape: [Int]
    public var scalars: [Float]

    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.reduce(1, *) == scalars.count,
                     "shape \(shape) needs \(shape.reduce(1, *)) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, repeating: 0)
    }

    public init(shape: [Int], repeating value: Float) {
        self.shape = shape
        self.scalars = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// A scalar (rank 0) tensor.
    public init(_ value: Float) {
        self.init(shape: [], scalars: [value])
    }

    /// Normal(0, std) entries from `generator` (Box-Muller over 53-bit uniforms), in order.
    public static func randomNormal(shape: [Int], std: Float, using generator: inout SeededGenerator) -> Tensor {
        let count = shape.reduce(1, *)
        var scalars = [Float]()
        scalars.reserveCapacity(count)
        while scalars.count < count {
            let u1 = generator.nextOpenUnitDouble()
            let u2 = generator.nextUnitDouble()
            let radius = (-2 * log(u1)).squareRoot()
            scalars.append(Float(radius * cos(2 * Double.pi * u2)) * std)
            if scalars.count < count { scalars.append(Float(radius * sin(2 * Double.pi * u2)) * std) }
        }
        return Tensor(shape: shape, scalars: scalars)
    }

    public var count: Int { scalars.count }
    public var rank: Int { shape.count }
    /// Rows of a rank-2 tensor (1 for a vector, so vectors act as one row).
    public var rows: Int { shape.count == 2 ? shape[0] : 1 }
    /// Columns of a rank-2 tensor (the length of a vector).
    public var columns: Int { shape.last ?? 1 }

    /// The only element of a one-element tensor.
    public var scalar: Float {
        precondition(scalars.count == 1, "not a one-element tensor: shape \(shape)")
        return scalars[0]
    }

    public subscript(row: Int, column: Int) -> Float {
        get { scalars[row * columns + column] }
        set { scalars[row * columns + column] = newValue }
    }

    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, scalars: scalars)
    }

    /// Rows `range` of a rank-2 tensor.
    public func rows(_ range: Range<Int>) -> Tensor {
        let c = columns
        return Tensor(shape: [range.count, c], scalars: Array(scalars[(range.lowerBound * c)..<(range.upperBound * c)]))
    }

    public func transposed() -> Tensor {
        precondition(rank == 2, "transpose needs a matrix, got shape \(shape)")
        let m = shape[0], n = shape[1]
        var out = [Float](repeating: 0, count: m * n)
        scalars.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<m { for j in 0..<n { dst[j * m + i] = src[i * n + j] } }
            }
        }
        return Tensor(shape: [n, m], scalars: out)
    }

    /// The sum of all entries, left to right.
    public func sum() -> Float {
        var total: Float = 0
        for x in scalars { total += x }
        return total
    }
}

