extension LabeledImages {
  /// The images at `indices`, in that order (repeats allowed), with their labels; class names,
  /// image geometry and the kind of samples are kept. `name` defaults to this set's name.
  public func subset(_ indices: [Int], name: String? = nil) -> LabeledImages {
    let stride = imageSize
    for index in indices {
      precondition(index >= 0 && index < count, "subset: index \(index) outside 0..<\(count)")
    }
    func gather<T>(_ source: [T], zero: T) -> [T] {
      var output = [T](repeating: zero, count: indices.count * stride)
      source.withUnsafeBufferPointer { from in
        output.withUnsafeMutableBufferPointer { to in
          for (k, index) in indices.enumerated() {
            (to.baseAddress! + k * stride).update(from: from.baseAddress! + index * stride, count: stride)
          }
        }
      }
      return output
    }
    let picked: ImageSamples
    switch samples {
    case .bytes(let bytes, let maximum): picked = .bytes(gather(bytes, zero: 0), maximum: maximum)
    case .floats(let floats): picked = .floats(gather(floats, zero: 0))
    }
    return LabeledImages(
      name: name ?? self.name, samples: picked, count: indices.count, height: height, width: width,
      channels: channels, labels: indices.map { labels[$0] }, classNames: classNames)
  }

  /// The first `n` images (all of them when `n >= count`).
  public func prefix(_ n: Int) -> LabeledImages {
    subset(Array(0..<min(max(n, 0), count)))
  }
}
