import Foundation
import VPModels

/// The kinds of input prompt (REFERENCE.md §2).
public enum PromptKind: String, Codable, Sendable, CaseIterable {
  /// ILM-VP's "expansive" padding prompt: the image in the centre of the canvas, a trainable border
  /// `sigmoid(δ)` around it.
  case pad
  /// Bahng et al.'s additive prompt over the whole (resized) image: `x = img + δ` (optionally a frame).
  case watermark
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

  public init(kind: PromptKind = .pad, canvas: Int, image: Int, frame: Int? = nil) {
    self.kind = kind
    self.canvas = canvas
    self.image = image
    self.frame = frame
  }

  /// The image side actually placed on the canvas.
  public var imageSide: Int { kind == .pad ? image : canvas }

  /// Checks the geometry, naming the offending field.
  public func validate() throws {
    guard canvas >= 32 else { throw EngineError("prompt: canvas must be at least 32 pixels, got \(canvas)") }
    if kind == .pad {
      guard image >= 1, image <= canvas else {
        throw EngineError("prompt: image side \(image) must be between 1 and the canvas (\(canvas))")
      }
    }
    if let f = frame, f < 1 || 2 * f > canvas {
      throw EngineError("prompt: frame width \(f) does not fit canvas \(canvas)")
    }
  }

  /// AutoVP's input scaling: image side `int(128 r)` inside a 224 canvas (r ∈ {0.5, 1, 1.5} → border 80/48/16).
  public static func autoVPScale(_ r: Double) -> PromptConfig {
    PromptConfig(kind: .pad, canvas: 224, image: Int(128 * r))
  }
}

/// A trainable input prompt: maps a batch of `[0, 1]` images to the model's normalised input and maps the
/// gradient with respect to that input back to the prompt's parameters.
public final class VisualPrompt: @unchecked Sendable {
  public let config: PromptConfig
  public let normalization: InputNormalization
  /// The parameters `δ`, `[S, S, 3]` channels-last. Zero at start: the pad prompt's border is then 0.5 grey.
  public var delta: [Float]
  /// 1 where the prompt acts, 0 where it does not, `[S, S]`.
  public let mask: [Float]
  /// Top-left corner of the image on the canvas (pad prompt).
  public let offset: Int

  public init(_ config: PromptConfig, normalization: InputNormalization) {
    self.config = config
    self.normalization = normalization
    let s = config.canvas
    delta = [Float](repeating: 0, count: s * s * 3)
    var m = [Float](repeating: 0, count: s * s)
    switch config.kind {
    case .pad:
      // ILM-VP geometry: left/top pad (S − s + 1) / 2, right/bottom (S − s) / 2.
      offset = (s - config.image + 1) / 2
      for y in 0..<s {
        for x in 0..<s {
          let inside = y >= offset && y < offset + config.image && x >= offset && x < offset + config.image
          m[y * s + x] = inside ? 0 : 1
        }
      }
    case .watermark:
      offset = 0
      let f = config.frame ?? s
      for y in 0..<s {
        for x in 0..<s { m[y * s + x] = (y < f || y >= s - f || x < f || x >= s - f) ? 1 : 0 }
      }
    }
    mask = m
  }

  /// The number of trainable values (where the mask is on).
  public var parameterCount: Int { Int(mask.reduce(0, +)) * 3 }

  @inline(__always) static func sigmoid(_ v: Float) -> Float { 1 / (1 + Foundation.exp(-v)) }

  /// The prompted, normalised model input for images `[B, s, s, 3]` in `[0, 1]`.
  public func apply(_ images: UnsafePointer<Float>, count b: Int, into x: UnsafeMutablePointer<Float>) {
    let s = config.canvas
    let side = config.imageSide
    let mean = normalization.mean
    let invStd = normalization.std.map { 1 / $0 }
    // The prompt part is the same for every image: compute it once.
    var prompt = [Float](repeating: 0, count: s * s * 3)
    for p in 0..<(s * s) where mask[p] != 0 {
      for c in 0..<3 {
        let d = delta[p * 3 + c]
        prompt[p * 3 + c] = config.kind == .pad ? Self.sigmoid(d) : d
      }
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
