extension Conv2D {
  /// The gradients of the loss with respect to the weights and the bias of an ungrouped convolution.
  ///
  /// `∂L/∂W[o, c, ky, kx] = Σ_{n, i, j} ∂L/∂y[n, i, j, o] · x[n, i·s + ky − pad, j·s + kx − pad, c]` and
  /// `∂L/∂b[o] = Σ_{n, i, j} ∂L/∂y[n, i, j, o]`, for any kernel, stride and padding. The output rows are cut
  /// into fixed pieces of `im2colRows` rows (the cut does not depend on the thread count); each piece is
  /// unfolded (im2col) and multiplied by its output gradient in one GEMM, `∂L/∂y_pieceᵀ · col`, and the pieces'
  /// partial sums are added in piece order, so the result is the same for every number of threads.
  ///
  /// The activation is taken to be the identity: `outputGradient` is the gradient at the convolution's output
  /// before any non-linearity (apply the activation's mask first).
  ///
  /// - Parameters:
  ///   - input: `x`, `[N, H, W, C_in]`; not modified, not released.
  ///   - outputGradient: `∂L/∂y`, `[N, H', W', C_out]`; not modified, not released.
  ///   - workspace: decides whether the pieces run in parallel.
  /// - Returns: `∂L/∂W` in PyTorch's `OIHW` layout `[C_out, C_in, kh, kw]` and `∂L/∂b` (`C_out` values).
  public func parameterGradient(input x: FeatureMap, outputGradient gy: FeatureMap, workspace ws: Workspace) -> (
    weight: [Float], bias: [Float]
  ) {
    precondition(groups == 1, "parameter gradients are implemented for ungrouped convolutions only")
    precondition(x.c == inChannels, "conv expects \(inChannels) input channels, got \(x.c)")
    let (oh, ow) = outputSize(h: x.h, w: x.w)
    precondition(
      gy.n == x.n && gy.h == oh && gy.w == ow && gy.c == outChannels,
      "output gradient [\(gy.n), \(gy.h), \(gy.w), \(gy.c)] does not match [\(x.n), \(oh), \(ow), \(outChannels)]")
    let p = padding.resolve(h: x.h, w: x.w, kernelH: kernelH, kernelW: kernelW, strideH: strideH, strideW: strideW)
    let (cin, cout, kh, kw, sh, sw) = (inChannels, outChannels, kernelH, kernelW, strideH, strideW)
    let k = kh * kw * cin
    let total = gy.rows
    let chunk = Self.im2colRows(k: k)
    let pieces = (total + chunk - 1) / chunk
    // A 1×1 stride-1 convolution without padding reads its input rows directly.
    let direct = kh == 1 && kw == 1 && sh == 1 && sw == 1 && p.top == 0 && p.left == 0 && p.bottom == 0 && p.right == 0
    // Each piece writes its own partial sums: no two tasks touch the same memory.
    let partialWeights = UnsafeMutablePointer<Float>.allocate(capacity: max(1, pieces * cout * k))
    let partialBias = UnsafeMutablePointer<Double>.allocate(capacity: max(1, pieces * cout))
    defer {
      partialWeights.deallocate()
      partialBias.deallocate()
    }
    Profiler.shared.measure("wgrad conv k\(kh) s\(sh) \(cin)->\(cout) @\(x.h)") {
      ws.forEach(pieces) { piece in
        let r0 = piece * chunk
        let rows = min(chunk, total - r0)
        let g = UnsafePointer(gy.pointer + r0 * cout)
        let sums = partialBias + piece * cout
        sums.update(repeating: 0, count: cout)
        for i in 0..<rows { for o in 0..<cout { sums[o] += Double(g[i * cout + o]) } }
        if direct {
          BLAS.sgemm(
            transA: true, transB: false, m: cout, n: k, k: rows, a: g, lda: cout, b: x.pointer + r0 * cin, ldb: cin,
            c: partialWeights + piece * cout * k, ldc: k)
          return
        }
        let col = UnsafeMutablePointer<Float>.allocate(capacity: rows * k)
        defer { col.deallocate() }
        unfold(x, rows: r0..<(r0 + rows), outputW: ow, outputH: oh, padding: p, group: 0, into: col)
        BLAS.sgemm(
          transA: true, transB: false, m: cout, n: k, k: rows, a: g, lda: cout, b: col, ldb: k,
          c: partialWeights + piece * cout * k, ldc: k)
      }
    }
    // The pieces in order; the columns of the partial products are ordered (ky, kx, c), PyTorch's (c, ky, kx).
    var weight = [Float](repeating: 0, count: cout * k)
    var bias = [Float](repeating: 0, count: cout)
    for o in 0..<cout {
      var b = 0.0
      for piece in 0..<pieces { b += partialBias[piece * cout + o] }
      bias[o] = Float(b)
      for ky in 0..<kh {
        for kx in 0..<kw {
          for c in 0..<cin {
            let column = (ky * kw + kx) * cin + c
            var s: Float = 0
            for piece in 0..<pieces { s += partialWeights[(piece * cout + o) * k + column] }
            weight[((o * cin + c) * kh + ky) * kw + kx] = s
          }
        }
      }
    }
    return (weight, bias)
  }

  /// `∂L/∂W` (PyTorch's `OIHW` layout) and `∂L/∂b` for an input `x` and an output gradient `∂L/∂y`, both
  /// channels-last tensors (see `parameterGradient(input:outputGradient:workspace:)`).
  public func parameterGradient(at x: Tensor, outputGradient gy: Tensor) -> (weight: [Float], bias: [Float]) {
    let ws = Workspace(parallel: true)
    let input = ws.featureMap(copying: x)
    let g = ws.featureMap(copying: gy)
    defer {
      ws.release(input)
      ws.release(g)
    }
    return parameterGradient(input: input, outputGradient: g, workspace: ws)
  }
}
