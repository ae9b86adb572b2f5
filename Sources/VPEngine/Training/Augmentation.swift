import Foundation
import VPData
import VPTensor

/// Whether a prompt's training images are augmented (the option `augment=none|trivial`). Validation and test
/// images are never augmented.
public enum Augmentation: String, Codable, Sendable, CaseIterable {
  /// The training images as they are.
  case none
  /// One ``TrivialAugment`` operation per training image and epoch.
  case trivial
}

/// Training-time augmentation in the spirit of TrivialAugment (Müller & Hutter 2021; for visual prompts,
/// ACAVP, arXiv 2510.07823): each training image gets ONE operation drawn uniformly from ``Operation``, with a
/// magnitude drawn uniformly from that operation's range, applied to the image before the prompt.
///
/// Images are `[side, side, 3]` channels-last floats in `[0, 1]`; every operation keeps them there. Pixel
/// `(row, column)` has its centre at the integer point `(column, row)`; the image centre is
/// `c = (side − 1) / 2` on both axes.
///
/// ```swift
/// var generator = TrivialAugment.generator(seed: 7, epoch: 0, index: 42)
/// let draw = TrivialAugment.draw(&generator, side: 32)   // e.g. rotate by −12.7°
/// TrivialAugment.apply(draw, to: pixels, side: 32)
/// ```
public enum TrivialAugment {
  /// The operations, each with its own magnitude (the parameter ``TrivialAugment/apply(_:magnitude:to:side:)``
  /// takes) and the range ``TrivialAugment/draw(_:side:)`` draws it from.
  public enum Operation: String, CaseIterable, Sendable {
    /// The image unchanged (bit for bit). Magnitude: ignored (drawn as 0).
    case identity
    /// Horizontal mirror: `out[r, x] = in[r, side − 1 − x]`. Magnitude: ignored (drawn as 0).
    case flip
    /// Horizontal shift by `t` whole pixels, positive to the right: `out[r, x] = in[r, x − t]`, vacated pixels 0.
    /// Magnitude: `t`, an integer drawn uniformly from `−⌊side/8⌋ … ⌊side/8⌋`.
    case translateX
    /// Vertical shift by `t` whole pixels, positive downwards: `out[r, x] = in[r − t, x]`, vacated pixels 0.
    /// Magnitude: `t`, an integer drawn uniformly from `−⌊side/8⌋ … ⌊side/8⌋`.
    case translateY
    /// Rotation by `θ` degrees about the image centre, positive counter-clockwise as displayed (rows down).
    /// Output pixel `(x, y)` samples the input at `xs = c + cos θ (x − c) − sin θ (y − c)`,
    /// `ys = c + sin θ (x − c) + cos θ (y − c)`, bilinearly from its four neighbouring pixel centres, each
    /// neighbour outside the image counting as 0. Magnitude: `θ`, uniform in `[−30, 30)`.
    case rotate
    /// `x · f`, clamped to `[0, 1]`. Magnitude: `f`, uniform in `[0.6, 1.4)`.
    case brightness
    /// `μ + f (x − μ)` on every channel, clamped to `[0, 1]`, with `μ` the image's mean luminance
    /// `0.299 R + 0.587 G + 0.114 B` over all its pixels. Magnitude: `f`, uniform in `[0.6, 1.4)`.
    case contrast
    /// `L + f (x − L)` on every channel, clamped to `[0, 1]`, with `L = 0.299 R + 0.587 G + 0.114 B` the
    /// pixel's own luminance (`f = 0` is greyscale, `f = 1` the image). Magnitude: `f`, uniform in `[0, 2)`.
    case saturation
    /// A square of side `k = max(1, ⌊side/4⌋)` filled with grey 0.5 on all channels: rows
    /// `cr − ⌊k/2⌋ ..< cr − ⌊k/2⌋ + k` and the same columns about `cc`, clipped at the border. Magnitude: the
    /// centre's flat index `cr · side + cc`, an integer drawn uniformly from `0 ..< side²` (a uniform centre).
    case cutout

    /// One sentence: what the operation does and the range its magnitude is drawn from.
    public var summary: String {
      switch self {
      case .identity: return "identity: the image unchanged."
      case .flip: return "flip: a horizontal mirror."
      case .translateX:
        return "translateX: a shift right or left by t whole pixels, t uniform in −⌊side/8⌋…⌊side/8⌋, vacated pixels 0."
      case .translateY:
        return "translateY: a shift down or up by t whole pixels, t uniform in −⌊side/8⌋…⌊side/8⌋, vacated pixels 0."
      case .rotate:
        return "rotate: a bilinear rotation by θ uniform in [−30°, 30°] about the image centre, 0 outside the image."
      case .brightness: return "brightness: x·f with f uniform in [0.6, 1.4], clamped to [0, 1]."
      case .contrast:
        return "contrast: μ + f·(x − μ) with μ the image's mean luminance and f uniform in [0.6, 1.4], "
          + "clamped to [0, 1]."
      case .saturation:
        return "saturation: L + f·(x − L) with L the pixel's luminance and f uniform in [0, 2], clamped to [0, 1]."
      case .cutout:
        return "cutout: a grey (0.5) square of side max(1, ⌊side/4⌋) at a uniformly drawn centre, "
          + "clipped at the border."
      }
    }

    /// The magnitudes ``TrivialAugment/draw(_:side:)`` draws from for a `side`-pixel image: a half-open
    /// interval for the continuous operations, the closed range of integers for the translations and cutout
    /// (whose magnitudes are whole numbers), `0...0` for identity and flip.
    public func magnitudes(side: Int) -> ClosedRange<Double> {
      switch self {
      case .identity, .flip: return 0...0
      case .translateX, .translateY:
        let bound = Double(TrivialAugment.maximumShift(side: side))
        return -bound...bound
      case .rotate: return -TrivialAugment.maximumDegrees...TrivialAugment.maximumDegrees
      case .brightness, .contrast: return TrivialAugment.intensityFactors
      case .saturation: return TrivialAugment.saturationFactors
      case .cutout: return 0...Double(side * side - 1)
      }
    }
  }

  /// One drawn augmentation: the operation and its magnitude (see ``Operation`` for each one's meaning).
  public struct Draw: Sendable, Equatable, CustomStringConvertible {
    public var operation: Operation
    public var magnitude: Double

    public init(_ operation: Operation, magnitude: Double = 0) {
      self.operation = operation
      self.magnitude = magnitude
    }

    public var description: String { "\(operation.rawValue)(\(magnitude))" }
  }

  /// The rotation's bound: angles are drawn in `[−30°, 30°)`.
  public static let maximumDegrees = 30.0
  /// The factors of brightness and contrast.
  public static let intensityFactors: ClosedRange<Double> = 0.6...1.4
  /// The factors of saturation (0: greyscale, 2: twice as far from grey).
  public static let saturationFactors: ClosedRange<Double> = 0.0...2.0
  /// The grey that cutout fills with.
  public static let cutoutFill: Float = 0.5

  /// The largest translation, `⌊side/8⌋` pixels.
  public static func maximumShift(side: Int) -> Int { side / 8 }

  /// The side of cutout's square, `max(1, ⌊side/4⌋)`.
  public static func cutoutSide(side: Int) -> Int { max(1, side / 4) }

  /// The operations and their ranges, one sentence each (for docs, help and reports).
  public static var description: String {
    "TrivialAugment: one operation per training image and epoch, drawn uniformly from "
      + "\(Operation.allCases.count), with its magnitude drawn uniformly from its range. "
      + Operation.allCases.map(\.summary).joined(separator: " ")
  }

  // MARK: - Drawing

  /// The generator of image `index`'s augmentation in `epoch` of a run seeded with `seed`: a function of
  /// these three numbers only, so an image's augmentation does not depend on its batch, the batch size, the
  /// order or the thread count.
  public static func generator(seed: UInt64, epoch: Int, index: Int) -> SplitMix64 {
    SplitMix64(seed: seed).fork(0x5441)  // "TA"
      .fork(UInt64(truncatingIfNeeded: epoch))
      .fork(UInt64(truncatingIfNeeded: index))
  }

  /// Draws an operation uniformly from ``Operation/allCases``, then its magnitude uniformly from
  /// ``Operation/magnitudes(side:)`` (a uniform integer for the translations and cutout, a uniform double in
  /// the half-open interval otherwise; identity and flip draw nothing more).
  public static func draw(_ generator: inout SplitMix64, side: Int) -> Draw {
    precondition(side > 0)
    let operation = Operation.allCases[generator.below(Operation.allCases.count)]
    let range = operation.magnitudes(side: side)
    switch operation {
    case .identity, .flip: return Draw(operation)
    case .translateX, .translateY, .cutout:
      let count = Int(range.upperBound - range.lowerBound) + 1
      return Draw(operation, magnitude: range.lowerBound + Double(generator.below(count)))
    case .rotate, .brightness, .contrast, .saturation:
      return Draw(operation, magnitude: range.lowerBound + (range.upperBound - range.lowerBound) * generator.unit())
    }
  }

  // MARK: - Applying

  /// Augments `count` images `[count, side, side, 3]` in place: image `n` with
  /// `draw(generator(seed:epoch:index: indices[n]), side)`. Images run in parallel; the result does not depend
  /// on the thread count or on which other images are in the batch.
  public static func apply(
    to images: UnsafeMutablePointer<Float>, count: Int, side: Int, seed: UInt64, epoch: Int, indices: [Int]
  ) {
    precondition(indices.count == count, "one index per image")
    let stride = side * side * 3
    Parallel.forEach(count) { n in
      var g = generator(seed: seed, epoch: epoch, index: indices[n])
      apply(draw(&g, side: side), to: images + n * stride, side: side)
    }
  }

  /// Applies `draw` in place to one `[side, side, 3]` image.
  public static func apply(_ draw: Draw, to image: UnsafeMutablePointer<Float>, side: Int) {
    apply(draw.operation, magnitude: draw.magnitude, to: image, side: side)
  }

  /// Applies `operation` with `magnitude` (its meaning is documented on each ``Operation``) in place to one
  /// `[side, side, 3]` channels-last image in `[0, 1]`. Deterministic; translations and cutout need whole-number
  /// magnitudes, cutout's a flat index in `0 ..< side²`.
  public static func apply(
    _ operation: Operation, magnitude: Double, to image: UnsafeMutablePointer<Float>, side: Int
  ) {
    precondition(side > 0)
    switch operation {
    case .identity: return
    case .flip: flip(image, side: side)
    case .translateX, .translateY:
      precondition(magnitude.rounded() == magnitude, "a translation is a whole number of pixels")
      let t = Int(max(-Double(side), min(Double(side), magnitude)))
      if operation == .translateX {
        translate(image, side: side, rows: 0, columns: t)
      } else {
        translate(image, side: side, rows: t, columns: 0)
      }
    case .rotate: rotate(image, side: side, degrees: magnitude)
    case .brightness:
      for i in 0..<(side * side * 3) { image[i] = clamped(Double(image[i]) * magnitude) }
    case .contrast: contrast(image, side: side, factor: magnitude)
    case .saturation: saturation(image, side: side, factor: magnitude)
    case .cutout:
      precondition(
        magnitude.rounded() == magnitude && magnitude >= 0 && magnitude < Double(side * side),
        "cutout's magnitude is a pixel's flat index")
      let centre = Int(magnitude)
      cutout(image, side: side, row: centre / side, column: centre % side)
    }
  }

  @inline(__always) private static func clamped(_ value: Double) -> Float {
    Float(min(1, max(0, value)))
  }

  @inline(__always) private static func luminance(_ p: UnsafeMutablePointer<Float>) -> Double {
    0.299 * Double(p[0]) + 0.587 * Double(p[1]) + 0.114 * Double(p[2])
  }

  private static func flip(_ image: UnsafeMutablePointer<Float>, side: Int) {
    for r in 0..<side {
      let row = image + r * side * 3
      for x in 0..<(side / 2) {
        let a = row + x * 3
        let b = row + (side - 1 - x) * 3
        for ch in 0..<3 { swap(&a[ch], &b[ch]) }
      }
    }
  }

  /// `out[r, x] = in[r − rows, x − columns]`, 0 where that is outside the image.
  private static func translate(_ image: UnsafeMutablePointer<Float>, side: Int, rows: Int, columns: Int) {
    let source = Array(UnsafeBufferPointer(start: image, count: side * side * 3))
    for r in 0..<side {
      let sr = r - rows
      for x in 0..<side {
        let sx = x - columns
        let out = image + (r * side + x) * 3
        if sr >= 0 && sr < side && sx >= 0 && sx < side {
          let i = (sr * side + sx) * 3
          for ch in 0..<3 { out[ch] = source[i + ch] }
        } else {
          for ch in 0..<3 { out[ch] = 0 }
        }
      }
    }
  }

  private static func rotate(_ image: UnsafeMutablePointer<Float>, side: Int, degrees: Double) {
    let source = Array(UnsafeBufferPointer(start: image, count: side * side * 3))
    let theta = degrees * Double.pi / 180
    let (cosine, sine) = (cos(theta), sin(theta))
    let c = Double(side - 1) / 2
    for y in 0..<side {
      let dy = Double(y) - c
      for x in 0..<side {
        let dx = Double(x) - c
        let xs = c + cosine * dx - sine * dy
        let ys = c + sine * dx + cosine * dy
        let x0 = Int(xs.rounded(.down))
        let y0 = Int(ys.rounded(.down))
        let fx = xs - Double(x0)
        let fy = ys - Double(y0)
        var sum = (0.0, 0.0, 0.0)
        // The four neighbouring pixel centres; one outside the image contributes 0.
        func add(_ yy: Int, _ xx: Int, _ w: Double) {
          guard yy >= 0 && yy < side && xx >= 0 && xx < side else { return }
          let i = (yy * side + xx) * 3
          sum.0 += w * Double(source[i])
          sum.1 += w * Double(source[i + 1])
          sum.2 += w * Double(source[i + 2])
        }
        add(y0, x0, (1 - fy) * (1 - fx))
        add(y0, x0 + 1, (1 - fy) * fx)
        add(y0 + 1, x0, fy * (1 - fx))
        add(y0 + 1, x0 + 1, fy * fx)
        let out = image + (y * side + x) * 3
        out[0] = Float(sum.0)
        out[1] = Float(sum.1)
        out[2] = Float(sum.2)
      }
    }
  }

  private static func contrast(_ image: UnsafeMutablePointer<Float>, side: Int, factor: Double) {
    let pixels = side * side
    var total = 0.0
    for p in 0..<pixels { total += luminance(image + p * 3) }
    let mean = total / Double(pixels)
    for i in 0..<(pixels * 3) { image[i] = clamped(mean + factor * (Double(image[i]) - mean)) }
  }

  private static func saturation(_ image: UnsafeMutablePointer<Float>, side: Int, factor: Double) {
    for p in 0..<(side * side) {
      let pixel = image + p * 3
      let l = luminance(pixel)
      for ch in 0..<3 { pixel[ch] = clamped(l + factor * (Double(pixel[ch]) - l)) }
    }
  }

  private static func cutout(_ image: UnsafeMutablePointer<Float>, side: Int, row: Int, column: Int) {
    let k = cutoutSide(side: side)
    let top = row - k / 2
    let left = column - k / 2
    for r in max(0, top)..<min(side, top + k) {
      for x in max(0, left)..<min(side, left + k) {
        let out = image + (r * side + x) * 3
        for ch in 0..<3 { out[ch] = cutoutFill }
      }
    }
  }
}
