import Foundation

/// Spatial padding of a convolution or pooling window.
public enum Padding: Sendable, Equatable {
  /// Fixed zero padding on each side.
  case explicit(top: Int, left: Int, bottom: Int, right: Int)
  /// TensorFlow "SAME": output = ceil(input / stride); the odd extra pixel goes to the bottom/right.
  case same

  /// Symmetric padding `p` on every side (PyTorch's `padding=p`).
  public static func symmetric(_ p: Int) -> Padding { .explicit(top: p, left: p, bottom: p, right: p) }

  /// The explicit padding for an input of `h × w`.
  public func resolve(h: Int, w: Int, kernelH: Int, kernelW: Int, strideH: Int, strideW: Int) -> (
    top: Int, left: Int, bottom: Int, right: Int
  ) {
    switch self {
    case .explicit(let t, let l, let b, let r): return (t, l, b, r)
    case .same:
      let oh = (h + strideH - 1) / strideH
      let ow = (w + strideW - 1) / strideW
      let ph = max((oh - 1) * strideH + kernelH - h, 0)
      let pw = max((ow - 1) * strideW + kernelW - w, 0)
      return (ph / 2, pw / 2, ph - ph / 2, pw - pw / 2)
    }
  }
}

/// A 2-D convolution with folded bias and a fused activation, channels-last.
///
/// `y[n, i, j, o] = act(b[o] + Σ_{ky, kx, c} x[n, i·s + ky − pad, j·s + kx − pad, g·C/G + c] · W[o, ky, kx, c])`
/// for output channel `o` in group `g`. Three code paths share this type: 1×1 stride-1 convolutions are one
/// GEMM over the batch, depthwise convolutions (`groups == C_in == C_out`) are vectorised loops over channels,
/// and everything else is im2col + GEMM on row chunks that stay in cache.
///
/// The backward pass gives the gradient with respect to the input only: the model is frozen.
public struct Conv2D: Sendable {
  public let inChannels: Int
  public let outChannels: Int
  public let kernelH: Int
  public let kernelW: Int
  public let strideH: Int
  public let strideW: Int
  public let padding: Padding
  public let groups: Int
  /// The non-linearity fused into the output (and recorded on the tape for the backward pass).
  public var activation: Activation
  /// `[C_out, kh, kw, C_in / groups]` (depthwise: `[kh, kw, C]`).
  public private(set) var weight: [Float]
  /// `[C_out]`.
  public private(set) var bias: [Float]
  /// 1×1 convolutions: the weights as `[C_in, C_out]`, the layout the small-matrix kernel reads.
  private(set) var weightT: [Float] = []
  /// When a 3×3 stride-1 ungrouped convolution runs as Winograd F(4×4, 3×3): faster, with a different rounding
  /// (about 1e-5 of the largest output per layer; see docs/PERFORMANCE.md). `.never` by default so that trainable
  /// networks and existing results keep their bits; builders of frozen models opt in with `.whenFaster`.
  public var winograd = WinogradPolicy.never
  /// The Winograd-transformed weights, made on first use; replaced whenever the weights change.
  private(set) var winogradCache = WinogradFilterCache()

  /// Derived weights after `weight` changed: the 1×1 transpose now, the Winograd filters when next needed.
  private mutating func weightsChanged() {
    winogradCache = WinogradFilterCache()
    guard kernelH == 1 && kernelW == 1 && groups == 1 else { return }
    var t = [Float](repeating: 0, count: weight.count)
    for o in 0..<outChannels { for i in 0..<inChannels { t[i * outChannels + o] = weight[o * inChannels + i] } }
    weightT = t
  }
  /// Whether this is a depthwise convolution with channel multiplier 1.
  public var isDepthwise: Bool { groups > 1 && groups == inChannels && groups == outChannels }
  /// Whether this is a 1×1, stride-1, ungrouped convolution (one GEMM).
  public var isPointwise: Bool {
    kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && groups == 1 && (padding.isZero || padding == .same)
  }

  /// Creates a convolution from PyTorch's weight layout `[C_out, C_in / groups, kh, kw]`.
  ///
  /// - Parameters:
  ///   - torchWeight: the weights in PyTorch's `OIHW` order.
  ///   - shape: `[C_out, C_in / groups, kh, kw]`.
  ///   - bias: `C_out` values, or nil for zeros.
  public init(
    torchWeight: [Float], shape: [Int], bias: [Float]? = nil, stride: Int = 1, padding: Padding = .symmetric(0),
    groups: Int = 1, activation: Activation = .identity
  ) {
    precondition(shape.count == 4 && shape.reduce(1, *) == torchWeight.count, "conv weight shape \(shape)")
    let (o, ig, kh, kw) = (shape[0], shape[1], shape[2], shape[3])
    precondition(o % groups == 0, "C_out \(o) not divisible by groups \(groups)")
    self.inChannels = ig * groups
    self.outChannels = o
    self.kernelH = kh
    self.kernelW = kw
    self.strideH = stride
    self.strideW = stride
    self.padding = padding
    self.groups = groups
    self.activation = activation
    self.bias = bias ?? [Float](repeating: 0, count: o)
    precondition(self.bias.count == o, "conv bias has \(self.bias.count) values for \(o) channels")
    var w = [Float](repeating: 0, count: torchWeight.count)
    let depthwise = groups > 1 && groups == ig * groups && groups == o
    for oc in 0..<o {
      for ic in 0..<ig {
        for y in 0..<kh {
          for x in 0..<kw {
            let src = ((oc * ig + ic) * kh + y) * kw + x
            let dst = depthwise ? (y * kw + x) * o + oc : ((oc * kh + y) * kw + x) * ig + ic
            w[dst] = torchWeight[src]
          }
        }
      }
    }
    self.weight = w
    weightsChanged()
  }

  /// Folds an inference-mode batch norm that follows this convolution into its weights and bias:
  /// `W' = W · γ / √(σ² + ε)`, `b' = (b − μ) · γ / √(σ² + ε) + β`.
  public func foldingBatchNorm(
    gamma: [Float], beta: [Float], mean: [Float], variance: [Float], epsilon: Float
  ) -> Conv2D {
    precondition([gamma.count, beta.count, mean.count, variance.count].allSatisfy { $0 == outChannels })
    var copy = self
    let per = weight.count / outChannels
    for o in 0..<outChannels {
      let scale = gamma[o] / (variance[o] + epsilon).squareRoot()
      if isDepthwise {
        for k in 0..<(kernelH * kernelW) { copy.weight[k * outChannels + o] *= scale }
      } else {
        for k in 0..<per { copy.weight[o * per + k] *= scale }
      }
      copy.bias[o] = (bias[o] - mean[o]) * scale + beta[o]
    }
    copy.weightsChanged()
    return copy
  }

  /// The output size for an input of `h × w`.
  public func outputSize(h: Int, w: Int) -> (h: Int, w: Int) {
    let p = padding.resolve(h: h, w: w, kernelH: kernelH, kernelW: kernelW, strideH: strideH, strideW: strideW)
    return ((h + p.top + p.bottom - kernelH) / strideH + 1, (w + p.left + p.right - kernelW) / strideW + 1)
  }
}

extension Padding {
  var isZero: Bool {
    if case .explicit(0, 0, 0, 0) = self { return true }
    return false
  }
}
