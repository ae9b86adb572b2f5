/// A `Linear` layer applied to every token (every row) of a feature map: `[N, H, W, in]` → `[N, H, W, out]`,
/// `y = x Wᵀ + b` — the projections and the MLP of a transformer on tokens laid out `[N, 1, T, D]`.
///
/// Rows are processed in fixed-size pieces (one GEMM each, in parallel when the workspace allows), so the
/// result does not depend on the number of threads. Nothing is kept for the backward pass:
/// `∂L/∂x = (∂L/∂y) W`.
public struct TokenLinear: FrozenLayer, Sendable {
  public let linear: Linear
  public init(_ linear: Linear) { self.linear = linear }

  /// Rows per GEMM: as for the 1×1 convolutions (`Conv2D.chunkRows`).
  static func chunkRows(outputs: Int) -> Int { Conv2D.chunkRows(outputs: outputs) }

  public func forward(_ x: FeatureMap, workspace ws: Workspace, tape: Tape?) -> FeatureMap {
    let (fin, fout) = (linear.inFeatures, linear.outFeatures)
    precondition(x.c == fin, "linear expects \(fin) features, got \(x.c) channels")
    let y = ws.featureMap(n: x.n, h: x.h, w: x.w, c: fout)
    Profiler.shared.measure("fwd linear \(fin)->\(fout)") {
      ws.forChunks(x.rows, size: Self.chunkRows(outputs: fout)) { r in
        linear.forward(x.pointer + r.lowerBound * fin, rows: r.count, into: y.pointer + r.lowerBound * fout)
      }
    }
    tape?.push(Tape.Entry(bytes: nil, count: 0, inputH: x.h, inputW: x.w))
    return y
  }

  public func backward(_ gy: FeatureMap, workspace ws: Workspace, tape: Tape) -> FeatureMap {
    _ = tape.pop()
    return inputGradient(gy, workspace: ws)
  }

  /// `∂L/∂x = (∂L/∂y) W` without a tape (the layer keeps nothing); consumes `gy`.
  public func inputGradient(_ gy: FeatureMap, workspace ws: Workspace) -> FeatureMap {
    let (fin, fout) = (linear.inFeatures, linear.outFeatures)
    precondition(gy.c == fout, "linear gradient has \(gy.c) channels, expected \(fout)")
    let gx = ws.featureMap(n: gy.n, h: gy.h, w: gy.w, c: fin)
    Profiler.shared.measure("bwd linear \(fin)->\(fout)") {
      ws.forChunks(gy.rows, size: Self.chunkRows(outputs: fin)) { r in
        linear.inputGradient(gy.pointer + r.lowerBound * fout, rows: r.count, into: gx.pointer + r.lowerBound * fin)
      }
    }
    ws.release(gy)
    return gx
  }
}
