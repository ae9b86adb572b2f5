extension LabeledImages {
  /// The images at `indices`, in that order (repeats allowed), with their labels; class names and
  /// image geometry are kept. `name` defaults to this set's name.
  public func subset(_ indices: [Int], name: String? = nil) -> LabeledImages {
    let stride = imageSize
    var output = [Float](repeating: 0, count: indices.count * stride)
    var newLabels = [Int]()
    newLabels.reserveCapacity(indices.count)
    images.withUnsafeBufferPointer { source in
      output.withUnsafeMutableBufferPointer { target in
        for (k, index) in indices.enumerated() {
          precondition(index >= 0 && index < count, "subset: index \(index) outside 0..<\(count)")
          (target.baseAddress! + k * stride).update(
            from: source.baseAddress! + index * stride, count: stride)
          newLabels.append(labels[index])
        }
      }
    }
    return LabeledImages(
      name: name ?? self.name, images: output, count: indices.count, height: height, width: width,
      channels: channels, labels: newLabels, classNames: classNames)
  }

  /// The first `n` images (all of them when `n >= count`).
  public func prefix(_ n: Int) -> LabeledImages {
    subset(Array(0..<min(max(n, 0), count)))
  }
}
