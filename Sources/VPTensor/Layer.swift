/// A frozen layer on channels-last feature maps: a forward pass and the gradient with respect to its input.
public protocol FrozenLayer {
  /// Computes the output; pushes on `tape` (when given) what `backward` needs. `x` is not released.
  func forward(_ x: FeatureMap, workspace: Workspace, tape: Tape?) -> FeatureMap
  /// Maps `∂L/∂y` to `∂L/∂x`; consumes `gy` and pops what `forward` pushed.
  func backward(_ gy: FeatureMap, workspace: Workspace, tape: Tape) -> FeatureMap
}

extension Conv2D: FrozenLayer {}

extension FrozenLayer {
  /// The output for a `[N, H, W, C]` tensor.
  public func callAsFunction(_ x: Tensor) -> Tensor {
    let ws = Workspace(parallel: true)
    let input = ws.featureMap(copying: x)
    let y = forward(input, workspace: ws, tape: nil)
    ws.release(input)
    return ws.tensor(consuming: y)
  }

  /// `∂L/∂x` for an input `x` and an output gradient `∂L/∂y`, both channels-last.
  public func inputGradient(at x: Tensor, outputGradient gy: Tensor) -> Tensor {
    let ws = Workspace(parallel: true)
    let tape = Tape()
    let input = ws.featureMap(copying: x)
    let y = forward(input, workspace: ws, tape: tape)
    ws.release(input)
    ws.release(y)
    let g = backward(ws.featureMap(copying: gy), workspace: ws, tape: tape)
    return ws.tensor(consuming: g)
  }
}

/// A stand-alone activation layer (convolutions normally fuse theirs).
public struct ActivationLayer: FrozenLayer, Sendable {
  public var activation: Activation
  public init(_ activation: Activation) { self.activation = activation }

  public func forward(_ x: FeatureMap, workspace ws: Workspace, tape: Tape?) -> FeatureMap {
    let y = ws.featureMap(n: x.n, h: x.h, w: x.w, c: x.c)
    y.pointer.update(from: x.pointer, count: x.count)
    ws.activate(y, activation, tape: tape, inputH: x.h, inputW: x.w)
    return y
  }

  public func backward(_ gy: FeatureMap, workspace ws: Workspace, tape: Tape) -> FeatureMap {
    let saved = tape.pop()
    if let m = saved.bytes {
      ws.applyMask(gy.pointer, m, count: gy.count)
      ws.release(m, count: saved.count)
    }
    return gy
  }
}

/// Inference-mode batch normalisation, `y = γ (x − μ) / √(σ² + ε) + β` per channel. Models fold it into the
/// preceding convolution (`Conv2D.foldingBatchNorm`); this layer exists for the layers that cannot.
public struct BatchNorm: FrozenLayer, Sendable {
  public let scale: [Float]
  public let shift: [Float]

  public init(gamma: [Float], beta: [Float], mean: [Float], variance: [Float], epsilon: Float) {
    scale = (0..<gamma.count).map { gamma[$0] / (variance[$0] + epsilon).squareRoot() }
    shift = (0..<gamma.count).map { beta[$0] - mean[$0] * gamma[$0] / (variance[$0] + epsilon).squareRoot() }
  }

  public func forward(_ x: FeatureMap, workspace ws: Workspace, tape: Tape?) -> FeatureMap {
    let y = ws.featureMap(n: x.n, h: x.h, w: x.w, c: x.c)
    for r in 0..<x.rows {
      for c in 0..<x.c { y.pointer[r * x.c + c] = x.pointer[r * x.c + c] * scale[c] + shift[c] }
    }
    tape?.push(Tape.Entry(bytes: nil, count: 0, inputH: x.h, inputW: x.w))
    return y
  }

  public func backward(_ gy: FeatureMap, workspace ws: Workspace, tape: Tape) -> FeatureMap {
    _ = tape.pop()
    for r in 0..<gy.rows {
      for c in 0..<gy.c { gy.pointer[r * gy.c + c] *= scale[c] }
    }
    return gy
  }
}

/// Max pooling over `kernel × kernel` windows; padding counts as −∞.
public struct MaxPool2D: FrozenLayer, Sendable {
  public let kernel: Int
  public let stride: Int
  public let padding: Int
  public init(kernel: Int, stride: Int, padding: Int) {
    precondition(kernel * kernel <= 255, "max pooling window too large")
    self.kernel = kernel
    self.stride = stride
    self.padding = padding
  }

  public func outputSize(h: Int, w: Int) -> (h: Int, w: Int) {
    ((h + 2 * padding - kernel) / stride + 1, (w + 2 * padding - kernel) / stride + 1)
  }

  public func forward(_ x: FeatureMap, workspace ws: Workspace, tape: Tape?) -> FeatureMap {
    let (oh, ow) = outputSize(h: x.h, w: x.w)
    let y = ws.featureMap(n: x.n, h: oh, w: ow, c: x.c)
    let arg: UnsafeMutablePointer<UInt8>? = tape != nil ? ws.bytes(y.count) : nil
    let (k, s, p, c) = (kernel, stride, padding, x.c)
    ws.forRanges(x.n * oh, minimum: 2) { rows in
      for row in rows {
        let n = row / oh
        let oy = row % oh
        for ox in 0..<ow {
          let out = y.pointer + (row * ow + ox) * c
          let outArg = arg.map { $0 + (row * ow + ox) * c }
          for ch in 0..<c {
            out[ch] = -.infinity
            outArg?[ch] = 0
          }
          for ky in 0..<k {
            let iy = oy * s - p + ky
            if iy < 0 || iy >= x.h { continue }
            for kx in 0..<k {
              let ix = ox * s - p + kx
              if ix < 0 || ix >= x.w { continue }
              let src = x.pointer + ((n * x.h + iy) * x.w + ix) * c
              let tap = UInt8(ky * k + kx)
              for ch in 0..<c where src[ch] > out[ch] {
                out[ch] = src[ch]
                outArg?[ch] = tap
              }
            }
          }
        }
      }
    }
    tape?.push(Tape.Entry(bytes: arg, count: y.count, inputH: x.h, inputW: x.w))
    return y
  }

  public func backward(_ gy: FeatureMap, workspace ws: Workspace, tape: Tape) -> FeatureMap {
    let saved = tape.pop()
    guard let arg = saved.bytes else { fatalError("max pooling backward without a recorded forward") }
    let gx = ws.featureMap(n: gy.n, h: saved.inputH, w: saved.inputW, c: gy.c)
    let (k, s, p, c) = (kernel, stride, padding, gy.c)
    ws.forEach(gy.n) { n in
      let image = gx.pointer + n * gx.h * gx.w * c
      image.update(repeating: 0, count: gx.h * gx.w * c)
      for oy in 0..<gy.h {
        for ox in 0..<gy.w {
          let o = ((n * gy.h + oy) * gy.w + ox) * c
          for ch in 0..<c {
            let tap = Int(arg[o + ch])
            let iy = oy * s - p + tap / k
            let ix = ox * s - p + tap % k
            image[(iy * gx.w + ix) * c + ch] += gy.pointer[o + ch]
          }
        }
      }
    }
    ws.release(arg, count: saved.count)
    ws.release(gy)
    return gx
  }
}

/// Global average pooling: `[N, H, W, C]` → `[N, 1, 1, C]`.
public struct GlobalAveragePool: FrozenLayer, Sendable {
  public init() {}

  public func forward(_ x: FeatureMap, workspace ws: Workspace, tape: Tape?) -> FeatureMap {
    let y = ws.featureMap(n: x.n, h: 1, w: 1, c: x.c)
    let hw = x.h * x.w
    let inv = 1 / Float(hw)
    ws.forEach(x.n) { n in
      let out = y.pointer + n * x.c
      out.update(repeating: 0, count: x.c)
      for i in 0..<hw { Elementwise.add(out, x.pointer + (n * hw + i) * x.c, count: x.c) }
      for ch in 0..<x.c { out[ch] *= inv }
    }
    tape?.push(Tape.Entry(bytes: nil, count: 0, inputH: x.h, inputW: x.w))
    return y
  }

  public func backward(_ gy: FeatureMap, workspace ws: Workspace, tape: Tape) -> FeatureMap {
    let saved = tape.pop()
    let gx = ws.featureMap(n: gy.n, h: saved.inputH, w: saved.inputW, c: gy.c)
    let hw = gx.h * gx.w
    let inv = 1 / Float(hw)
    let c = gy.c
    ws.forEach(gy.n) { n in
      let scaled = (0..<c).map { gy.pointer[n * c + $0] * inv }
      scaled.withUnsafeBufferPointer { src in
        for i in 0..<hw { (gx.pointer + (n * hw + i) * c).update(from: src.baseAddress!, count: c) }
      }
    }
    ws.release(gy)
    return gx
  }
}
