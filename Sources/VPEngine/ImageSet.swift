/// Images ready for prompting: `[N, s, s, 3]` floats in `[0, 1]` at the prompt's image side, with labels.
public struct ImageSet: Sendable {
  public var images: [Float]
  public var labels: [Int]
  public var side: Int
  public var classNames: [String]
  public var name: String

  public init(images: [Float], labels: [Int], side: Int, classNames: [String], name: String) {
    precondition(
      images.count == labels.count * side * side * 3, "image buffer does not match \(labels.count) images of \(side)²×3"
    )
    precondition(
      labels.allSatisfy { $0 >= 0 && $0 < classNames.count }, "label outside the \(classNames.count) classes")
    self.images = images
    self.labels = labels
    self.side = side
    self.classNames = classNames
    self.name = name
  }

  public var count: Int { labels.count }
  public var classCount: Int { classNames.count }
  var pixelsPerImage: Int { side * side * 3 }

  /// The images at `indices`, in that order.
  public func subset(_ indices: [Int], name: String? = nil) -> ImageSet {
    var out = [Float](repeating: 0, count: indices.count * pixelsPerImage)
    let p = pixelsPerImage
    images.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer { dst in
        for (i, j) in indices.enumerated() {
          (dst.baseAddress! + i * p).update(from: src.baseAddress! + j * p, count: p)
        }
      }
    }
    return ImageSet(
      images: out, labels: indices.map { labels[$0] }, side: side, classNames: classNames, name: name ?? self.name)
  }

  /// Images per class.
  public var classCounts: [Int] {
    var c = [Int](repeating: 0, count: classCount)
    for l in labels { c[l] += 1 }
    return c
  }
}
