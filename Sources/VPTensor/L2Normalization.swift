/// Scales each row (the channels of each position) to unit Euclidean length: `y = x / ‖x‖`, with `‖x‖`
/// floored at `1e-12` as `torch.nn.functional.normalize` does. CLIP compares images and texts by the cosine
/// of their embeddings, so its image tower ends with this.
///
/// The backward pass keeps `y` and `1/‖x‖` per row (`rows · (C + 1)` floats) and gives
/// `∂L/∂x = (g − y (y · g)) / ‖x‖` with `g = ∂L/∂y`.
public struct L2Normalization: FrozenLayer, Sendable {
  public static let smallestNorm: Float = 1e-12
  public init() {}

  public func forward(_ x: FeatureMap, workspace ws: Workspace, tape: Tape?) -> FeatureMap {
    let (c, rows) = (x.c, x.rows)
    let y = ws.featureMap(n: x.n, h: x.h, w: x.w, c: c)
    let saved: UnsafeMutablePointer<Float>? = tape != nil ? ws.floats(rows * (c + 1)) : nil
    for r in 0..<rows {
      let src = x.pointer + r * c
      let dst = y.pointer + r * c
      let inverse = 1 / max(Reduction.dot(src, src, count: c).squareRoot(), Self.smallestNorm)
      for i in 0..<c { dst[i] = src[i] * inverse }
      if let saved {
        (saved + r * c).update(from: dst, count: c)
        saved[rows * c + r] = inverse
      }
    }
    tape?.push(Tape.Entry(floats: saved, floatCount: rows * (c + 1), inputH: x.h, inputW: x.w))
    return y
  }

  public func backward(_ gy: FeatureMap, workspace ws: Workspace, tape: Tape) -> FeatureMap {
    let entry = tape.pop()
    guard let saved = entry.floats else { fatalError("L2 normalisation backward without a recorded forward") }
    let (c, rows) = (gy.c, gy.rows)
    for r in 0..<rows {
      let g = gy.pointer + r * c
      let y = saved + r * c
      let inner = Reduction.dot(y, g, count: c)
      let inverse = saved[rows * c + r]
      for i in 0..<c { g[i] = (g[i] - y[i] * inner) * inverse }
    }
    ws.release(saved, count: entry.floatCount)
    return gy
  }
}
