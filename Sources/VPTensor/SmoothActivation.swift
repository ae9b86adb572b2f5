import Foundation

/// The smooth non-linearities of transformers. Unlike `Activation` (ReLU, ReLU6), their derivative is not
/// piecewise constant, so the backward pass needs the input itself, not a one-byte mask.
public enum SmoothActivation: String, Sendable, Equatable, CaseIterable {
  /// `x Φ(x) = ½ x (1 + erf(x/√2))`, exact (PyTorch's `nn.GELU()`, torchvision's ViT).
  case gelu
  /// `x σ(1.702 x)` (OpenAI CLIP's `QuickGELU`).
  case quickGELU
  /// `tanh(x)` (the `pre_logits` activation of torchvision's ViT with a representation layer).
  case tanh

  /// `f(x)`.
  @inline(__always)
  public func value(_ x: Float) -> Float {
    switch self {
    case .gelu: return 0.5 * x * (1 + Foundation.erf(x * Float(0.5.squareRoot())))
    case .quickGELU: return x / (1 + Foundation.exp(-1.702 * x))
    case .tanh: return Foundation.tanh(x)
    }
  }

  /// `f′(x)`.
  @inline(__always)
  public func derivative(_ x: Float) -> Float {
    switch self {
    case .gelu:
      // Φ(x) + x φ(x)
      let phi = Foundation.exp(-0.5 * x * x) * Float(1 / (2 * Double.pi).squareRoot())
      return 0.5 * (1 + Foundation.erf(x * Float(0.5.squareRoot()))) + x * phi
    case .quickGELU:
      let s = 1 / (1 + Foundation.exp(-1.702 * x))
      return s + 1.702 * x * s * (1 - s)
    case .tanh:
      let t = Foundation.tanh(x)
      return 1 - t * t
    }
  }
}

/// A smooth activation as a layer: `y = f(x)` element-wise; keeps `x` (one float per element) for
/// `∂L/∂x = f′(x) ⊙ ∂L/∂y`.
public struct SmoothActivationLayer: FrozenLayer, Sendable {
  public var activation: SmoothActivation
  public init(_ activation: SmoothActivation) { self.activation = activation }

  public func forward(_ x: FeatureMap, workspace ws: Workspace, tape: Tape?) -> FeatureMap {
    let y = ws.featureMap(n: x.n, h: x.h, w: x.w, c: x.c)
    let saved: UnsafeMutablePointer<Float>? = tape != nil ? ws.floats(x.count) : nil
    let f = activation
    ws.forRanges(x.count, minimum: 1 << 14) { r in
      for i in r { y.pointer[i] = f.value(x.pointer[i]) }
      if let saved { (saved + r.lowerBound).update(from: x.pointer + r.lowerBound, count: r.count) }
    }
    tape?.push(Tape.Entry(floats: saved, floatCount: x.count, inputH: x.h, inputW: x.w))
    return y
  }

  public func backward(_ gy: FeatureMap, workspace ws: Workspace, tape: Tape) -> FeatureMap {
    let entry = tape.pop()
    guard let x = entry.floats else { fatalError("activation backward without a recorded forward") }
    let f = activation
    ws.forRanges(gy.count, minimum: 1 << 14) { r in
      for i in r { gy.pointer[i] *= f.derivative(x[i]) }
    }
    ws.release(x, count: entry.floatCount)
    return gy
  }
}
