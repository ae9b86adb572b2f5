extension Image {
  /// Returns the centre `size` crop, as torchvision's `CenterCrop`.
  ///
  /// `top = Int(round((height - size.height) / 2.0))` and
  /// `left = Int(round((width - size.width) / 2.0))` with Python's round-half-to-even. When the
  /// crop is larger than the image, the image is first zero-padded as torchvision does
  /// (`(crop - side) / 2` before, the rest after), so the result always has `size`.
  public func centerCrop(_ size: ImageSize) -> Image {
    precondition(size.width > 0 && size.height > 0, "centerCrop: size \(size) must be positive")
    let (padLeft, paddedWidth) = Self.padding(width, to: size.width)
    let (padTop, paddedHeight) = Self.padding(height, to: size.height)
    let left = Int((Double(paddedWidth - size.width) / 2).rounded(.toNearestOrEven)) - padLeft
    let top = Int((Double(paddedHeight - size.height) / 2).rounded(.toNearestOrEven)) - padTop
    return crop(x: left, y: top, size: size)
  }

  /// Returns the centre `side × side` crop (see ``centerCrop(_:)-(ImageSize)``).
  public func centerCrop(_ side: Int) -> Image {
    centerCrop(ImageSize(square: side))
  }

  /// Returns the `size` window whose top-left corner is source pixel (`x`, `y`); pixels outside
  /// the image are 0.
  public func crop(x: Int, y: Int, size: ImageSize) -> Image {
    var output = [Float](repeating: 0, count: size.width * size.height * channels)
    let x0 = max(x, 0)
    let x1 = min(x + size.width, width)
    output.withUnsafeMutableBufferPointer { out in
      pixels.withUnsafeBufferPointer { src in
        guard x1 > x0 else { return }
        for row in 0..<size.height {
          let sy = y + row
          guard sy >= 0 && sy < height else { continue }
          let from = src.baseAddress! + (sy * width + x0) * channels
          let to = out.baseAddress! + (row * size.width + (x0 - x)) * channels
          to.update(from: from, count: (x1 - x0) * channels)
        }
      }
    }
    return Image(width: size.width, height: size.height, channels: channels, pixels: output)
  }

  /// torchvision's padding for a crop larger than the image: (before, padded length).
  private static func padding(_ length: Int, to crop: Int) -> (Int, Int) {
    guard crop > length else { return (0, length) }
    let before = (crop - length) / 2
    let after = (crop - length + 1) / 2
    return (before, length + before + after)
  }
}
