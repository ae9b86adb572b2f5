/// A fully connected layer `y = x Wᵀ + b` with `W: [out, in]` (PyTorch's layout).
///
/// Unlike the frozen convolutions, `Linear` also gives the gradients of its weight and bias: it is the
/// trainable label mapping (FullyMap) and the linear probe.
public struct Linear: Sendable {
  public var inFeatures: Int
  public var outFeatures: Int
  /// `[out, in]`, row-major.
  public var weight: [Float]
  /// `[out]`.
  public var bias: [Float]

  public init(weight: [Float], bias: [Float]?, inFeatures: Int, outFeatures: Int) {
    precondition(weight.count == inFeatures * outFeatures, "linear weight needs \(inFeatures * outFeatures) values")
    self.inFeatures = inFeatures
    self.outFeatures = outFeatures
    self.weight = weight
    self.bias = bias ?? [Float](repeating: 0, count: outFeatures)
    precondition(self.bias.count == outFeatures, "linear bias needs \(outFeatures) values")
  }

  /// `y = x Wᵀ + b` for `x: [N, in]` given as `rows` rows.
  public func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
    for r in 0..<rows { (y + r * outFeatures).update(from: bias, count: outFeatures) }
    weight.withUnsafeBufferPointer { w in
      BLAS.sgemm(
        transA: false, transB: true, m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures,
        b: w.baseAddress!, ldb: inFeatures, beta: 1, c: y, ldc: outFeatures)
    }
  }

  /// `∂L/∂x = (∂L/∂y) W`.
  public func inputGradient(_ gy: UnsafePointer<Float>, rows: Int, into gx: UnsafeMutablePointer<Float>) {
    weight.withUnsafeBufferPointer { w in
      BLAS.sgemm(
        transA: false, transB: false, m: rows, n: inFeatures, k: outFeatures, a: gy, lda: outFeatures,
        b: w.baseAddress!, ldb: inFeatures, c: gx, ldc: inFeatures)
    }
  }

  /// `∂L/∂W = (∂L/∂y)ᵀ x` and `∂L/∂b = Σ_rows ∂L/∂y`.
  public func parameterGradients(x: UnsafePointer<Float>, gy: UnsafePointer<Float>, rows: Int) -> (
    weight: [Float], bias: [Float]
  ) {
    var gw = [Float](repeating: 0, count: weight.count)
    var gb = [Float](repeating: 0, count: outFeatures)
    gw.withUnsafeMutableBufferPointer { g in
      BLAS.sgemm(
        transA: true, transB: false, m: outFeatures, n: inFeatures, k: rows, a: gy, lda: outFeatures, b: x,
        ldb: inFeatures, c: g.baseAddress!, ldc: inFeatures)
    }
    for r in 0..<rows { for o in 0..<outFeatures { gb[o] += gy[r * outFeatures + o] } }
    return (gw, gb)
  }

  /// `y = x Wᵀ + b` for a tensor `[N, in]`.
  public func callAsFunction(_ x: Tensor) -> Tensor {
    precondition(x.shape.last == inFeatures, "linear expects \(inFeatures) features, got shape \(x.shape)")
    let rows = x.count / inFeatures
    var y = [Float](repeating: 0, count: rows * outFeatures)
    x.data.withUnsafeBufferPointer { xp in
      y.withUnsafeMutableBufferPointer { forward(xp.baseAddress!, rows: rows, into: $0.baseAddress!) }
    }
    return Tensor(shape: [rows, outFeatures], data: y)
  }

  /// All three gradients for an input `x: [N, in]` and `∂L/∂y: [N, out]`.
  public func gradients(x: Tensor, outputGradient gy: Tensor) -> (input: Tensor, weight: [Float], bias: [Float]) {
    let rows = x.count / inFeatures
    precondition(gy.count == rows * outFeatures, "gradient shape \(gy.shape) does not match \(rows)×\(outFeatures)")
    var gx = [Float](repeating: 0, count: x.count)
    var params: (weight: [Float], bias: [Float]) = ([], [])
    x.data.withUnsafeBufferPointer { xp in
      gy.data.withUnsafeBufferPointer { gp in
        gx.withUnsafeMutableBufferPointer { inputGradient(gp.baseAddress!, rows: rows, into: $0.baseAddress!) }
        params = parameterGradients(x: xp.baseAddress!, gy: gp.baseAddress!, rows: rows)
      }
    }
    return (Tensor(shape: x.shape, data: gx), params.weight, params.bias)
  }
}
