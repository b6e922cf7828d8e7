/// Matrix products with one fixed reduction order.
///
/// Every output element is the chain `acc = fma(a[i,p], b[p,j], acc)` for p = 0, 1, ... k-1,
/// starting from zero, whichever path (vector tile or scalar edge) computes it. So a product
/// is identical however the matrix is blocked, and a row of A times B is the same whether it
/// is computed alone or inside a batch.
public enum Matmul {
    /// C[m x n] = A[m x k] · B[k x n], all row-major.
    ///
    /// B is packed 32 columns at a time into a contiguous k x 32 panel (the last one padded
    /// with zeros); a 6 x 32 tile of C lives in twelve 16-lane accumulators while p runs over
    /// k. Rows left over take a one-row path that computes the same chains.
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
        var j = 0
        while j < n {
            // The last panel may be narrower: its missing columns are zeros and are not stored.
            let width = min(panelWidth, n - j)
            if width < panelWidth { panel.update(repeating: 0, count: k * panelWidth) }
            for p in 0..<k { (panel + p * panelWidth).update(from: bp + p * n + j, count: width) }
            let out = cp + j
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
                store(c00, c01, to: out + i * n, width: width)
                store(c10, c11, to: out + (i + 1) * n, width: width)
                store(c20, c21, to: out + (i + 2) * n, width: width)
                store(c30, c31, to: out + (i + 3) * n, width: width)
                store(c40, c41, to: out + (i + 4) * n, width: width)
                store(c50, c51, to: out + (i + 5) * n, width: width)
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
                store(c0, c1, to: out + i * n, width: width)
                i += 1
            }
            j += panelWidth
        }
    }

    /// Writes the first `width` of 32 lanes (two vectors) to `row`.
    @inline(__always)
    static func store(_ low: SIMD16<Float>, _ high: SIMD16<Float>, to row: UnsafeMutablePointer<Float>, width: Int) {
        if width == 32 {
            UnsafeMutableRawPointer(row).storeBytes(of: low, as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(row).storeBytes(of: high, toByteOffset: 64, as: SIMD16<Float>.self)
            return
        }
        for lane in 0..<min(width, 16) { row[lane] = low[lane] }
        if width > 16 { for lane in 16..<width { row[lane] = high[lane - 16] } }
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
