import VPImage

/// The samples of a data set as they are kept in memory.
public enum ImageSamples: Sendable, Equatable {
  /// One byte per sample (the MNIST family, CIFAR, Animal-MNIST, `uint8` NPY): the sample is
  /// `Float(byte) / maximum`, exactly the float the readers computed when they stored floats — a
  /// quarter of the memory, and the same numbers.
  case bytes([UInt8], maximum: Float)
  /// Floats in [0, 1] (decoded and resized photos, float NPY files).
  case floats([Float])

  /// Bytes per sample.
  public var bytesPerSample: Int {
    switch self {
    case .bytes: return 1
    case .floats: return 4
    }
  }
}

/// A labelled image data set held in memory.
///
/// `samples` holds `count` images of `height × width × channels` samples each, one after another,
/// every image HWC interleaved with values in [0, 1] (as bytes with a scale where the file has bytes).
/// `labels[i]` is the class index of image `i` and `classNames[label]` its human-readable name.
public struct LabeledImages: Sendable, Equatable {
  /// A short name for reports, e.g. `fashion-mnist/train`.
  public var name: String
  /// `count * height * width * channels` samples (N, H, W, C order), at their stored size.
  public var samples: ImageSamples
  /// Number of images.
  public var count: Int
  /// Rows per image.
  public var height: Int
  /// Columns per image.
  public var width: Int
  /// Samples per pixel (1 or 3).
  public var channels: Int
  /// Class index per image, each in `0 ..< classNames.count`.
  public var labels: [Int]
  /// Class names, indexed by label.
  public var classNames: [String]

  /// Wraps float samples in [0, 1]; sizes must agree and labels must index `classNames`.
  public init(
    name: String, images: [Float], count: Int, height: Int, width: Int, channels: Int,
    labels: [Int], classNames: [String]
  ) {
    self.init(
      name: name, samples: .floats(images), count: count, height: height, width: width, channels: channels,
      labels: labels, classNames: classNames)
  }

  /// Wraps samples of either kind; sizes must agree and labels must index `classNames`.
  public init(
    name: String, samples: ImageSamples, count: Int, height: Int, width: Int, channels: Int,
    labels: [Int], classNames: [String]
  ) {
    let stored: Int
    switch samples {
    case .bytes(let bytes, _): stored = bytes.count
    case .floats(let floats): stored = floats.count
    }
    precondition(
      stored == count * height * width * channels,
      "LabeledImages: \(stored) samples for \(count)x\(height)x\(width)x\(channels)")
    precondition(labels.count == count, "LabeledImages: \(labels.count) labels for \(count) images")
    precondition(
      labels.allSatisfy { $0 >= 0 && $0 < classNames.count },
      "LabeledImages: a label is outside 0..<\(classNames.count)")
    self.name = name
    self.samples = samples
    self.count = count
    self.height = height
    self.width = width
    self.channels = channels
    self.labels = labels
    self.classNames = classNames
  }

  /// Samples per image: `height * width * channels`.
  public var imageSize: Int { height * width * channels }

  /// Every sample as a float in [0, 1] (a copy; `copyImage(_:into:)` converts one image at a time).
  public var images: [Float] {
    switch samples {
    case .floats(let floats): return floats
    case .bytes(let bytes, let maximum): return bytes.map { Float($0) / maximum }
    }
  }

  /// The bytes the samples take in memory.
  public var storedBytes: Int { count * imageSize * samples.bytesPerSample }

  /// Writes image `index`'s `imageSize` samples as floats in [0, 1] to `out`.
  public func copyImage(_ index: Int, into out: UnsafeMutablePointer<Float>) {
    let start = index * imageSize
    switch samples {
    case .floats(let floats):
      floats.withUnsafeBufferPointer { out.update(from: $0.baseAddress! + start, count: imageSize) }
    case .bytes(let bytes, let maximum):
      bytes.withUnsafeBufferPointer { b in
        for i in 0..<imageSize { out[i] = Float(b[start + i]) / maximum }
      }
    }
  }

  /// Number of classes (`classNames.count`).
  public var classCount: Int { classNames.count }

  /// Image `index` as an ``Image``.
  public func image(at index: Int) -> Image {
    precondition(index >= 0 && index < count, "image(at:): index \(index) outside 0..<\(count)")
    var pixels = [Float](repeating: 0, count: imageSize)
    pixels.withUnsafeMutableBufferPointer { copyImage(index, into: $0.baseAddress!) }
    return Image(width: width, height: height, channels: channels, pixels: pixels)
  }

  /// Number of images per class, indexed by label.
  public var classHistogram: [Int] {
    var histogram = [Int](repeating: 0, count: classNames.count)
    for label in labels { histogram[label] += 1 }
    return histogram
  }
}

/// Names `"0"` … `"9"`, for MNIST-like digit data sets.
public let digitClassNames: [String] = (0..<10).map(String.init)

/// Fashion-MNIST's class names, by label.
public let fashionMNISTClassNames = [
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
  "Ankle boot",
]
