import CKernels

/// Multi-head self-attention with PyTorch's `nn.MultiheadAttention` parameters, on tokens laid out
/// `[N, H, W, D]` (a sequence of `T = H·W` tokens per image; transformers use `[N, 1, T, D]`).
///
/// `[Q K V] = x W_inᵀ + b_in` (`in_proj_weight: [3D, D]`), per head `h` of width `d = D / heads`:
/// `O_h = softmax(Q_h K_hᵀ / √d + M) V_h`, with `M` the optional causal mask (`−∞` above the diagonal: token
/// `i` attends to tokens `j ≤ i`), and `y = [O_1 … O_heads] W_outᵀ + b_out`.
///
/// The backward pass keeps `Q`, `K`, `V` (`3·T·D` floats per image) and recomputes the attention
/// probabilities `P` from them (one `T × d × T` product per head: a few per cent of the layer's work, and
/// `heads·T²` floats per image less to keep), then
/// `∂V_h = P_hᵀ ∂O_h`, `∂P_h = ∂O_h V_hᵀ`, `∂S_h = P_h ⊙ (∂P_h − rowsum(∂P_h ⊙ P_h)) / √d`,
/// `∂Q_h = ∂S_h K_h`, `∂K_h = ∂S_hᵀ Q_h`, `∂x = [∂Q ∂K ∂V] W_in`.
///
/// Work is split over (image, head) pairs and fixed pieces of rows: results do not depend on the thread count.
public struct MultiHeadSelfAttention: FrozenLayer, Sendable {
  public let embedDim: Int
  public let heads: Int
  /// Whether token `i` may attend only to tokens `j ≤ i` (a text encoder's causal mask).
  public let causal: Bool
  /// The packed query/key/value projection, `[3D, D]` and `[3D]`.
  public let inProjection: TokenLinear
  /// The output projection, `[D, D]` and `[D]`.
  public let outProjection: TokenLinear

  public var headDim: Int { embedDim / heads }

  /// - Parameters:
  ///   - inProjWeight: `in_proj_weight`, `[3D, D]` row-major (queries, then keys, then values).
  ///   - inProjBias: `in_proj_bias`, `[3D]` (nil: zeros).
  ///   - outProjWeight: `out_proj.weight`, `[D, D]`.
  ///   - outProjBias: `out_proj.bias`, `[D]` (nil: zeros).
  ///   - heads: the number of heads; must divide `embedDim`.
  public init(
    embedDim: Int, heads: Int, inProjWeight: [Float], inProjBias: [Float]?, outProjWeight: [Float],
    outProjBias: [Float]?, causal: Bool = false
  ) {
    precondition(heads > 0 && embedDim % heads == 0, "attention: \(heads) heads do not divide \(embedDim)")
    self.embedDim = embedDim
    self.heads = heads
    self.causal = causal
    inProjection = TokenLinear(
      Linear(weight: inProjWeight, bias: inProjBias, inFeatures: embedDim, outFeatures: 3 * embedDim))
    outProjection = TokenLinear(
      Linear(weight: outProjWeight, bias: outProjBias, inFeatures: embedDim, outFeatures: embedDim))
  }

  public func forward(_ x: FeatureMap, workspace ws: Workspace, tape: Tape?) -> FeatureMap {
    precondition(x.c == embedDim, "attention over \(embedDim) features, got \(x.c) channels")
    let qkv = inProjection.forward(x, workspace: ws, tape: nil)
    let o = ws.featureMap(n: x.n, h: x.h, w: x.w, c: embedDim)
    let (t, d, dh, scale) = (x.h * x.w, embedDim, headDim, 1 / Float(headDim).squareRoot())
    let causal = self.causal
    Profiler.shared.measure("fwd attention T\(t) heads \(heads)") {
      ws.forEach(x.n * heads) { task in
        let (n, h) = (task / heads, task % heads)
        let p = UnsafeMutablePointer<Float>.allocate(capacity: t * t)
        defer { p.deallocate() }
        let base = qkv.pointer + n * t * 3 * d + h * dh
        Self.probabilities(q: base, k: base + d, tokens: t, headDim: dh, stride: 3 * d, scale: scale, causal: causal, p)
        // O_h = P V_h
        BLAS.sgemm(
          transA: false, transB: false, m: t, n: dh, k: t, a: p, lda: t, b: base + 2 * d, ldb: 3 * d,
          c: o.pointer + n * t * d + h * dh, ldc: d)
      }
    }
    let y = outProjection.forward(o, workspace: ws, tape: nil)
    ws.release(o)
    if let tape {
      tape.push(Tape.Entry(floats: qkv.pointer, floatCount: qkv.count, inputH: x.h, inputW: x.w))
    } else {
      ws.release(qkv)
    }
    return y
  }

  public func backward(_ gy: FeatureMap, workspace ws: Workspace, tape: Tape) -> FeatureMap {
    let entry = tape.pop()
    guard let qkv = entry.floats else { fatalError("attention backward without a recorded forward") }
    let go = outProjection.inputGradient(gy, workspace: ws)
    let gqkv = ws.featureMap(n: go.n, h: go.h, w: go.w, c: 3 * embedDim)
    let (t, d, dh, scale) = (go.h * go.w, embedDim, headDim, 1 / Float(headDim).squareRoot())
    let causal = self.causal
    Profiler.shared.measure("bwd attention T\(t) heads \(heads)") {
      ws.forEach(go.n * heads) { task in
        let (n, h) = (task / heads, task % heads)
        let p = UnsafeMutablePointer<Float>.allocate(capacity: 2 * t * t)
        defer { p.deallocate() }
        let dp = p + t * t
        let base = qkv + n * t * 3 * d + h * dh
        let (q, k, v) = (base, base + d, base + 2 * d)
        let gBase = gqkv.pointer + n * t * 3 * d + h * dh
        let (gq, gk, gv) = (gBase, gBase + d, gBase + 2 * d)
        let gOut = go.pointer + n * t * d + h * dh
        Self.probabilities(q: q, k: k, tokens: t, headDim: dh, stride: 3 * d, scale: scale, causal: causal, p)
        // ∂V = Pᵀ ∂O
        BLAS.sgemm(
          transA: true, transB: false, m: t, n: dh, k: t, a: p, lda: t, b: gOut, ldb: d, c: gv, ldc: 3 * d)
        // ∂P = ∂O Vᵀ
        BLAS.sgemm(
          transA: false, transB: true, m: t, n: t, k: dh, a: gOut, lda: d, b: v, ldb: 3 * d, c: dp, ldc: t)
        // ∂S = P ⊙ (∂P − rowsum(∂P ⊙ P)) / √d, in place of ∂P
        for i in 0..<t {
          let pr = p + i * t
          let gr = dp + i * t
          let inner = Reduction.dot(pr, gr, count: t)
          for j in 0..<t { gr[j] = pr[j] * (gr[j] - inner) * scale }
        }
        // ∂Q = ∂S K, ∂K = ∂Sᵀ Q
        BLAS.sgemm(
          transA: false, transB: false, m: t, n: dh, k: t, a: dp, lda: t, b: k, ldb: 3 * d, c: gq, ldc: 3 * d)
        BLAS.sgemm(
          transA: true, transB: false, m: t, n: dh, k: t, a: dp, lda: t, b: q, ldb: 3 * d, c: gk, ldc: 3 * d)
      }
    }
    ws.release(go)
    ws.release(qkv, count: entry.floatCount)
    return inProjection.inputGradient(gqkv, workspace: ws)
  }

  /// `P = softmax(Q Kᵀ · scale [+ causal mask])` row by row into `p` (`tokens × tokens`), for one head whose
  /// queries and keys are `tokens` rows `stride` apart.
  static func probabilities(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, tokens t: Int, headDim dh: Int, stride: Int, scale: Float,
    causal: Bool, _ p: UnsafeMutablePointer<Float>
  ) {
    BLAS.sgemm(
      transA: false, transB: true, m: t, n: t, k: dh, alpha: scale, a: q, lda: stride, b: k, ldb: stride, c: p,
      ldc: t)
    for i in 0..<t {
      let row = p + i * t
      let visible = causal ? i + 1 : t
      var largest = row[0]
      for j in 1..<visible { largest = max(largest, row[j]) }
      vp_exp_shifted(row, visible, largest)
      let inverse = 1 / Reduction.sum(row, count: visible)
      for j in 0..<visible { row[j] *= inverse }
      for j in visible..<t { row[j] = 0 }
    }
  }
}
