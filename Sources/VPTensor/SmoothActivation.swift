import CKernels

/// The smooth non-linearities of transformers. Unlike `Activation` (ReLU, ReLU6), their derivative is not
/// piecewise constant, so the backward pass needs the input itself, not a one-byte mask.
public enum SmoothActivation: String, Sendable, Equatable, CaseIterable {
  /// `x Φ(x) = ½ x (1 + erf(x/√2))`, exact (PyTorch's `nn.GELU()`, torchvision's ViT).
  case gelu
  /// `x σ(1.702 x)` (OpenAI CLIP's `QuickGELU`).
  case quickGELU
  /// `tanh(x)` (the `pre_logits` activation of torchvision's ViT with a representation layer).
  case tanh

  /// The code the C kernels use.
  var code: Int32 {
    switch self {
    case .gelu: return 0
    case .quickGELU: return 1
    case .tanh: return 2
    }
  }
}

/// A smooth activation as a layer: `y = f(x)` element-wise; keeps `x` (one float per element) for
/// `∂L/∂x = f′(x) ⊙ ∂L/∂y`. AVX2 kernels (`vp_smooth_activation_*`: a polynomial exp and Abramowitz–Stegun's
/// erf; within 1e-6 of the float64 formulas on [−10, 10]) — libm's `erff`/`expf` per element took a quarter of a ViT's time.
public struct SmoothActivationLayer: FrozenLayer, Sendable {
  public var activation: SmoothActivation
  public init(_ activation: SmoothActivation) { self.activation = activation }

  public func forward(_ x: FeatureMap, workspace ws: Workspace, tape: Tape?) -> FeatureMap {
    let y = ws.featureMap(n: x.n, h: x.h, w: x.w, c: x.c)
    let saved: UnsafeMutablePointer<Float>? = tape != nil ? ws.floats(x.count) : nil
    let f = activation
    Profiler.shared.measure("fwd \(f)") {
      ws.forRanges(x.count, minimum: 1 << 14) { r in
        vp_smooth_activation_forward(x.pointer + r.lowerBound, y.pointer + r.lowerBound, r.count, f.code)
        if let saved { (saved + r.lowerBound).update(from: x.pointer + r.lowerBound, count: r.count) }
      }
    }
    tape?.push(Tape.Entry(floats: saved, floatCount: x.count, inputH: x.h, inputW: x.w))
    return y
  }

  public func backward(_ gy: FeatureMap, workspace ws: Workspace, tape: Tape) -> FeatureMap {
    let entry = tape.pop()
    guard let x = entry.floats else { fatalError("activation backward without a recorded forward") }
    let f = activation
    Profiler.shared.measure("bwd \(f)") {
      ws.forRanges(gy.count, minimum: 1 << 14) { r in
        vp_smooth_activation_backward(x + r.lowerBound, gy.pointer + r.lowerBound, r.count, f.code)
      }
    }
    ws.release(x, count: entry.floatCount)
    return gy
  }
}
