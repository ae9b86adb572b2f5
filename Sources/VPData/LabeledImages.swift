import VPImage

/// A labelled image data set held in memory.
///
/// `images` holds `count` images of `height × width × channels` samples each, one after another,
/// every image HWC interleaved with samples in [0, 1]. `labels[i]` is the class index of image `i`
/// and `classNames[label]` its human-readable name.
public struct LabeledImages: Sendable, Equatable {
  /// A short name for reports, e.g. `fashion-mnist/train`.
  public var name: String
  /// `count * height * width * channels` samples in [0, 1] (N, H, W, C order).
  public var images: [Float]
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

  /// Wraps existing arrays; sizes must agree and labels must index `classNames`.
  public init(
    name: String, images: [Float], count: Int, height: Int, width: Int, channels: Int,
    labels: [Int], classNames: [String]
  ) {
    precondition(
      images.count == count * height * width * channels,
      "LabeledImages: \(images.count) samples for \(count)x\(height)x\(width)x\(channels)")
    precondition(labels.count == count, "LabeledImages: \(labels.count) labels for \(count) images")
    precondition(
      labels.allSatisfy { $0 >= 0 && $0 < classNames.count },
      "LabeledImages: a label is outside 0..<\(classNames.count)")
    self.name = name
    self.images = images
    self.count = count
    self.height = height
    self.width = width
    self.channels = channels
    self.labels = labels
    self.classNames = classNames
  }

  /// Samples per image: `height * width * channels`.
  public var imageSize: Int { height * width * channels }

  /// Number of classes (`classNames.count`).
  public var classCount: Int { classNames.count }

  /// Image `index` as an ``Image``.
  public func image(at index: Int) -> Image {
    precondition(index >= 0 && index < count, "image(at:): index \(index) outside 0..<\(count)")
    let start = index * imageSize
    return Image(
      width: width, height: height, channels: channels,
      pixels: Array(images[start..<start + imageSize]))
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
