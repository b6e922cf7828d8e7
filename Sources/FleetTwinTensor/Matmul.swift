/// Matrix products with one fixed reduction order.
///
/// Every output element is the chain `acc = fma(a[i,p], b[p,j], acc)` for p = 0, 1, ... k-1,
/// starting from zero, whichever path (vector tile or scalar edge) computes it. So a product
/// is identical however the matrix is blocked, and a row of A times B is the same whether it
/// is computed alone or inside a batch.
public enum Matmul {
    /// C[m x n] = A[m x k] · B[k x n], all row-major.
    ///
    /// B is packed 32 columns at a time into a contiguous k x 32 panel; a 6 x 32 tile of C
    /// lives in twelve 16-lane accumulators while p runs over k. Rows and columns left over
    /// take narrower paths that compute the same chains.
    public static func multiply(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>,
                                into c: UnsafeMutableBufferPointer<Float>, m: Int, k: Int, n: Int) {
        guard let ap = a.baseAddress, let bp = b.baseAddress, let cp = c.baseAddress, m > 0, n > 0 else { return }
        if k == 0 {
            c.update(repeating: 0)
            return
        }
        let panelWidth = 32
        let panel = UnsafeMutablePointer<Float>.allocate(capacity: k * panelWidth)
        defer { panel.deallocate() }
        let praw = UnsafeRawPointer(panel)
        let craw = UnsafeMutableRawPointer(cp)
        let fullColumns = n - n % panelWidth
        var j = 0
        while j < fullColumns {
            for p in 0..<k { (panel + p * panelWidth).update(from: bp + p * n + j, count: panelWidth) }
            var i = 0
            while i + 6 <= m {
                let a0 = ap + i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k, a4 = a3 + k, a5 = a4 + k
                var c00 = SIMD16<Float>(), c01 = SIMD16<Float>(), c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
                var c20 = SIMD16<Float>(), c21 = SIMD16<Float>(), c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
                var c40 = SIMD16<Float>(), c41 = SIMD16<Float>(), c50 = SIMD16<Float>(), c51 = SIMD16<Float>()
                for p in 0..<k {
                    let b0 = praw.load(fromByteOffset: p * panelWidth * 4, as: SIMD16<Float>.self)
                    let b1 = praw.load(fromByteOffset: (p * panelWidth + 16) * 4, as: SIMD16<Float>.self)
                    var x = SIMD16<Float>(repeating: a0[p]); c00.addProduct(x, b0); c01.addProduct(x, b1)
                    x = SIMD16<Float>(repeating: a1[p]); c10.addProduct(x, b0); c11.addProduct(x, b1)
                    x = SIMD16<Float>(repeating: a2[p]); c20.addProduct(x, b0); c21.addProduct(x, b1)
                    x = SIMD16<Float>(repeating: a3[p]); c30.addProduct(x, b0); c31.addProduct(x, b1)
                    x = SIMD16<Float>(repeating: a4[p]); c40.addProduct(x, b0); c41.addProduct(x, b1)
                    x = SIMD16<Float>(repeating: a5[p]); c50.addProduct(x, b0); c51.addProduct(x, b1)
                }
                for (r, pair) in [(c00, c01), (c10, c11), (c20, c21), (c30, c31), (c40, c41), (c50, c51)].enumerated() {
                    craw.storeBytes(of: pair.0, toByteOffset: ((i + r) * n + j) * 4, as: SIMD16<Float>.self)
                    craw.storeBytes(of: pair.1, toByteOffset: ((i + r) * n + j + 16) * 4, as: SIMD16<Float>.self)
                }
                i += 6
            }
            while i < m {
                let ar = ap + i * k
                var c0 = SIMD16<Float>(), c1 = SIMD16<Float>()
                for p in 0..<k {
                    let x = SIMD16<Float>(repeating: ar[p])
                    c0.addProduct(x, praw.load(fromByteOffset: p * panelWidth * 4, as: SIMD16<Float>.self))
                    c1.addProduct(x, praw.load(fromByteOffset: (p * panelWidth + 16) * 4, as: SIMD16<Float>.self))
                }
                craw.storeBytes(of: c0, toByteOffset: (i * n + j) * 4, as: SIMD16<Float>.self)
                craw.storeBytes(of: c1, toByteOffset: (i * n + j + 16) * 4, as: SIMD16<Float>.self)
                i += 1
            }
            j += panelWidth
        }
        // Columns left over: scalar fused chains.
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
