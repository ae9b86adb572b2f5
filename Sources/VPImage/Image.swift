/// A decoded raster image: `height` rows of `width` pixels, `channels` samples per pixel.
///
/// Samples are `Float` in [0, 1], stored interleaved in row-major HWC order: the sample for row `y`,
/// column `x`, channel `c` is `pixels[(y * width + x) * channels + c]`. `channels` is 1 (grey) or
/// 3 (RGB); decoders drop alpha and expand palettes.
public struct Image: Sendable, Equatable {
  /// Number of columns.
  public var width: Int
  /// Number of rows.
  public var height: Int
  /// Samples per pixel: 1 (grey) or 3 (RGB).
  public var channels: Int
  /// `height * width * channels` samples in [0, 1], HWC interleaved.
  public var pixels: [Float]

  /// Wraps existing samples. `pixels.count` must equal `width * height * channels`.
  public init(width: Int, height: Int, channels: Int, pixels: [Float]) {
    precondition(width >= 0 && height >= 0, "Image: negative size \(width)x\(height)")
    precondition(channels == 1 || channels == 3, "Image: channels must be 1 or 3, got \(channels)")
    precondition(
      pixels.count == width * height * channels,
      "Image: \(pixels.count) samples for \(width)x\(height)x\(channels)")
    self.width = width
    self.height = height
    self.channels = channels
    self.pixels = pixels
  }

  /// A black image.
  public init(width: Int, height: Int, channels: Int) {
    self.init(
      width: width, height: height, channels: channels,
      pixels: [Float](repeating: 0, count: width * height * channels))
  }

  /// Builds an image from 8-bit samples (HWC interleaved), mapping `v` to `Float(v) / 255`.
  public init(width: Int, height: Int, channels: Int, bytes: [UInt8]) {
    precondition(
      bytes.count == width * height * channels,
      "Image: \(bytes.count) bytes for \(width)x\(height)x\(channels)")
    let pixels = [Float](unsafeUninitializedCapacity: bytes.count) { buffer, initialized in
      bytes.withUnsafeBufferPointer { source in
        for i in 0..<source.count { buffer[i] = Float(source[i]) / 255 }
      }
      initialized = bytes.count
    }
    self.init(width: width, height: height, channels: channels, pixels: pixels)
  }

  /// The size as a value.
  public var size: ImageSize { ImageSize(width: width, height: height) }

  /// The samples quantised to 8 bits: `round(clamp(v, 0, 1) * 255)`, halves rounded up.
  ///
  /// Exact inverse of ``init(width:height:channels:bytes:)``.
  public var bytes: [UInt8] {
    [UInt8](unsafeUninitializedCapacity: pixels.count) { buffer, initialized in
      pixels.withUnsafeBufferPointer { source in
        for i in 0..<source.count { buffer[i] = quantize8(source[i]) }
      }
      initialized = pixels.count
    }
  }

  /// The sample at row `y`, column `x`, channel `c`.
  public subscript(x x: Int, y y: Int, c c: Int) -> Float {
    get { pixels[(y * width + x) * channels + c] }
    set { pixels[(y * width + x) * channels + c] = newValue }
  }
}

/// A width and height in pixels.
public struct ImageSize: Sendable, Hashable, CustomStringConvertible {
  /// Number of columns.
  public var width: Int
  /// Number of rows.
  public var height: Int

  /// A size of `width` columns by `height` rows.
  public init(width: Int, height: Int) {
    self.width = width
    self.height = height
  }

  /// A square size.
  public init(square side: Int) {
    self.init(width: side, height: side)
  }

  /// `WIDTHxHEIGHT`.
  public var description: String { "\(width)x\(height)" }
}

/// `round(clamp(v, 0, 1) * 255)` with halves rounded up (as PIL and `ToPILImage` do).
@inline(__always)
package func quantize8(_ value: Float) -> UInt8 {
  let scaled = value * 255 + 0.5
  if !(scaled > 0) { return 0 }  // also maps NaN to 0
  if scaled >= 255 { return 255 }
  return UInt8(scaled)
}
