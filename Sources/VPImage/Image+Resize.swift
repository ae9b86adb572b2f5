/// How ``Image/resized(to:method:)`` interpolates.
public enum ResizeMethod: Sendable, Equatable {
  /// Plain bilinear with half-pixel centres, as torch's
  /// `interpolate(mode="bilinear", align_corners=False, antialias=False)`: each output pixel mixes
  /// the 2×2 nearest source pixels (source coordinate `(o + 0.5) * in / out - 0.5`, clamped at 0
  /// and at the last pixel). Used to upscale 28×28 data-set images. Float arithmetic.
  case bilinear
  /// Antialiased bilinear, as PIL's `Image.resize(BILINEAR)` and torchvision's
  /// `Resize(antialias=True)`: a triangle filter whose support widens with the downscale factor,
  /// centre `(o + 0.5) * in / out`, normalised weights, separable. Float arithmetic (what torch
  /// computes on float tensors).
  case antialiasedBilinear
  /// The same coefficients as ``antialiasedBilinear`` evaluated exactly as PIL does on 8-bit
  /// images: samples quantised to 8 bits first, 22-bit fixed-point weights, horizontal pass then
  /// vertical pass, each rounded and clamped to 8 bits (Pillow's `ImagingResample` 8-bit path),
  /// which is what torchvision's `Resize` does to PIL images. The result holds multiples of 1/255.
  case pilBilinear
  /// PIL's `Image.resize(BICUBIC)` on 8-bit images, exactly as ``pilBilinear`` but with PIL's cubic filter
  /// (`a = −0.5`, support 2, widened by the downscale factor): what CLIP's preprocessing
  /// (`Resize(n_px, interpolation=BICUBIC)` on a PIL image) does. The result holds multiples of 1/255.
  case pilBicubic
}

extension Image {
  /// Returns the image resized to `size` with bilinear interpolation.
  ///
  /// - `antialias: false` — ``ResizeMethod/bilinear`` (torch `align_corners=False`,
  ///   `antialias=False`).
  /// - `antialias: true` — ``ResizeMethod/antialiasedBilinear`` (PIL / torch `antialias=True`,
  ///   Float arithmetic).
  public func resizeBilinear(to size: ImageSize, antialias: Bool = false) -> Image {
    resized(to: size, method: antialias ? .antialiasedBilinear : .bilinear)
  }

  /// Returns the image resized to `size` with `method`. Both sizes must be positive.
  public func resized(to size: ImageSize, method: ResizeMethod) -> Image {
    precondition(size.width > 0 && size.height > 0, "resize: target size \(size) must be positive")
    precondition(width > 0 && height > 0, "resize: cannot resize an empty \(self.size) image")
    if size == self.size { return self }
    switch method {
    case .bilinear, .antialiasedBilinear:
      let resampler = FloatResampler(
        from: self.size, to: size,
        weights: method == .bilinear ? ResampleWeights.bilinear : ResampleWeights.antialiased)
      var output = [Float](repeating: 0, count: size.width * size.height * channels)
      var scratch = [Float](repeating: 0, count: resampler.scratchCount(channels: channels))
      pixels.withUnsafeBufferPointer { input in
        output.withUnsafeMutableBufferPointer { out in
          scratch.withUnsafeMutableBufferPointer { tmp in
            resampler.apply(
              input.baseAddress!, channels: channels, into: out.baseAddress!,
              scratch: tmp.baseAddress!)
          }
        }
      }
      return Image(width: size.width, height: size.height, channels: channels, pixels: output)
    case .pilBilinear, .pilBicubic:
      let filter: ResampleWeights.Filter = method == .pilBicubic ? .bicubic : .triangle
      let resized = pilResample8(
        bytes, size: self.size, channels: channels, to: size,
        horizontal: .antialiased(inSize: width, outSize: size.width, filter: filter),
        vertical: .antialiased(inSize: height, outSize: size.height, filter: filter))
      return Image(width: size.width, height: size.height, channels: channels, bytes: resized)
    }
  }

  /// The size torchvision's `Resize(side)` produces: the shorter side becomes `side`, the longer
  /// `Int(Double(side) * Double(long) / Double(short))` (truncated, as Python's `int()`).
  public func shortSideSize(_ side: Int) -> ImageSize {
    let short = min(width, height)
    let long = max(width, height)
    if short == side { return size }
    let newLong = Int(Double(side) * Double(long) / Double(short))
    return width <= height
      ? ImageSize(width: side, height: newLong) : ImageSize(width: newLong, height: side)
  }

  /// Returns the image resized so its shorter side is `side` (aspect kept as torchvision does,
  /// see ``shortSideSize(_:)``); unchanged when the shorter side already is `side`.
  public func resizeShortSide(_ side: Int, method: ResizeMethod = .antialiasedBilinear) -> Image {
    precondition(side > 0, "resizeShortSide: side must be positive, got \(side)")
    return resized(to: shortSideSize(side), method: method)
  }
}
