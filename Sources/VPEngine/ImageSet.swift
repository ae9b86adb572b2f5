import VPData

/// The images of one split as the prompt sees them: `[N, s, s, 3]` floats in `[0, 1]` at the prompt's image
/// side — kept as the data set stores them (bytes at 28×28 for the MNIST family) and resized (bilinear),
/// expanded to RGB and converted to floats one batch at a time by `pixels(_:)`, so memory grows with N ×
/// the stored bytes, not N × side² × 12.
public struct ImageSet: Sendable {
  /// The images as stored.
  public var source: LabeledImages
  /// The side they are presented at.
  public var side: Int
  public var name: String

  public init(_ source: LabeledImages, side: Int, name: String) {
    precondition(side > 0, "ImageSet: side must be positive")
    self.source = source
    self.side = side
    self.name = name
  }

  public var labels: [Int] { source.labels }
  public var classNames: [String] { source.classNames }
  public var count: Int { source.count }
  public var classCount: Int { source.classCount }
  /// Floats per presented image.
  public var pixelsPerImage: Int { side * side * 3 }

  /// The images at `indices`, in that order, as `[n, side, side, 3]` floats (the same values a whole-set
  /// resize gives).
  public func pixels<C: Collection<Int>>(_ indices: C) -> [Float] {
    source.resized(indices, toSide: side, rgb: true)
  }

  /// The images at `indices`, in that order.
  public func subset(_ indices: [Int], name: String? = nil) -> ImageSet {
    ImageSet(source.subset(indices), side: side, name: name ?? self.name)
  }

  /// Images per class.
  public var classCounts: [Int] { source.classHistogram }
}
