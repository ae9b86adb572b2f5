extension Image {
  /// Returns a 3-channel image: grey samples repeated into R, G and B; RGB images unchanged.
  public func toRGB() -> Image {
    if channels == 3 { return self }
    let count = width * height
    let output = [Float](unsafeUninitializedCapacity: count * 3) { buffer, initialized in
      pixels.withUnsafeBufferPointer { src in
        for i in 0..<count {
          let v = src[i]
          buffer[3 * i] = v
          buffer[3 * i + 1] = v
          buffer[3 * i + 2] = v
        }
      }
      initialized = count * 3
    }
    return Image(width: width, height: height, channels: 3, pixels: output)
  }
}
