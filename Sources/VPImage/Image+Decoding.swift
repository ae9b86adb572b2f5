internal import CImageShim
import Foundation

/// An encoded image format recognised by its leading magic bytes.
public enum ImageFormat: Sendable, Equatable {
  /// `89 50 4E 47 0D 0A 1A 0A`.
  case png
  /// `FF D8 FF`.
  case jpeg

  /// The format announced by the first bytes of `bytes`, or `nil` for anything else.
  ///
  /// The file name's extension is never consulted.
  public static func sniff<Bytes: Collection>(_ bytes: Bytes) -> ImageFormat?
  where Bytes.Element == UInt8 {
    let head = Array(bytes.prefix(8))
    if head == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] { return .png }
    if head.count >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF { return .jpeg }
    return nil
  }
}

extension Image {
  /// Reads and decodes the PNG or JPEG file at `path`.
  ///
  /// The format is sniffed from the magic bytes. PNG: 1/2/4/8/16-bit grey, grey+alpha, RGB, RGBA
  /// and palette images are accepted; palettes are expanded, alpha dropped (not composited), and
  /// 16-bit samples mapped by `v / 65535`. JPEG: greyscale, YCbCr/RGB and (Adobe) CMYK. Greyscale
  /// images keep one channel; see ``toRGB()``. Errors name `path`.
  public init(contentsOfFile path: String) throws(ImageError) {
    let bytes: [UInt8]
    do {
      bytes = try FileIO.readAll(path)
    } catch {
      throw ImageError(file: path, kind: .unreadable, detail: error.reason)
    }
    try self.init(decoding: bytes, name: path)
  }

  /// The largest image decoded, in pixels: 89 478 485 (PIL's decompression-bomb limit, about 9459²;
  /// a 3-channel float image that size takes 1 GB), or `VPBOOK_MAX_IMAGE_PIXELS`. The header is checked
  /// before any pixel memory is allocated.
  public static var maxPixels: Int {
    ProcessInfo.processInfo.environment["VPBOOK_MAX_IMAGE_PIXELS"].flatMap(Int.init).map { max(1, $0) }
      ?? 89_478_485
  }

  /// Decodes a PNG or JPEG held in memory; `name` stands for the file in error messages.
  public init(decoding bytes: [UInt8], name: String = "<memory>", maxPixels: Int = Image.maxPixels) throws(ImageError) {
    guard let format = ImageFormat.sniff(bytes) else {
      throw ImageError(file: name, kind: .unknownFormat)
    }
    var decoded = vp_decoded_image()
    decoded.max_pixels = Int64(maxPixels)
    let status = bytes.withUnsafeBufferPointer { buffer in
      switch format {
      case .png: vp_decode_png(buffer.baseAddress, buffer.count, &decoded)
      case .jpeg: vp_decode_jpeg(buffer.baseAddress, buffer.count, &decoded)
      }
    }
    guard status == 0, let raw = decoded.pixels else {
      let message = withUnsafeBytes(of: decoded.message) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
      }
      let tooLarge = message.hasPrefix("image is ") && message.contains("megapixels), more than the limit")
      throw ImageError(
        file: name, kind: tooLarge ? .tooLarge : format == .png ? .corruptPNG : .corruptJPEG, detail: message)
    }
    defer { vp_image_free(raw) }
    let width = Int(decoded.width)
    let height = Int(decoded.height)
    let channels = Int(decoded.channels)
    let count = width * height * channels
    let pixels: [Float]
    if decoded.bit_depth == 16 {
      let source = raw.assumingMemoryBound(to: UInt16.self)
      pixels = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
        for i in 0..<count { buffer[i] = Float(source[i]) / 65535 }
        initialized = count
      }
    } else {
      let source = raw.assumingMemoryBound(to: UInt8.self)
      pixels = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
        for i in 0..<count { buffer[i] = Float(source[i]) / 255 }
        initialized = count
      }
    }
    self.init(width: width, height: height, channels: channels, pixels: pixels)
  }

  /// Decodes a PNG or JPEG held in `data`; `name` stands for the file in error messages.
  public init(decoding data: Data, name: String = "<memory>") throws(ImageError) {
    try self.init(decoding: [UInt8](data), name: name)
  }
}
