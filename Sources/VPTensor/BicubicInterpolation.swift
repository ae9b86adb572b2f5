/// PyTorch's bicubic interpolation of a grid, `F.interpolate(x, size=(outH, outW), mode="bicubic",
/// align_corners=…)` (no antialiasing), on channels-last values: `[H, W, C]` → `[outH, outW, C]`.
///
/// Output `(i, j)` is `Σₐ Σ_b wₐ(tᵢ) w_b(tⱼ) x[clamp(i₀ − 1 + a), clamp(j₀ − 1 + b)]` for `a, b ∈ 0...3`, where
/// `i₀ = ⌊s(i)⌋`, `tᵢ = s(i) − i₀`, indices are clamped to the grid (the border value repeats) and the weights
/// are Keys' cubic convolution kernel with `A = −0.75`, PyTorch's. The source coordinate of output index `d`
/// is
/// - `(d + ½)·in/out − ½` with `alignCorners` false (PyTorch's default, and what Hugging Face's CLIP and ViT
///   `interpolate_pos_encoding` use);
/// - `d·(in − 1)/(out − 1)` with `alignCorners` true (torchvision's `interpolate_embeddings`, which resizes a
///   ViT checkpoint's positional embedding).
///
/// At the same size (`out == in`) either rule gives every input value back exactly (`t = 0`, weights
/// `0, 1, 0, 0`). The sums are taken in `Double`.
///
/// ```swift
/// let grid = BicubicInterpolation.resize(positions, height: 14, width: 14, channels: 768, toHeight: 8, toWidth: 8)
/// ```
public enum BicubicInterpolation {
  /// PyTorch's cubic-convolution coefficient (`upsample_bicubic2d`'s `A`).
  public static let a: Double = -0.75

  /// The four weights of the taps at `i₀ − 1 … i₀ + 2` for the fractional offset `t ∈ [0, 1)`.
  public static func weights(_ t: Double) -> (Double, Double, Double, Double) {
    // |x| ≤ 1: (A + 2)|x|³ − (A + 3)|x|² + 1; 1 < |x| < 2: A|x|³ − 5A|x|² + 8A|x| − 4A.
    func near(_ x: Double) -> Double { ((a + 2) * x - (a + 3)) * x * x + 1 }
    func far(_ x: Double) -> Double { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
    return (far(t + 1), near(t), near(1 - t), far(2 - t))
  }

  /// For each output index along one axis: the four clamped source indices and their weights.
  static func taps(from n: Int, to m: Int, alignCorners: Bool) -> [(indices: [Int], weights: [Double])] {
    (0..<m).map { d in
      let source: Double
      if alignCorners {
        source = m > 1 ? Double(d) * Double(n - 1) / Double(m - 1) : 0
      } else {
        source = (Double(d) + 0.5) * Double(n) / Double(m) - 0.5
      }
      let i0 = Int(source.rounded(.down))
      let w = weights(source - Double(i0))
      return ((0..<4).map { min(max(i0 - 1 + $0, 0), n - 1) }, [w.0, w.1, w.2, w.3])
    }
  }

  /// Resizes the `height × width` grid of `channels`-wide values `x` (row-major, channels last) to
  /// `toHeight × toWidth`.
  public static func resize(
    _ x: [Float], height: Int, width: Int, channels: Int, toHeight: Int, toWidth: Int, alignCorners: Bool = false
  ) -> [Float] {
    precondition(
      height > 0 && width > 0 && channels > 0 && toHeight > 0 && toWidth > 0,
      "bicubic interpolation from \(height)×\(width) to \(toHeight)×\(toWidth) (\(channels) channels)")
    precondition(
      x.count == height * width * channels, "\(x.count) values are not a \(height)×\(width)×\(channels) grid")
    let rows = taps(from: height, to: toHeight, alignCorners: alignCorners)
    let columns = taps(from: width, to: toWidth, alignCorners: alignCorners)
    var output = [Float](repeating: 0, count: toHeight * toWidth * channels)
    var sum = [Double](repeating: 0, count: channels)
    for (i, r) in rows.enumerated() {
      for (j, c) in columns.enumerated() {
        for k in 0..<channels { sum[k] = 0 }
        for a in 0..<4 {
          for b in 0..<4 {
            let w = r.weights[a] * c.weights[b]
            let base = (r.indices[a] * width + c.indices[b]) * channels
            for k in 0..<channels { sum[k] += w * Double(x[base + k]) }
          }
        }
        let out = (i * toWidth + j) * channels
        for k in 0..<channels { output[out + k] = Float(sum[k]) }
      }
    }
    return output
  }
}
