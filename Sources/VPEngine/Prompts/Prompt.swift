import Foundation
import VPData
import VPModels

/// The kinds of input prompt (REFERENCE.md §2).
public enum PromptKind: String, Codable, Sendable, CaseIterable {
  /// ILM-VP's "expansive" padding prompt: the image in the centre of the canvas, a trainable border
  /// `sigmoid(δ)` around it.
  case pad
  /// Bahng et al.'s additive prompt over the whole (resized) image: `x = img + δ` (optionally a frame).
  case watermark
  /// LoR-VP's low-rank prompt over the whole (resized) image: `x = img + B·A` per channel, rank `r`.
  case lowrank
  /// SMM's sample-specific multi-channel mask: `x = img + δ ⊙ enlarge(m(img))`, `m` a small ConvNet trained
  /// with δ.
  case smm
}

/// Geometry and kind of a prompt.
public struct PromptConfig: Codable, Sendable, Equatable {
  public var kind: PromptKind
  /// The model's input side `S` (224 for ImageNet models; smaller canvases run faster).
  public var canvas: Int
  /// The side `s` the target images are resized to (pad prompt; the watermark prompt uses the canvas).
  public var image: Int
  /// Watermark prompt only: the width of a trainable frame; nil for the full image.
  public var frame: Int?
  /// Pad prompt only: AutoVP's learnable input scale. The centred image is zoomed about the canvas centre by a
  /// trainable factor σ (bilinear, zeros outside the image; σ starts at 1 and is kept in
  /// `VisualPrompt.scaleRange`), and the border prompt covers whatever the zoomed image does not.
  public var learnableScale: Bool
  /// Low-rank prompt only: the rank `r` of each channel's `B·A` (LoR-VP: 4 at 224 px).
  public var rank: Int?

  public init(
    kind: PromptKind = .pad, canvas: Int, image: Int, frame: Int? = nil, learnableScale: Bool = false,
    rank: Int? = nil
  ) {
    self.kind = kind
    self.canvas = canvas
    self.image = image
    self.frame = frame
    self.learnableScale = learnableScale
    self.rank = rank
  }

  /// LoR-VP's rank at 224 px.
  public static let defaultRank = 4

  enum CodingKeys: String, CodingKey { case kind, canvas, image, frame, learnableScale, rank }

  // Results written before the learnable scale existed decode with it off; it is written only when on.
  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    kind = try c.decode(PromptKind.self, forKey: .kind)
    canvas = try c.decode(Int.self, forKey: .canvas)
    image = try c.decode(Int.self, forKey: .image)
    frame = try c.decodeIfPresent(Int.self, forKey: .frame)
    learnableScale = try c.decodeIfPresent(Bool.self, forKey: .learnableScale) ?? false
    rank = try c.decodeIfPresent(Int.self, forKey: .rank)
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(kind, forKey: .kind)
    try c.encode(canvas, forKey: .canvas)
    try c.encode(image, forKey: .image)
    try c.encodeIfPresent(frame, forKey: .frame)
    if learnableScale { try c.encode(true, forKey: .learnableScale) }
    try c.encodeIfPresent(rank, forKey: .rank)
  }

  /// Bytes the prompt and its optimiser state take: δ, the border mask, δ's gradient and Adam's two moments
  /// (a Double: the user's canvas must not overflow the estimate).
  public var stateBytes: Double { Double(canvas) * Double(canvas) * 3 * 4 * 5 }

  /// Bytes one batch of `batch` images needs on the canvas besides the model's activations: the prompted
  /// input, its gradient and the resized images.
  public func batchBytes(_ batch: Int) -> Double {
    // SMM keeps its mask network's activations for the backward pass (SampleMaskNetwork.bytesPerImage).
    let mask = kind == .smm ? Double(SampleMaskNetwork.bytesPerImage(side: canvas)) : 0
    return Double(batch) * (Double(canvas) * Double(canvas) * 3 * 4 * 3 + mask)
  }

  /// The image side actually placed on the canvas (every prompt but the pad prompt covers the whole image).
  public var imageSide: Int { kind == .pad ? image : canvas }

  /// Checks the geometry, naming the offending field.
  public func validate() throws {
    guard canvas >= 32 else { throw EngineError("prompt: canvas must be at least 32 pixels, got \(canvas)") }
    try requireMemory(stateBytes, "prompt: a \(canvas) px canvas needs", "for the prompt and its optimiser state")
    if kind == .pad {
      guard image >= 1, image <= canvas else {
        throw EngineError("prompt: image side \(image) must be between 1 and the canvas (\(canvas))")
      }
    }
    if let f = frame, f < 1 || 2 * f > canvas {
      throw EngineError("prompt: frame width \(f) does not fit canvas \(canvas)")
    }
    if learnableScale && kind != .pad {
      throw EngineError("prompt: a learnable input scale needs the pad prompt, not \(kind.rawValue)")
    }
    if frame != nil && kind != .watermark {
      throw EngineError("prompt: a frame needs the watermark prompt, not \(kind.rawValue)")
    }
    switch kind {
    case .lowrank:
      let r = rank ?? Self.defaultRank
      guard r >= 1, r <= canvas else {
        throw EngineError("prompt: rank \(r) must be between 1 and the canvas (\(canvas))")
      }
    case .smm:
      guard canvas % SampleMaskNetwork.patch == 0 else {
        throw EngineError(
          "prompt: the smm prompt needs a canvas divisible by \(SampleMaskNetwork.patch) (its mask patches), got \(canvas)"
        )
      }
    case .pad, .watermark:
      if rank != nil { throw EngineError("prompt: a rank needs the lowrank prompt, not \(kind.rawValue)") }
    }
  }

  /// AutoVP's input scaling: image side `int(128 r)` inside a 224 canvas (r ∈ {0.5, 1, 1.5} → border 80/48/16).
  public static func autoVPScale(_ r: Double) -> PromptConfig {
    PromptConfig(kind: .pad, canvas: 224, image: Int(128 * r))
  }
}

/// The pad and watermark prompts (and AutoVP's learnable input scale): a trainable pattern δ on a fixed
/// mask of the canvas.
public final class VisualPrompt: InputPrompt, @unchecked Sendable {
  public let config: PromptConfig
  public let normalization: InputNormalization
  /// The parameters `δ`, `[S, S, 3]` channels-last. Zero at start: the pad prompt's border is then 0.5 grey.
  public var delta: [Float]
  /// 1 where the prompt acts, 0 where it does not, `[S, S]` (it follows the learnable scale).
  public private(set) var mask: [Float]
  /// Top-left corner of the (zoomed) image on the canvas (pad prompt).
  public private(set) var offset: Int
  /// The side of the image on the canvas: the pad prompt's image side times the scale, cut to the canvas.
  public private(set) var scaledSide: Int
  /// AutoVP's clamp for the learnable scale.
  public static let scaleRange: ClosedRange<Float> = 0.1...5
  /// The input scale σ (stays 1 unless `config.learnableScale`); setting it moves the border.
  public var scale: Float = 1 {
    didSet {
      guard config.learnableScale else {
        scale = 1
        return
      }
      scale = min(max(scale, Self.scaleRange.lowerBound), Self.scaleRange.upperBound)
      if scale != oldValue { (mask, offset, scaledSide) = Self.geometry(config, scale: scale) }
    }
  }
  /// Where the unscaled image sits (the zoom samples the canvas with the image placed here).
  private let baseOffset: Int

  public init(_ config: PromptConfig, normalization: InputNormalization) {
    self.config = config
    self.normalization = normalization
    delta = [Float](repeating: 0, count: config.canvas * config.canvas * 3)
    (mask, offset, scaledSide) = Self.geometry(config, scale: 1)
    baseOffset = offset
  }

  /// Mask, top-left corner and side of the image area at scale `scale`.
  private static func geometry(_ config: PromptConfig, scale: Float) -> ([Float], Int, Int) {
    let s = config.canvas
    var m = [Float](repeating: 0, count: s * s)
    switch config.kind {
    case .pad:
      // ILM-VP geometry: left/top pad (S − s + 1) / 2, right/bottom (S − s) / 2; with a learnable scale the
      // image side is int(s σ) as in AutoVP.
      let side = config.learnableScale ? min(s, Int(Float(config.image) * scale)) : config.image
      let offset = (s - side + 1) / 2
      for y in 0..<s {
        for x in 0..<s {
          let inside = y >= offset && y < offset + side && x >= offset && x < offset + side
          m[y * s + x] = inside ? 0 : 1
        }
      }
      return (m, offset, side)
    case .watermark, .lowrank, .smm:
      let f = config.frame ?? s
      for y in 0..<s {
        for x in 0..<s { m[y * s + x] = (y < f || y >= s - f || x < f || x >= s - f) ? 1 : 0 }
      }
      return (m, 0, s)
    }
  }

  /// The number of trainable values (where the mask is on, plus the scale).
  public var parameterCount: Int { Int(mask.reduce(0, +)) * 3 + (config.learnableScale ? 1 : 0) }

  @inline(__always) static func sigmoid(_ v: Float) -> Float { 1 / (1 + Foundation.exp(-v)) }

  /// The prompt's own contribution before normalisation, `[S, S, 3]`, zero where the mask is off.
  private func promptValues() -> [Float] {
    let s = config.canvas
    var prompt = [Float](repeating: 0, count: s * s * 3)
    for p in 0..<(s * s) where mask[p] != 0 {
      for c in 0..<3 {
        let d = delta[p * 3 + c]
        prompt[p * 3 + c] = config.kind == .pad ? Self.sigmoid(d) : d
      }
    }
    return prompt
  }

  /// The bilinear taps of the zoom along one axis: output coordinate `u` samples the canvas at
  /// `q = c + (u − c) / σ` (c the canvas centre, pixel centres at integers, as kornia's `scale` with
  /// `align_corners`); `index` is the first tap's row/column in the *image*, `weight` the second tap's weight.
  private func zoomTaps() -> (index: [Int], weight: [Float], dq: [Float]) {
    let s = config.canvas
    let centre = Double(s - 1) / 2
    let sigma = Double(scale)
    var index = [Int](repeating: 0, count: s)
    var weight = [Float](repeating: 0, count: s)
    var dq = [Float](repeating: 0, count: s)
    for u in 0..<s {
      let q = centre + (Double(u) - centre) / sigma
      let q0 = q.rounded(.down)
      index[u] = Int(q0) - baseOffset
      weight[u] = Float(q - q0)
      dq[u] = Float(-(Double(u) - centre) / (sigma * sigma))  // ∂q/∂σ
    }
    return (index, weight, dq)
  }

  /// The prompted, normalised model input for images `[B, s, s, 3]` in `[0, 1]` (the same for training batches).
  public func apply(
    _ images: UnsafePointer<Float>, count b: Int, into x: UnsafeMutablePointer<Float>, training: Bool
  ) {
    let s = config.canvas
    let side = config.imageSide
    let mean = normalization.mean
    let invStd = normalization.std.map { 1 / $0 }
    // The prompt part is the same for every image: compute it once.
    let prompt = promptValues()
    if config.learnableScale {
      let taps = zoomTaps()
      for n in 0..<b {
        let out = x + n * s * s * 3
        let img = images + n * side * side * 3
        for y in 0..<s {
          let y0 = taps.index[y]
          let fy = taps.weight[y]
          for xx in 0..<s {
            let x0 = taps.index[xx]
            let fx = taps.weight[xx]
            let p = y * s + xx
            for c in 0..<3 {
              let v = Self.sample(img, side: side, y0: y0, x0: x0, fy: fy, fx: fx, channel: c).value
              out[p * 3 + c] = (v + prompt[p * 3 + c] - mean[c]) * invStd[c]
            }
          }
        }
      }
      return
    }
    for n in 0..<b {
      let out = x + n * s * s * 3
      let img = images + n * side * side * 3
      for y in 0..<s {
        for xx in 0..<s {
          let p = y * s + xx
          let iy = y - offset
          let ix = xx - offset
          let inImage = iy >= 0 && iy < side && ix >= 0 && ix < side
          for c in 0..<3 {
            var v = prompt[p * 3 + c]
            if inImage { v += img[(iy * side + ix) * 3 + c] }
            out[p * 3 + c] = (v - mean[c]) * invStd[c]
          }
        }
      }
    }
  }

  /// Bilinear sample of one channel of an image (zero outside it) at taps `(y0, x0)`, `(y0 + 1, x0 + 1)` with
  /// second-tap weights `fy`, `fx`; also its derivatives along y and x.
  @inline(__always)
  private static func sample(
    _ img: UnsafePointer<Float>, side: Int, y0: Int, x0: Int, fy: Float, fx: Float, channel c: Int
  ) -> (value: Float, dy: Float, dx: Float) {
    @inline(__always) func at(_ y: Int, _ x: Int) -> Float {
      y >= 0 && y < side && x >= 0 && x < side ? img[(y * side + x) * 3 + c] : 0
    }
    let v00 = at(y0, x0)
    let v01 = at(y0, x0 + 1)
    let v10 = at(y0 + 1, x0)
    let v11 = at(y0 + 1, x0 + 1)
    let top = v00 + fx * (v01 - v00)
    let bottom = v10 + fx * (v11 - v10)
    let value = top + fy * (bottom - top)
    let dx = (1 - fy) * (v01 - v00) + fy * (v11 - v10)
    return (value, bottom - top, dx)
  }

  /// `∂L/∂δ` from `∂L/∂x` of `b` images (the normalised input's gradient, `[B, S, S, 3]`).
  public func gradient(_ gx: UnsafePointer<Float>, count b: Int) -> [Float] {
    let s = config.canvas
    var g = [Float](repeating: 0, count: s * s * 3)
    let invStd = normalization.std.map { 1 / $0 }
    for n in 0..<b {
      let gi = gx + n * s * s * 3
      for p in 0..<(s * s) where mask[p] != 0 {
        for c in 0..<3 { g[p * 3 + c] += gi[p * 3 + c] }
      }
    }
    for p in 0..<(s * s) {
      for c in 0..<3 {
        let i = p * 3 + c
        if mask[p] == 0 {
          g[i] = 0
          continue
        }
        var chain = invStd[c]
        if config.kind == .pad {
          let sg = Self.sigmoid(delta[i])
          chain *= sg * (1 - sg)
        }
        g[i] *= chain
      }
    }
    return g
  }

  /// `∂L/∂σ` of the learnable scale from `∂L/∂x` of `b` images and the images themselves (0 without a learnable
  /// scale). The border moving with σ is a step, not differentiable: like AutoVP, only the zoom carries σ's
  /// gradient.
  public func scaleGradient(_ gx: UnsafePointer<Float>, images: UnsafePointer<Float>, count b: Int) -> Double {
    guard config.learnableScale else { return 0 }
    let s = config.canvas
    let side = config.imageSide
    let invStd = normalization.std.map { 1 / $0 }
    let taps = zoomTaps()
    var total = 0.0
    for n in 0..<b {
      let gi = gx + n * s * s * 3
      let img = images + n * side * side * 3
      for y in 0..<s {
        let y0 = taps.index[y]
        // Rows whose taps miss the image contribute nothing.
        if y0 + 1 < 0 || y0 >= side { continue }
        var row: Float = 0
        for xx in 0..<s {
          let x0 = taps.index[xx]
          if x0 + 1 < 0 || x0 >= side { continue }
          let p = y * s + xx
          for c in 0..<3 {
            let d = Self.sample(img, side: side, y0: y0, x0: x0, fy: taps.weight[y], fx: taps.weight[xx], channel: c)
            row += gi[p * 3 + c] * invStd[c] * (d.dy * taps.dq[y] + d.dx * taps.dq[xx])
          }
        }
        total += Double(row)
      }
    }
    return total
  }

  /// δ (the input scale is `scale`).
  public var values: [Float] {
    get { delta }
    set { delta = newValue }
  }

  public func gradients(_ gx: UnsafePointer<Float>, images: UnsafePointer<Float>, count: Int) -> [String: [Float]] {
    var result = ["prompt.delta": gradient(gx, count: count)]
    if config.learnableScale {
      result["prompt.scale"] = [Float(scaleGradient(gx, images: images, count: count))]
    }
    return result
  }

  public var savedTensors: [(name: String, shape: [Int], values: [Float])] {
    var tensors = [(name: "prompt.delta", shape: [config.canvas, config.canvas, 3], values: delta)]
    if config.learnableScale { tensors.append((name: "prompt.scale", shape: [], values: [scale])) }
    return tensors
  }

  /// The prompt as an RGB image in `[0, 1]` (`[S, S, 3]`): what the model sees around or on the image.
  public func visualization() -> [Float] {
    let s = config.canvas
    var out = [Float](repeating: 0, count: s * s * 3)
    for p in 0..<(s * s) {
      for c in 0..<3 {
        let d = delta[p * 3 + c]
        let v: Float = config.kind == .pad ? Self.sigmoid(d) : 0.5 + d
        out[p * 3 + c] = mask[p] == 0 ? 1 : min(max(v, 0), 1)
      }
    }
    return out
  }
}

/// An error in a training or mapping request, naming the field or the step.
public struct EngineError: Error, CustomStringConvertible, Equatable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Throws unless `bytes` can still be allocated: "`what` 223.5 GB `purpose`, more than the 20.1 GB available".
func requireMemory(_ bytes: Double, _ what: String, _ purpose: String) throws {
  if let (needed, available) = MemoryBudget.shortfall(bytes) {
    let tail = purpose.isEmpty ? "" : " " + purpose
    throw EngineError("\(what) \(needed)\(tail), more than the \(available) available")
  }
}
