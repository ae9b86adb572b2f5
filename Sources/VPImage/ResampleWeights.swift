/// Per-axis interpolation weights: output index `o` reads source indices
/// `starts[o] ..< starts[o] + counts[o]` with weights `weights[o * taps ..< o * taps + counts[o]]`.
package struct ResampleWeights: Sendable {
  /// Source length along the axis.
  package let inSize: Int
  /// Output length along the axis.
  package let outSize: Int
  /// Stride of `weights` per output index (the largest `counts` value the kernel may need).
  package let taps: Int
  /// First source index per output index.
  package let starts: [Int]
  /// Number of source indices per output index.
  package let counts: [Int]
  /// Normalised weights, `outSize * taps`, zero past `counts[o]`.
  package let weights: [Double]

  /// True when the weights reproduce the input exactly (same length).
  package var isIdentity: Bool { inSize == outSize }

  /// torch `interpolate(mode="bilinear", align_corners=False, antialias=False)` along one axis.
  ///
  /// `src = max((o + 0.5) * inSize / outSize - 0.5, 0)`, `i0 = floor(src)`,
  /// `i1 = min(i0 + 1, inSize - 1)`, weights `1 - (src - i0)` and `src - i0`. No antialiasing:
  /// downscaling samples only the two nearest source pixels.
  package static func bilinear(inSize: Int, outSize: Int) -> ResampleWeights {
    precondition(inSize > 0 && outSize > 0, "resize: sizes must be positive")
    let scale = Double(inSize) / Double(outSize)
    var starts = [Int](repeating: 0, count: outSize)
    var counts = [Int](repeating: 0, count: outSize)
    var weights = [Double](repeating: 0, count: outSize * 2)
    for o in 0..<outSize {
      let src = max((Double(o) + 0.5) * scale - 0.5, 0)
      let i0 = min(Int(src), inSize - 1)
      let lambda1 = min(max(src - Double(i0), 0), 1)
      starts[o] = i0
      if i0 < inSize - 1 {
        counts[o] = 2
        weights[2 * o] = 1 - lambda1
        weights[2 * o + 1] = lambda1
      } else {
        counts[o] = 1
        weights[2 * o] = 1
      }
    }
    return ResampleWeights(
      inSize: inSize, outSize: outSize, taps: 2, starts: starts, counts: counts, weights: weights)
  }

  /// PIL's `ImagingResample` bilinear coefficients (also torch's `antialias=True`), box = whole axis.
  ///
  /// `scale = inSize / outSize`, `filterscale = max(scale, 1)`, `support = filterscale` (the
  /// triangle filter has support 1). For output `o`: `center = (o + 0.5) * scale`,
  /// `xmin = max(Int(center - support + 0.5), 0)`, `xmax = min(Int(center + support + 0.5), inSize)`
  /// (C truncation), `w(x) = triangle((x - center + 0.5) / filterscale)` for `x` in
  /// `xmin ..< xmax`, then divided by their sum.
  package static func antialiased(inSize: Int, outSize: Int) -> ResampleWeights {
    antialiased(inSize: inSize, outSize: outSize, filter: .triangle)
  }

  /// PIL's interpolation filters (`Resample.c`).
  package enum Filter: Sendable {
    /// Bilinear: `1 − |x|` on `|x| < 1`.
    case triangle
    /// Bicubic (Keys, `a = −0.5`): `((a + 2)|x| − (a + 3))x² + 1` on `|x| < 1`,
    /// `a(|x|³ − 5|x|² + 8|x| − 4)` on `1 ≤ |x| < 2`.
    case bicubic

    var support: Double {
      switch self {
      case .triangle: return 1
      case .bicubic: return 2
      }
    }

    func value(_ x: Double) -> Double {
      let x = abs(x)
      switch self {
      case .triangle: return x < 1 ? 1 - x : 0
      case .bicubic:
        let a = -0.5
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0
      }
    }
  }

  /// PIL's `precompute_coeffs` for `filter`: as ``antialiased(inSize:outSize:)`` with the filter's support
  /// (`support = filter.support · filterscale`) and values.
  package static func antialiased(inSize: Int, outSize: Int, filter: Filter) -> ResampleWeights {
    precondition(inSize > 0 && outSize > 0, "resize: sizes must be positive")
    let scale = Double(inSize) / Double(outSize)
    let filterscale = max(scale, 1)
    let support = filter.support * filterscale
    let taps = Int(support.rounded(.up)) * 2 + 1
    var starts = [Int](repeating: 0, count: outSize)
    var counts = [Int](repeating: 0, count: outSize)
    var weights = [Double](repeating: 0, count: outSize * taps)
    let ss = 1.0 / filterscale
    for o in 0..<outSize {
      let center = (Double(o) + 0.5) * scale
      let xmin = max(Int(center - support + 0.5), 0)
      let xmax = min(Int(center + support + 0.5), inSize) - xmin
      var total = 0.0
      for x in 0..<xmax {
        let w = filter.value((Double(x + xmin) - center + 0.5) * ss)
        weights[o * taps + x] = w
        total += w
      }
      if total != 0 {
        for x in 0..<xmax { weights[o * taps + x] /= total }
      }
      starts[o] = xmin
      counts[o] = xmax
    }
    return ResampleWeights(
      inSize: inSize, outSize: outSize, taps: taps, starts: starts, counts: counts, weights: weights
    )
  }

  /// The weights as `Float`, same layout.
  package var floatWeights: [Float] { weights.map { Float($0) } }

  /// PIL's 8-bit fixed-point weights: `Int(w * 2^22 ± 0.5)` (truncated towards zero).
  package var fixedPointWeights: [Int32] {
    weights.map { w in
      let scaled = w * Double(1 << pilPrecisionBits)
      return Int32(w < 0 ? scaled - 0.5 : scaled + 0.5)
    }
  }

}

/// PIL's `PRECISION_BITS` for 8-bit resampling: `32 - 8 - 2`.
package let pilPrecisionBits = 22

/// Separable Float resampling of an HWC image with precomputed weights (horizontal, then vertical).
package struct FloatResampler: Sendable {
  /// Horizontal (width) weights.
  package let horizontal: ResampleWeights
  /// Vertical (height) weights.
  package let vertical: ResampleWeights
  private let hWeights: [Float]
  private let vWeights: [Float]

  /// A resampler from `source` to `target` with the given per-axis weight builder.
  package init(
    from source: ImageSize, to target: ImageSize,
    weights: (_ inSize: Int, _ outSize: Int) -> ResampleWeights
  ) {
    horizontal = weights(source.width, target.width)
    vertical = weights(source.height, target.height)
    hWeights = horizontal.floatWeights
    vWeights = vertical.floatWeights
  }

  /// Source size.
  package var source: ImageSize { ImageSize(width: horizontal.inSize, height: vertical.inSize) }
  /// Target size.
  package var target: ImageSize { ImageSize(width: horizontal.outSize, height: vertical.outSize) }

  /// Floats the scratch buffer must hold: `source.height * target.width * channels`.
  package func scratchCount(channels: Int) -> Int {
    vertical.inSize * horizontal.outSize * channels
  }

  /// Resamples `input` (source size, `channels` interleaved) into `output` (target size), using
  /// `scratch` for the horizontally resampled intermediate.
  package func apply(
    _ input: UnsafePointer<Float>, channels: Int, into output: UnsafeMutablePointer<Float>,
    scratch: UnsafeMutablePointer<Float>
  ) {
    let inW = horizontal.inSize
    let outW = horizontal.outSize
    let inH = vertical.inSize
    let outH = vertical.outSize
    // Horizontal pass: inH rows of inW → inH rows of outW.
    let mid: UnsafePointer<Float>
    if horizontal.isIdentity {
      mid = input
    } else {
      hWeights.withUnsafeBufferPointer { weights in
        let taps = horizontal.taps
        for y in 0..<inH {
          let row = input + y * inW * channels
          let out = scratch + y * outW * channels
          for o in 0..<outW {
            let start = horizontal.starts[o]
            let count = horizontal.counts[o]
            let w = weights.baseAddress! + o * taps
            for c in 0..<channels {
              var acc: Float = 0
              var p = row + start * channels + c
              for t in 0..<count {
                acc += w[t] * p.pointee
                p += channels
              }
              out[o * channels + c] = acc
            }
          }
        }
      }
      mid = UnsafePointer(scratch)
    }
    // Vertical pass: inH rows of outW → outH rows of outW.
    let rowLength = outW * channels
    if vertical.isIdentity {
      output.update(from: mid, count: outH * rowLength)
      return
    }
    vWeights.withUnsafeBufferPointer { weights in
      let taps = vertical.taps
      for o in 0..<outH {
        let start = vertical.starts[o]
        let count = vertical.counts[o]
        let w = weights.baseAddress! + o * taps
        let out = output + o * rowLength
        out.update(repeating: 0, count: rowLength)
        for t in 0..<count {
          let weight = w[t]
          let row = mid + (start + t) * rowLength
          for j in 0..<rowLength { out[j] += weight * row[j] }
        }
      }
    }
  }
}

/// PIL's 8-bit resampling (`ImagingResampleHorizontal_8bpc` / `Vertical_8bpc`): fixed-point
/// weights with 22 fractional bits, accumulator starting at `2^21`, each pass rounded to 8 bits and
/// clamped; horizontal first, a pass skipped when its axis keeps its length.
package func pilResample8(
  _ input: [UInt8], size source: ImageSize, channels: Int, to target: ImageSize,
  horizontal: ResampleWeights, vertical: ResampleWeights
) -> [UInt8] {
  func clip8(_ value: Int) -> UInt8 {
    let shifted = value >> pilPrecisionBits
    return shifted < 0 ? 0 : shifted > 255 ? 255 : UInt8(shifted)
  }
  let half = 1 << (pilPrecisionBits - 1)
  var current = input
  var width = source.width
  if !horizontal.isIdentity {
    let k = horizontal.fixedPointWeights
    let outW = target.width
    var out = [UInt8](repeating: 0, count: source.height * outW * channels)
    current.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer { dst in
        for y in 0..<source.height {
          for o in 0..<outW {
            let start = horizontal.starts[o]
            let count = horizontal.counts[o]
            for c in 0..<channels {
              var ss = half
              for t in 0..<count {
                ss +=
                  Int(src[(y * width + start + t) * channels + c]) * Int(k[o * horizontal.taps + t])
              }
              dst[(y * outW + o) * channels + c] = clip8(ss)
            }
          }
        }
      }
    }
    current = out
    width = outW
  }
  if !vertical.isIdentity {
    let k = vertical.fixedPointWeights
    let rowLength = width * channels
    var out = [UInt8](repeating: 0, count: target.height * rowLength)
    current.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer { dst in
        for o in 0..<target.height {
          let start = vertical.starts[o]
          let count = vertical.counts[o]
          for j in 0..<rowLength {
            var ss = half
            for t in 0..<count {
              ss += Int(src[(start + t) * rowLength + j]) * Int(k[o * vertical.taps + t])
            }
            dst[o * rowLength + j] = clip8(ss)
          }
        }
      }
    }
    current = out
  }
  return current
}
