/// Matrix products with one fixed reduction order.
///
/// Every output element is the chain `acc = fma(a[i,p], b[p,j], acc)` for p = 0, 1, ... k-1,
/// starting from zero, whichever path (vector tile or scalar edge) computes it. So a product
/// is identical however the matrix is blocked, and a row of A times B is the same whether it
/// is computed alone or inside a batch.
public enum Matmul {
    /// C[m x n] = A[m x k] · B[k x n], all row-major.
    public static func multiply(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>,
                                into c: UnsafeMutableBufferPointer<Float>, m: Int, k: Int, n: Int) {
        let tileRows = 4, tileColumns = 16
        let fullColumns = n - n % tileColumns
        let fullRows = m - m % tileRows
        guard let ap = a.baseAddress, let bp = b.baseAddress, let cp = c.baseAddress else { return }
        let braw = UnsafeRawPointer(bp)
        let craw = UnsafeMutableRawPointer(cp)
        var i = 0
        while i < fullRows {
            var j = 0
            while j < fullColumns {
                var c0 = SIMD16<Float>(), c1 = SIMD16<Float>(), c2 = SIMD16<Float>(), c3 = SIMD16<Float>()
                let a0 = ap + i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k
                for p in 0..<k {
                    let bv = braw.loadUnaligned(fromByteOffset: (p * n + j) * 4, as: SIMD16<Float>.self)
                    c0.addProduct(SIMD16(repeating: a0[p]), bv)
                    c1.addProduct(SIMD16(repeating: a1[p]), bv)
                    c2.addProduct(SIMD16(repeating: a2[p]), bv)
                    c3.addProduct(SIMD16(repeating: a3[p]), bv)
                }
                craw.storeBytes(of: c0, toByteOffset: (i * n + j) * 4, as: SIMD16<Float>.self)
                craw.storeBytes(of: c1, toByteOffset: ((i + 1) * n + j) * 4, as: SIMD16<Float>.self)
                craw.storeBytes(of: c2, toByteOffset: ((i + 2) * n + j) * 4, as: SIMD16<Float>.self)
                craw.storeBytes(of: c3, toByteOffset: ((i + 3) * n + j) * 4, as: SIMD16<Float>.self)
                j += tileColumns
            }
            i += tileRows
        }
        // Remaining rows under full column tiles: one row at a time, same chain per element.
        for row in fullRows..<m {
            var j = 0
            while j < fullColumns {
                var acc = SIMD16<Float>()
                let ar = ap + row * k
                for p in 0..<k {
                    let bv = braw.loadUnaligned(fromByteOffset: (p * n + j) * 4, as: SIMD16<Float>.self)
                    acc.addProduct(SIMD16(repeating: ar[p]), bv)
                }
                craw.storeBytes(of: acc, toByteOffset: (row * n + j) * 4, as: SIMD16<Float>.self)
                j += tileColumns
            }
        }
        // Remaining columns: scalar fused chains.
        if fullColumns < n {
            for row in 0..<m {
                let ar = ap + row * k
                for col in fullColumns..<n {
                    var acc: Float = 0
                    for p in 0..<k { acc.addProduct(ar[p], bp[p * n + col]) }
                    cp[row * n + col] = acc
                }
            }
        }
    }

    /// A[m x k] · B[k x n] as a new tensor.
    public static func product(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.rank == 2 && b.rank == 2 && a.shape[1] == b.shape[0],
                     "matmul shapes \(a.shape) · \(b.shape) do not chain")
        let m = a.shape[0], k = a.shape[1], n = b.shape[1]
        var out = [Float](repeating: 0, count: m * n)
        a.scalars.withUnsafeBufferPointer { ab in
            b.scalars.withUnsafeBufferPointer { bb in
                out.withUnsafeMutableBufferPointer { cb in
                    multiply(ab, bb, into: cb, m: m, k: k, n: n)
                }
            }
        }
        return Tensor(shape: [m, n], scalars: out)
    }

    /// A · Bᵀ (B given as [n x k]).
    public static func productTransposingB(_ a: Tensor, _ b: Tensor) -> Tensor {
        product(a, b.transposed())
    }

    /// Aᵀ · B (A given as [k x m]).
    public static func productTransposingA(_ a: Tensor, _ b: Tensor) -> Tensor {
        product(a.transposed(), b)
    }
}
