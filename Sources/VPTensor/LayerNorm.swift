import Foundation

/// Layer normalisation over the last dimension (channels) of each row, PyTorch's `nn.LayerNorm(C)`:
/// `y = γ ⊙ x̂ + β` with `x̂ = (x − μ) / √(σ² + ε)`, `μ` and `σ²` (biased) over the row's `C` values.
///
/// The backward pass keeps `x̂` and `1/√(σ² + ε)` per row (`rows · (C + 1)` floats) and gives
/// `∂L/∂x = r (g − mean(g) − x̂ · mean(g ⊙ x̂))` with `g = γ ⊙ ∂L/∂y`, `r = 1/√(σ² + ε)`.
///
/// ```swift
/// let norm = LayerNorm(weight: gamma, bias: beta, epsilon: 1e-6)  // torchvision's ViT uses ε = 1e-6
/// ```
public struct LayerNorm: FrozenLayer, Sendable {
  /// `γ`, `[C]`.
  public let weight: [Float]
  /// `β`, `[C]`.
  public let bias: [Float]
  public let epsilon: Float
  public var features: Int { weight.count }

  public init(weight: [Float], bias: [Float], epsilon: Float) {
    precondition(weight.count == bias.count, "layer norm: \(weight.count) weights, \(bias.count) biases")
    self.weight = weight
    self.bias = bias
    self.epsilon = epsilon
  }

  public func forward(_ x: FeatureMap, workspace ws: Workspace, tape: Tape?) -> FeatureMap {
    let c = x.c
    precondition(c == features, "layer norm over \(features) features, got \(c) channels")
    let rows = x.rows
    let y = ws.featureMap(n: x.n, h: x.h, w: x.w, c: c)
    // Kept: x̂ for every row, then 1/√(σ² + ε) per row.
    let saved: UnsafeMutablePointer<Float>? = tape != nil ? ws.floats(rows * (c + 1)) : nil
    let eps = epsilon
    weight.withUnsafeBufferPointer { gamma in
      bias.withUnsafeBufferPointer { beta in
        Profiler.shared.measure("fwd layernorm") {
          ws.forRanges(rows, minimum: 16) { range in
            for r in range {
              let src = x.pointer + r * c
              let dst = y.pointer + r * c
              let mean = Reduction.sum(src, count: c) / Float(c)
              for i in 0..<c { dst[i] = src[i] - mean }
              let variance = Reduction.dot(dst, dst, count: c) / Float(c)
              let inverse = 1 / (variance + eps).squareRoot()
              for i in 0..<c { dst[i] *= inverse }
              if let saved {
                (saved + r * c).update(from: dst, count: c)
                saved[rows * c + r] = inverse
              }
              for i in 0..<c { dst[i] = dst[i] * gamma[i] + beta[i] }
            }
          }
        }
      }
    }
    tape?.push(Tape.Entry(floats: saved, floatCount: rows * (c + 1), inputH: x.h, inputW: x.w))
    return y
  }

  public func backward(_ gy: FeatureMap, workspace ws: Workspace, tape: Tape) -> FeatureMap {
    let entry = tape.pop()
    guard let saved = entry.floats else { fatalError("layer norm backward without a recorded forward") }
    let (c, rows) = (gy.c, gy.rows)
    weight.withUnsafeBufferPointer { gamma in
      Profiler.shared.measure("bwd layernorm") {
        ws.forRanges(rows, minimum: 16) { range in
          for r in range {
            let g = gy.pointer + r * c
            let xhat = saved + r * c
            for i in 0..<c { g[i] *= gamma[i] }
            let meanG = Reduction.sum(g, count: c) / Float(c)
            let meanGX = Reduction.dot(g, xhat, count: c) / Float(c)
            let inverse = saved[rows * c + r]
            for i in 0..<c { g[i] = inverse * (g[i] - meanG - xhat[i] * meanGX) }
          }
        }
      }
    }
    ws.release(saved, count: entry.floatCount)
    return gy
  }
}

/// Row reductions with eight interleaved partial sums: a fixed summation order (so results do not depend
/// on how rows are split over threads) with eight independent additions in flight. Plain scalar code: the
/// `SIMD8<Float>` form was slower on this toolchain (see ARCHITECTURE.md).
public enum Reduction {
  /// `Σ x[i]`.
  @inline(__always)
  public static func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var (s0, s1, s2, s3, s4, s5, s6, s7): (Float, Float, Float, Float, Float, Float, Float, Float) = (
      0, 0, 0, 0, 0, 0, 0, 0
    )
    var i = 0
    while i + 8 <= count {
      s0 += x[i]
      s1 += x[i + 1]
      s2 += x[i + 2]
      s3 += x[i + 3]
      s4 += x[i + 4]
      s5 += x[i + 5]
      s6 += x[i + 6]
      s7 += x[i + 7]
      i += 8
    }
    var total = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    while i < count {
      total += x[i]
      i += 1
    }
    return total
  }

  /// `Σ a[i] b[i]`.
  @inline(__always)
  public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var (s0, s1, s2, s3, s4, s5, s6, s7): (Float, Float, Float, Float, Float, Float, Float, Float) = (
      0, 0, 0, 0, 0, 0, 0, 0
    )
    var i = 0
    while i + 8 <= count {
      s0 += a[i] * b[i]
      s1 += a[i + 1] * b[i + 1]
      s2 += a[i + 2] * b[i + 2]
      s3 += a[i + 3] * b[i + 3]
      s4 += a[i + 4] * b[i + 4]
      s5 += a[i + 5] * b[i + 5]
      s6 += a[i + 6] * b[i + 6]
      s7 += a[i + 7] * b[i + 7]
      i += 8
    }
    var total = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    while i < count {
      total += a[i] * b[i]
      i += 1
    }
    return total
  }
}
